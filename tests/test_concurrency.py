"""Concurrent createHTTPConnector calls against the live server, on each backend.

Half of the calls reuse one oauth2-client credential and patch it, so their transactions
read and update the same row. The others create whole fixture trees. Every call must end
in a connector or a typed Error, never INTERNAL or a lock timeout.

Each field of the shared credential must end with a value that one of the calls patched
in. A lost update breaks that: a transaction that read the row before another's patch
committed writes the old value back. NOTE: the scheduler decides the interleaving, so a
missing write lock fails this check in some runs only (one in three, measured on PostgreSQL).
"""

import asyncio
import json
import sqlite3
from typing import Any

import httpx
from sqlalchemy import make_url, select, text

from db import models
from db.engine import POSTGRES_WRITE_LOCK_KEY, Database
from resolvers.secrets import SecretBox
from tests.conftest import FIXTURES, TEST_SECRET_KEY, Tenant
from tests.documents import CREATE_CONNECTOR

CALLS = 32
CONCURRENT_READS = 8

CLIENT_CREDENTIAL_ID = """
query($o: ULID!, $id: ULID!) {
  connector(organisationId: $o, id: $id) {
    authSchemeConfigs { ... on AuthSchemeConfigOAuth2 { grant { ... on AuthSchemeConfigOAuth2GrantAuthorizationCode { credentialId } } } }
  }
}
"""

COUNT = """
query($o: ULID!) { connectors(organisationId: $o, first: 100) { totalCount nodes { id } } }
"""


def github_definition() -> dict[str, Any]:
    return json.loads((FIXTURES / "github.json").read_text())


def reusing_definition(index: int, organisation_id: str, credential_id: str) -> dict[str, Any]:
    """Return the GitHub fixture with its grant pointing at the shared client credential.

    Calls alternate between patching the client id and the client secret, so a lost update
    of either field shows in the final row.
    """
    definition = github_definition()
    definition["name"] = f"GitHub reuse {index}"
    grant: dict[str, Any] = {"credentialId": credential_id, "organisationId": organisation_id}
    if index % 4 == 0:
        grant["clientId"] = f"client-{index}"
    else:
        grant["clientSecret"] = f"FAKE-secret-{index}"
    definition["authSchemeConfigs"][0]["oauth2"]["grant"] = {"authorizationCode": grant}
    return definition


def fixture_definition(index: int) -> dict[str, Any]:
    paths = sorted(FIXTURES.glob("*.json"))
    definition = json.loads(paths[index % len(paths)].read_text())
    definition["name"] = f"{definition['name']} {index}"
    return definition


async def post(client: httpx.AsyncClient, tenant: Tenant, query: str, variables: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    return await client.post(tenant.server.graphql_url, json={"query": query, "variables": variables}, headers=headers)


async def read_credential(database_url: str, credential_id: str) -> models.Credential:
    database = Database(database_url)
    try:
        async with database.read() as session:
            statement = select(models.Credential).where(models.Credential.id == credential_id)
            return (await session.execute(statement)).scalar_one()
    finally:
        await database.dispose()


async def test_concurrent_creates_all_accounted(tenant: Tenant) -> None:
    seed = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": github_definition()})
    seed_id = seed["createHTTPConnector"]["id"]
    config = tenant.graphql(CLIENT_CREDENTIAL_ID, {"o": tenant.organisation_id, "id": seed_id})["connector"]
    credential_id = config["authSchemeConfigs"][0]["grant"]["credentialId"]

    # Even calls reuse the shared credential and odd calls create a fixture tree.
    definitions = [
        reusing_definition(index, tenant.organisation_id, credential_id) if index % 2 == 0 else fixture_definition(index)
        for index in range(CALLS)
    ]

    limits = httpx.Limits(max_connections=CALLS + CONCURRENT_READS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        creates = [
            post(client, tenant, CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})
            for definition in definitions
        ]
        reads = [post(client, tenant, COUNT, {"o": tenant.organisation_id}) for _ in range(CONCURRENT_READS)]
        responses = await asyncio.gather(*creates, *reads)
        final = await post(client, tenant, COUNT, {"o": tenant.organisation_id})

    created: dict[int, str] = {}
    conflicts = []
    for index, response in enumerate(responses):
        assert response.status_code == 200, response.text
        assert "database is locked" not in response.text
        assert "INTERNAL" not in response.text, response.text
        body = response.json()
        assert "errors" not in body, body
        if index >= CALLS:
            continue
        result = body["data"]["createHTTPConnector"]
        if result["__typename"] == "HTTPConnector":
            created[index] = result["id"]
        else:
            assert result["__typename"] == "Error", result
            assert result["code"] in ("ALREADY_EXISTS", "FAILED_PRECONDITION"), result
            conflicts.append(result)

    page = final.json()["data"]["connectors"]
    assert len(created) + len(conflicts) == CALLS
    assert page["totalCount"] == 1 + len(created)
    assert {node["id"] for node in page["nodes"]} == {seed_id, *created.values()}

    credential = await read_credential(tenant.server.database_url, credential_id)
    secret = SecretBox([TEST_SECRET_KEY]).decrypt(credential.organisation_id, credential.id, credential.secret)
    patched_client_ids = {f"client-{index}" for index in created if index % 4 == 0}
    patched_secrets = {f"FAKE-secret-{index}" for index in created if index % 4 == 2}
    assert patched_client_ids
    assert patched_secrets
    assert credential.public_data["clientId"] in patched_client_ids
    assert secret["clientSecret"] in patched_secrets


def other_sqlite_writer_blocked(path: str) -> bool:
    """Return whether a second connection fails to take the SQLite write lock at once."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as error:
        assert "database is locked" in str(error)
        return True
    finally:
        other.close()


async def test_sqlite_write_lock_taken_at_begin(sqlite_database_url: str) -> None:
    path = make_url(sqlite_database_url).database
    assert path is not None
    database = Database(sqlite_database_url)
    try:
        # Before any write, a SELECT alone must already hold the lock, which only BEGIN
        # IMMEDIATE does. pysqlite's implicit BEGIN would wait for the first INSERT.
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
            blocked_in_write = other_sqlite_writer_blocked(path)
        async with database.read() as session:
            await session.execute(text("SELECT 1"))
            blocked_in_read = other_sqlite_writer_blocked(path)
    finally:
        await database.dispose()

    assert blocked_in_write
    assert not blocked_in_read


async def test_postgresql_write_lock_and_read_snapshot(postgresql_database_url: str) -> None:
    database = Database(postgresql_database_url)
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
    try:
        async with database.transaction() as session:
            locks_in_write = (await session.execute(text(held))).scalar_one()
            write_isolation = (await session.execute(text("SHOW transaction_isolation"))).scalar_one()
        async with database.read() as session:
            locks_in_read = (await session.execute(text(held))).scalar_one()
            read_isolation = (await session.execute(text("SHOW transaction_isolation"))).scalar_one()
    finally:
        await database.dispose()

    assert locks_in_write == 1
    assert write_isolation == "read committed"
    assert locks_in_read == 0
    assert read_isolation == "repeatable read"
    assert -(2**63) <= POSTGRES_WRITE_LOCK_KEY < 2**63
