"""Alembic migrations on SQLite and PostgreSQL.

`connect-gateway migrate` runs as a subprocess, as an operator would run it. Each test gets a
new, empty database per backend from the `empty_database_url` fixture.
"""

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from db.engine import create_engine
from db.migrate import MIGRATIONS, alembic_config, head_revision, upgrade
from resolvers.secrets import SecretBox
from tests.conftest import TEST_SECRET_KEY, gateway_settings, start_server
from tests.documents import CREATE_CONNECTOR

REPOSITORY = Path(__file__).resolve().parents[1]
MIGRATE_TIMEOUT_SECONDS = 120


def run_migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"CONNECT_GATEWAY_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=environment,
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_SECONDS,
    )


def assert_migrated(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "database schema is at the latest revision" in result.stdout


def on_connection(database_url: str, work: Callable[[Any], Any]) -> Any:
    """Run `work(sync_connection)` in one transaction on a fresh engine, and dispose the engine."""

    async def run() -> Any:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def schema_differences(database_url: str) -> list[Any]:
    def compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    return on_connection(database_url, compare)


def current_revision(database_url: str) -> str | None:
    return on_connection(database_url, lambda connection: MigrationContext.configure(connection).get_current_revision())


def table_names(database_url: str) -> set[str]:
    def names(connection: Any) -> set[str]:
        return set(connection.dialect.get_table_names(connection))

    return on_connection(database_url, names)


def test_migrate_matches_models(empty_database_url: str) -> None:
    first = run_migrate(empty_database_url)
    assert_migrated(first)
    assert current_revision(empty_database_url) == head_revision()
    assert schema_differences(empty_database_url) == []


def test_concurrent_migrations_all_succeed(empty_database_url: str) -> None:
    # Replicas that start together each run `migrate` on the same empty database. Those
    # that wait for the first one find the schema at head and have nothing to do.
    environment = os.environ | {"CONNECT_GATEWAY_DATABASE_URL": empty_database_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "migrate"],
            env=environment,
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=MIGRATE_TIMEOUT_SECONDS)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))

    for result in results:
        assert_migrated(result)
    assert schema_differences(empty_database_url) == []


# Data written at revision 0001

ORGANISATION = "01JB00000000000000000000A1"
API_KEY_ID = "01JB00000000000000000000A2"
API_KEY = "cgw_written-at-revision-0001-" + "k" * 20
CONNECTOR = "01JB00000000000000000000C1"
CLIENT_CREDENTIAL = "01JB00000000000000000000D1"
KEY_CREDENTIAL = "01JB00000000000000000000D2"
CONNECTION = "01JB00000000000000000000E1"
LINK = "01JB00000000000000000000F1"
VERSION = "01JB00000000000000000000G1"
WRITTEN_AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
EXPIRES_AT = datetime(2031, 1, 2, 3, 4, 5, 600007, tzinfo=UTC)

OAUTH2_SETTINGS = {
    "authorizeUrl": "https://crm.example.com/oauth/authorize",
    "tokenUrl": "https://crm.example.com/oauth/token",
    "scopes": [{"name": "contacts.read", "description": "Read contacts"}],
    "defaultScopes": ["contacts.read"],
    "additionalAuthorizeParams": "",
    "additionalTokenParams": "",
    "mtlsEnabled": False,
    "mtlsCredentialId": None,
    "grant": {
        "grantType": "authorization_code",
        "credentialId": CLIENT_CREDENTIAL,
        "organisationId": ORGANISATION,
        "clientId": "legacy-client",
    },
}

