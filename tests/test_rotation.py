"""Secret key rotation: `connect-gateway rotate-secrets` re-encrypts credentials with the first key."""

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.cli import main
from db import models
from db.engine import Database
from resolvers.rotation import read_batch, reencrypt_batch, rotate_credential_secrets
from resolvers.secrets import SecretBox, SecretDecryptionError
from tests.conftest import (
    FIXTURES,
    TEST_BACKENDS,
    LiveServer,
    Tenant,
    empty_database,
    gateway_settings,
    issue_api_key,
    make_tenant,
    start_server,
)
from tests.documents import CREATE_CONNECTOR

OLD_KEY = "old-key-A-0123456789-0123456789-0123456789"
NEW_KEY = "new-key-B-0123456789-0123456789-0123456789"
UNKNOWN_KEY = "other-key-C-0123456789-0123456789-012345678"
ACCESS_TOKEN = "gho_rotation_canary_0000000000"
CONNECTOR_COUNT = 3

CREDENTIALS = """
query Credentials($organisationId: ULID!) {
  credentials(organisationId: $organisationId, first: 50) { nodes { id name type data { __typename } } }
}
"""


@pytest.fixture(params=TEST_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CONNECT_GATEWAY_"):
            monkeypatch.delenv(name)


def serve(database_url: str, secret_key: str) -> LiveServer:
    return start_server(gateway_settings(database_url, secret_key=secret_key))


def create_connectors(server: LiveServer, http: httpx.Client, count: int) -> str:
    """Create `count` connectors whose credentials hold ACCESS_TOKEN; return their organisation id."""
    tenant = make_tenant(server, http)
    definition = json.loads((FIXTURES / "github.json").read_text())
    definition["connections"][0]["credentials"]["action"][0]["credential"]["data"]["oauth2Token"]["accessToken"] = ACCESS_TOKEN
    for index in range(count):
        result = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition | {"name": f"rotated {index}"}})
        assert result["createHTTPConnector"]["__typename"] == "HTTPConnector"
    return tenant.organisation_id


def read_credentials(server: LiveServer, http: httpx.Client, organisation_id: str) -> list[dict[str, Any]]:
    """Read the organisation's credentials through GraphQL with a new API key."""
    tenant = Tenant(organisation_id, issue_api_key(server.database_url, organisation_id), server, http)
    return tenant.graphql(CREDENTIALS, {"organisationId": organisation_id})["credentials"]["nodes"]


def stored_rows(database_url: str) -> list[models.Credential]:
    async def run() -> list[models.Credential]:
        database = Database(database_url)
        try:
            async with database.read() as session:
                return list((await session.execute(select(models.Credential).order_by(models.Credential.id))).scalars())
        finally:
            await database.dispose()

    return asyncio.run(run())


def run_rotation(monkeypatch: pytest.MonkeyPatch, database_url: str, secret_key: str, *arguments: str) -> int:
    monkeypatch.setenv("CONNECT_GATEWAY_DATABASE_URL", database_url)
    monkeypatch.setenv("CONNECT_GATEWAY_SECRET_KEY", secret_key)
    # The command sends its log to the current sys.stderr, which capsys closes after the test.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return main(["rotate-secrets", *arguments])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_rotation_moves_secrets_to_new_key(
    database_url: str, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(database_url, OLD_KEY)
    organisation_id = create_connectors(server, http, CONNECTOR_COUNT)
    server.stop()
    credential_count = len(stored_rows(database_url))
    assert credential_count >= CONNECTOR_COUNT

    # Both keys are configured with the new one first, and the gateway keeps serving while rotation runs.
    server = serve(database_url, f"{NEW_KEY},{OLD_KEY}")
    try:
        assert len(read_credentials(server, http, organisation_id)) == credential_count
        exit_code = run_rotation(monkeypatch, database_url, f"{NEW_KEY},{OLD_KEY}", "--batch-size", "2")
        output = capsys.readouterr()
        again = run_rotation(monkeypatch, database_url, f"{NEW_KEY},{OLD_KEY}")
        output_again = capsys.readouterr()
    finally:
        server.stop()

    assert exit_code == 0
    assert f"examined {credential_count} credentials" in output.out
    assert f"re-encrypted {credential_count}," in output.out
    assert "0 not decryptable" in output.out
    assert again == 0
    assert "re-encrypted 0," in output_again.out
    assert f"{credential_count} already under the current key" in output_again.out
    for text in (output.out, output.err, output_again.out, output_again.err):
        assert ACCESS_TOKEN not in text
        assert NEW_KEY not in text
        assert OLD_KEY not in text

    new_only, old_only = SecretBox([NEW_KEY]), SecretBox([OLD_KEY])
    rows = stored_rows(database_url)
    assert len(rows) == credential_count
    tokens = []
    for row in rows:
        assert new_only.is_current(row.secret)
        tokens.append(new_only.decrypt(row.organisation_id, row.id, row.secret).get("accessToken"))
        with pytest.raises(SecretDecryptionError):
            old_only.decrypt(row.organisation_id, row.id, row.secret)
    assert tokens.count(ACCESS_TOKEN) == CONNECTOR_COUNT

    server = serve(database_url, NEW_KEY)
    try:
        credentials = read_credentials(server, http, organisation_id)
    finally:
        server.stop()
    assert len(credentials) == credential_count


