"""Automatic persisted queries, the allow-list mode and the register command."""

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import main
from tests.conftest import LiveServer, Tenant, gateway_settings, make_tenant, sqlite_settings, start_server, without_cost

QUERY = "query Typename { __typename }"
QUERY_HASH = hashlib.sha256(QUERY.encode()).hexdigest()
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def persisted(sha256: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def send(tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tenant.api_key}", "Accept": GRAPHQL_RESPONSE_JSON}
    return tenant.client.post(tenant.server.graphql_url, json=body, headers=headers)


def unique_query(tenant: Tenant) -> tuple[str, str]:
    # The store is shared by the session's server, so each test uses its own document.
    query = f"query Q{tenant.organisation_id} {{ __typename }}"
    return query, hashlib.sha256(query.encode()).hexdigest()


def test_unknown_hash_not_found(tenant: Tenant) -> None:
    _, sha256 = unique_query(tenant)

    response = send(tenant, {"extensions": persisted(sha256)})

    assert response.status_code == 400, response.text
    assert response.json() == {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}


def test_query_with_hash_registers(tenant: Tenant) -> None:
    query, sha256 = unique_query(tenant)

    first = send(tenant, {"query": query, "extensions": persisted(sha256)})
    second = send(tenant, {"extensions": persisted(sha256)})

    assert without_cost(first.json()) == {"data": {"__typename": "Query"}}
    assert second.status_code == 200, second.text
    assert without_cost(second.json()) == {"data": {"__typename": "Query"}}


def test_hash_only_over_get(tenant: Tenant) -> None:
    query, sha256 = unique_query(tenant)
    send(tenant, {"query": query, "extensions": persisted(sha256)})

    response = tenant.client.get(
        tenant.server.graphql_url,
        params={"extensions": f'{{"persistedQuery": {{"version": 1, "sha256Hash": "{sha256}"}}}}'},
        headers={"Authorization": f"Bearer {tenant.api_key}"},
    )

    assert response.status_code == 200, response.text
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


def test_hash_mismatch_400(tenant: Tenant) -> None:
    query, _ = unique_query(tenant)

    response = send(tenant, {"query": query, "extensions": persisted(QUERY_HASH)})

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


def test_mismatched_hash_not_stored(tenant: Tenant) -> None:
    query, _ = unique_query(tenant)
    other = hashlib.sha256(b"something else " + tenant.organisation_id.encode()).hexdigest()

    send(tenant, {"query": query, "extensions": persisted(other)})

    assert send(tenant, {"extensions": persisted(other)}).json()["errors"][0]["message"] == "PersistedQueryNotFound"


def test_invalid_document_not_stored(tenant: Tenant) -> None:
    query = f"query Q{tenant.organisation_id} {{ noSuchField }}"
    sha256 = hashlib.sha256(query.encode()).hexdigest()

    first = send(tenant, {"query": query, "extensions": persisted(sha256)})

    assert first.status_code == 400
    assert send(tenant, {"extensions": persisted(sha256)}).json()["errors"][0]["message"] == "PersistedQueryNotFound"


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        ({"version": 2, "sha256Hash": QUERY_HASH}, "The `persistedQuery.version` extension must be 1, the only supported version."),
        ({"version": 1, "sha256Hash": "abc"}, "The `persistedQuery.sha256Hash` extension must be 64 lowercase hexadecimal digits."),
        ("hash", "The `persistedQuery` extension must be an object."),
    ],
    ids=["version", "short hash", "not an object"],
)
def test_malformed_extension_400(tenant: Tenant, extension: Any, message: str) -> None:
    response = send(tenant, {"query": QUERY, "extensions": {"persistedQuery": extension}})

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"] == message


def test_registration_seen_by_other_replica(server: LiveServer, tenant: Tenant, http: httpx.Client) -> None:
    query, sha256 = unique_query(tenant)
    send(tenant, {"query": query, "extensions": persisted(sha256)})

    replica = start_server(gateway_settings(server.database_url))
    try:
        response = send(Tenant(tenant.organisation_id, tenant.api_key, replica, http), {"extensions": persisted(sha256)})
    finally:
        replica.stop()

    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


@pytest.fixture(scope="module")
def allowlist_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(sqlite_settings(tmp_path_factory.mktemp("allowlist"), persisted_queries="allowlist"))
    yield live
    live.stop()


def register(server: LiveServer, monkeypatch: pytest.MonkeyPatch, *files: Path) -> int:
    monkeypatch.setenv("CONNECT_GATEWAY_DATABASE_URL", server.database_url)
    return main(["persisted-queries", "register", *map(str, files)])


def test_allowlist_rejects_unregistered(allowlist_server: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(allowlist_server, http)
    query, sha256 = unique_query(tenant)

    plain = send(tenant, {"query": query})
    with_hash = send(tenant, {"query": query, "extensions": persisted(sha256)})
    again = send(tenant, {"extensions": persisted(sha256)})

    for response in (plain, with_hash):
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert again.json()["errors"][0]["message"] == "PersistedQueryNotFound"


def test_allowlist_runs_registered(
    allowlist_server: LiveServer, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = make_tenant(allowlist_server, http)
    query, sha256 = unique_query(tenant)
    document = tmp_path / "typename.graphql"
    document.write_text(query)

    assert register(allowlist_server, monkeypatch, document) == 0
    assert capsys.readouterr().out == f"{sha256} {document}\n"
    assert without_cost(send(tenant, {"query": query}).json()) == {"data": {"__typename": "Query"}}
    assert without_cost(send(tenant, {"extensions": persisted(sha256)}).json()) == {"data": {"__typename": "Query"}}


def test_register_rejects_invalid_document(
    allowlist_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = tmp_path / "bad.graphql"
    document.write_text("query { noSuchField }")

    assert register(allowlist_server, monkeypatch, document) == 1
    assert capsys.readouterr().err == f"error: {document} does not validate against the schema: Cannot query field 'noSuchField' on type 'Query'.\n"