INSERTS_AT_0001 = [
    (
        "INSERT INTO api_key (id, organisation_id, key_hash, created_at) VALUES (:id, :organisation, :hash, :at)",
        {"id": API_KEY_ID, "organisation": ORGANISATION, "hash": hashlib.sha256(API_KEY.encode()).hexdigest(), "at": WRITTEN_AT},
    ),
    (
        "INSERT INTO connector (id, organisation_id, name, name_folded, protocol, base_url, public, documentation_url,"
        " image_url, tags, connection_variables, created_at, updated_at) VALUES (:id, :organisation, :name, :folded,"
        " 'http', :base_url, :public, :docs, '', :tags, :variables, :at, :at)",
        {
            "id": CONNECTOR,
            "organisation": ORGANISATION,
            "name": "Légacy CRM",
            "folded": "légacy crm",
            "base_url": "https://crm.example.com/{region}",
            "public": False,
            "docs": "https://crm.example.com/docs",
            "tags": json.dumps([{"key": "category", "values": ["crm", "sales"]}]),
            "variables": json.dumps([{"name": "region", "value": "eu"}]),
            "at": WRITTEN_AT,
        },
    ),
    (
        "INSERT INTO connector_tag (connector_id, key, value) VALUES (:connector, 'category', 'crm'),"
        " (:connector, 'category', 'sales')",
        {"connector": CONNECTOR},
    ),
    (
        "INSERT INTO credential (id, organisation_id, type, name, name_folded, public_data, redacted_fields, secret,"
        " errors, expires_at, created_at, updated_at) VALUES (:id, :organisation, :type, :name, :folded, :public,"
        " :redacted, :secret, NULL, :expires, :at, :at)",
        {
            "id": CLIENT_CREDENTIAL,
            "organisation": ORGANISATION,
            "type": "oauth2-client",
            "name": "Légacy CRM: oauth OAuth 2.0 client",
            "folded": "légacy crm: oauth oauth 2.0 client",
            "public": json.dumps(
                {
                    "clientId": "legacy-client",
                    "authorizeUrl": OAUTH2_SETTINGS["authorizeUrl"],
                    "tokenUrl": OAUTH2_SETTINGS["tokenUrl"],
                    "scopes": ["contacts.read"],
                    "additionalParams": "",
                    "mTLSEnabled": False,
                }
            ),
            "redacted": json.dumps(["clientSecret"]),
            "secret": SecretBox([TEST_SECRET_KEY]).encrypt(ORGANISATION, CLIENT_CREDENTIAL, {"clientSecret": "FAKE-client-secret"}),
            "expires": None,
            "at": WRITTEN_AT,
        },
    ),
    (
        "INSERT INTO credential (id, organisation_id, type, name, name_folded, public_data, redacted_fields, secret,"
        " errors, expires_at, created_at, updated_at) VALUES (:id, :organisation, :type, :name, :folded, :public,"
        " :redacted, :secret, NULL, :expires, :at, :at)",
        {
            "id": KEY_CREDENTIAL,
            "organisation": ORGANISATION,
            "type": "string",
            "name": "Production key",
            "folded": "production key",
            "public": json.dumps({}),
            "redacted": json.dumps(["value"]),
            "secret": SecretBox([TEST_SECRET_KEY]).encrypt(ORGANISATION, KEY_CREDENTIAL, {"value": "FAKE-api-key"}),
            "expires": EXPIRES_AT,
            "at": WRITTEN_AT,
        },
    ),
    (
        "INSERT INTO auth_scheme_config (connector_id, config_id, position, scheme_type, description, settings,"
        " validation_messages) VALUES (:connector, 'oauth', 0, 'oauth2', 'Sign in with the CRM', :oauth2, '[]'),"
        " (:connector, 'key', 1, 'api-key', '', :api_key, '[]')",
        {"connector": CONNECTOR, "oauth2": json.dumps(OAUTH2_SETTINGS), "api_key": json.dumps({"name": "X-Api-Key", "in": "header"})},
    ),
    (
        "INSERT INTO connection (id, organisation_id, connector_id, name, variables, created_at, updated_at)"
        " VALUES (:id, :organisation, :connector, 'production', :variables, :at, :at)",
        {
            "id": CONNECTION,
            "organisation": ORGANISATION,
            "connector": CONNECTOR,
            "variables": json.dumps([{"name": "region", "value": "us"}]),
            "at": WRITTEN_AT,
        },
    ),
    (
        "INSERT INTO connection_credential (id, connection_id, purpose, position, auth_scheme_config_id, credential_id)"
        " VALUES (:id, :connection, 'action', 0, 'key', :credential)",
        {"id": LINK, "connection": CONNECTION, "credential": KEY_CREDENTIAL},
    ),
    (
        "INSERT INTO connector_version (id, organisation_id, connector_id, name, description, is_default, published_at,"
        " messages, created_at, updated_at) VALUES (:id, :organisation, :connector, '1', '', :default, NULL, '[]', :at, :at)",
        {"id": VERSION, "organisation": ORGANISATION, "connector": CONNECTOR, "default": False, "at": WRITTEN_AT},
    ),
]