def test_rotation_keeps_timestamps(database_url: str, http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(database_url, OLD_KEY)
    create_connectors(server, http, 1)
    server.stop()
    before = {row.id: row.updated_at for row in stored_rows(database_url)}

    assert run_rotation(monkeypatch, database_url, f"{NEW_KEY},{OLD_KEY}") == 0

    assert {row.id: row.updated_at for row in stored_rows(database_url)} == before


def test_rotation_skips_row_changed_after_read(database_url: str, http: httpx.Client) -> None:
    server = serve(database_url, OLD_KEY)
    create_connectors(server, http, 1)
    server.stop()
    box = SecretBox([NEW_KEY, OLD_KEY])

    async def run() -> tuple[Any, bytes, bytes]:
        database = Database(database_url)
        try:
            batch = await read_batch(database, None, 10)
            changed = batch[0]
            # Another writer, still on the old key, stores new data between the read and the write.
            concurrent = SecretBox([OLD_KEY]).encrypt(changed.organisation_id, changed.credential_id, {"accessToken": "changed"})
            async with database.transaction() as session:
                await session.execute(update(models.Credential).where(models.Credential.id == changed.credential_id).values(secret=concurrent))
            report = await reencrypt_batch(database, box, batch)
            async with database.read() as session:
                stored = (await session.execute(select(models.Credential.secret).where(models.Credential.id == changed.credential_id))).scalar_one()
            return report, concurrent, stored
        finally:
            await database.dispose()

    report, concurrent, stored = asyncio.run(run())

    assert report.changed == 1
    assert report.rotated == report.examined - 1
    assert stored == concurrent


def test_undecryptable_credential_reported(
    database_url: str, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(database_url, UNKNOWN_KEY)
    create_connectors(server, http, 1)
    server.stop()
    unknown_ids = {row.id for row in stored_rows(database_url)}
    server = serve(database_url, OLD_KEY)
    create_connectors(server, http, 1)
    server.stop()

    exit_code = run_rotation(monkeypatch, database_url, f"{NEW_KEY},{OLD_KEY}")

    output = capsys.readouterr()
    assert exit_code == 1
    assert f"{len(unknown_ids)} not decryptable" in output.out
    logged = [json.loads(line) for line in output.err.splitlines() if line.startswith("{")]
    failures = {entry["credential_id"] for entry in logged if entry["message"] == "credential secret cannot be decrypted with any configured key"}
    assert failures == unknown_ids
    new_only = SecretBox([NEW_KEY])
    for row in stored_rows(database_url):
        assert new_only.is_current(row.secret) == (row.id not in unknown_ids)


def test_dry_run_writes_nothing(database_url: str, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    server = serve(database_url, OLD_KEY)
    create_connectors(server, http, 1)
    server.stop()
    before = [row.secret for row in stored_rows(database_url)]

    exit_code = run_rotation(monkeypatch, database_url, f"{NEW_KEY},{OLD_KEY}", "--dry-run")

    assert exit_code == 0
    assert f"would re-encrypt {len(before)}," in capsys.readouterr().out
    assert [row.secret for row in stored_rows(database_url)] == before


def test_batch_size_must_be_positive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as exited:
        run_rotation(monkeypatch, f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", NEW_KEY, "--batch-size", "0")
    assert exited.value.code == 2

    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        asyncio.run(rotate_credential_secrets(database, SecretBox([NEW_KEY]), batch_size=0))
    asyncio.run(database.dispose())