TREE = """
query Tree($o: ULID!, $id: ULID!) {
  connector(organisationId: $o, id: $id) {
    id name createdAt updatedAt documentationURL
    ... on HTTPConnector { baseUrl }
    tags { key values }
    connectionVariables { name value }
    authSchemeConfigs {
      ... on AuthSchemeConfigBase { id schemeType description }
      ... on AuthSchemeConfigAPIKey { name in }
      ... on AuthSchemeConfigOAuth2 {
        tokenUrl defaultScopes scopes { name description }
        grant { ... on AuthSchemeConfigOAuth2GrantAuthorizationCode { credentialId organisationId clientId } }
      }
    }
    connections {
      id name variables { name value }
      credentials { action { credential { id type name expiresAt data { ... on CredentialDataString { redactedFields } } } } }
    }
    versions { id name isDefault publishedAt }
  }
}
"""

CLIENT = """
query Client($o: ULID!, $id: ULID!) {
  credential(organisationId: $o, id: $id) {
    type name
    data { ... on CredentialDataOAuth2Client { clientId tokenUrl redactedFields } }
  }
}
"""


def sql_timestamp(value: datetime | None, dialect: str) -> Any:
    """Return a timestamp as the 0001 schema stores it: naive UTC text on SQLite."""
    if value is None or dialect != "sqlite":
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_rows_at_0001(connection: Any) -> None:
    dialect = connection.dialect.name
    for statement, parameters in INSERTS_AT_0001:
        values = {key: sql_timestamp(value, dialect) if isinstance(value, datetime) else value for key, value in parameters.items()}
        connection.execute(text(statement), values)


def graphql(client: httpx.Client, url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_upgrade_keeps_rows_from_0001(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0001")
    on_connection(empty_database_url, insert_rows_at_0001)

    assert_migrated(run_migrate(empty_database_url))
    assert current_revision(empty_database_url) == head_revision()

    live = start_server(gateway_settings(empty_database_url))
    try:
        with httpx.Client(timeout=30) as client:
            tree = graphql(client, live.graphql_url, TREE, {"o": ORGANISATION, "id": CONNECTOR})["connector"]
            client_before = graphql(client, live.graphql_url, CLIENT, {"o": ORGANISATION, "id": CLIENT_CREDENTIAL})["credential"]
            # Reusing the client credential with a new client id decrypts the secret
            # stored at 0001 and encrypts it again.
            reuse = {
                "name": "Second CRM",
                "baseUrl": "https://crm2.example.com",
                "authSchemeConfigs": [
                    {
                        "oauth2": {
                            "id": "oauth",
                            "description": "",
                            "authorizeUrl": OAUTH2_SETTINGS["authorizeUrl"],
                            "tokenUrl": OAUTH2_SETTINGS["tokenUrl"],
                            "scopes": [{"name": "contacts.read"}],
                            "defaultScopes": [],
                            "grant": {
                                "authorizationCode": {
                                    "credentialId": CLIENT_CREDENTIAL,
                                    "organisationId": ORGANISATION,
                                    "clientId": "rotated-client",
                                }
                            },
                        }
                    }
                ],
                "connections": [],
            }
            created = graphql(client, live.graphql_url, CREATE_CONNECTOR, {"organisationId": ORGANISATION, "input": reuse})
            client_after = graphql(client, live.graphql_url, CLIENT, {"o": ORGANISATION, "id": CLIENT_CREDENTIAL})["credential"]
    finally:
        live.stop()

    assert tree["id"] == CONNECTOR
    assert tree["name"] == "Légacy CRM"
    assert tree["baseUrl"] == "https://crm.example.com/{region}"
    assert tree["documentationURL"] == "https://crm.example.com/docs"
    assert tree["createdAt"] == "2026-03-04T05:06:07.891011Z"
    assert tree["updatedAt"] == "2026-03-04T05:06:07.891011Z"
    assert tree["tags"] == [{"key": "category", "values": ["crm", "sales"]}]
    assert tree["connectionVariables"] == [{"name": "region", "value": "eu"}]
    assert [config["id"] for config in tree["authSchemeConfigs"]] == ["oauth", "key"]
    assert tree["authSchemeConfigs"][0]["grant"] == {
        "credentialId": CLIENT_CREDENTIAL,
        "organisationId": ORGANISATION,
        "clientId": "legacy-client",
    }
    assert tree["authSchemeConfigs"][0]["scopes"] == [{"name": "contacts.read", "description": "Read contacts"}]
    assert tree["authSchemeConfigs"][1]["name"] == "X-Api-Key"
    assert tree["authSchemeConfigs"][1]["in"] == "HEADER"
    assert len(tree["connections"]) == 1
    connection = tree["connections"][0]
    assert connection["id"] == CONNECTION
    assert connection["variables"] == [{"name": "region", "value": "us"}]
    assert connection["credentials"]["action"] == [
        {
            "credential": {
                "id": KEY_CREDENTIAL,
                "type": "STRING",
                "name": "Production key",
                "expiresAt": "2031-01-02T03:04:05.600007Z",
                "data": {"redactedFields": ["value"]},
            }
        }
    ]
    assert [(version["id"], version["name"]) for version in tree["versions"]] == [(VERSION, "1")]
    assert tree["versions"][0]["publishedAt"] is None
    assert client_before["data"] == {"clientId": "legacy-client", "tokenUrl": OAUTH2_SETTINGS["tokenUrl"], "redactedFields": ["clientSecret"]}
    assert created["createHTTPConnector"]["__typename"] == "HTTPConnector", created
    assert client_after["data"]["clientId"] == "rotated-client"
    assert client_after["data"]["redactedFields"] == ["clientSecret"]


# Revisions added only for a test, on a copy of the migration scripts


def scripts_with_revision(directory: Path, upgrade_body: str) -> Path:
    """Copy the migration scripts and add one revision after head whose upgrade() runs `upgrade_body`."""
    scripts = directory / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    body = "\n".join("    " + line for line in upgrade_body.strip().splitlines())
    (scripts / "versions" / "9999_test_only.py").write_text(
        "import sqlalchemy as sa\n"
        "from alembic import op\n\n"
        "revision = '9999'\n"
        f"down_revision = {head_revision()!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n\n\n"
        f"def upgrade() -> None:\n{body}\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )
    return scripts


def upgrade_with(scripts: Path, database_url: str, revision: str) -> None:
    config = alembic_config(database_url)
    config.set_main_option("script_location", str(scripts))
    command.upgrade(config, revision)


def add_connector_with_tag(connection: Any) -> None:
    connection.execute(
        text(
            "INSERT INTO connector (id, organisation_id, name, name_folded, protocol, base_url, public,"
            " documentation_url, image_url, tags, connection_variables, created_at, updated_at)"
            " VALUES (:id, :organisation, 'Tagged', 'tagged', 'http', 'https://x.example', :public, '', '',"
            " '[]', '[]', :at, :at)"
        ),
        {"id": CONNECTOR, "organisation": ORGANISATION, "public": False, "at": sql_timestamp(WRITTEN_AT, connection.dialect.name)},
    )
    connection.execute(text("INSERT INTO connector_tag (connector_id, key, value) VALUES (:id, 'category', 'crm')"), {"id": CONNECTOR})


def test_failed_revision_commits_nothing(empty_database_url: str, tmp_path: Path) -> None:
    scripts = scripts_with_revision(
        tmp_path,
        """
op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
op.execute("SELECT * FROM no_such_table")
""",
    )
    upgrade(empty_database_url, "0001")

    with pytest.raises(SQLAlchemyError):
        upgrade_with(scripts, empty_database_url, "9999")

    assert current_revision(empty_database_url) == "0001"
    assert "half_done" not in table_names(empty_database_url)


def test_batch_recreate_keeps_child_rows(sqlite_database_url: str, tmp_path: Path) -> None:
    # Only SQLite alters a table by recreating it, and PostgreSQL refuses to drop a parent table.
    scripts = scripts_with_revision(
        tmp_path,
        """
with op.batch_alter_table("connector", recreate="always"):
    pass
""",
    )
    upgrade(sqlite_database_url, "head")
    on_connection(sqlite_database_url, add_connector_with_tag)

    upgrade_with(scripts, sqlite_database_url, "9999")

    tags = on_connection(sqlite_database_url, lambda connection: connection.execute(text("SELECT key, value FROM connector_tag")).all())
    assert [tuple(row) for row in tags] == [("category", "crm")]


def test_dangling_rows_fail_migration(sqlite_database_url: str, tmp_path: Path) -> None:
    # SQLite only: PostgreSQL checks foreign keys on every statement, even in a migration.
    scripts = scripts_with_revision(
        tmp_path,
        """
op.execute("INSERT INTO connector_tag (connector_id, key, value) VALUES ('01JB00000000000000000000Z9', 'k', 'v')")
""",
    )
    upgrade(sqlite_database_url, "head")

    with pytest.raises(Exception, match="dangling foreign keys in connector_tag"):
        upgrade_with(scripts, sqlite_database_url, "9999")

    assert current_revision(sqlite_database_url) == head_revision()
    count = on_connection(sqlite_database_url, lambda connection: connection.execute(text("SELECT count(*) FROM connector_tag")).scalar_one())
    assert count == 0
