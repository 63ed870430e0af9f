"""Unexpected errors reach clients as INTERNAL with an error id; schema hints depend on the environment."""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from resolvers import reads
from tests.conftest import LiveServer, make_tenant, sqlite_settings, start_server

PRODUCTION_KEY = "production-test-key-0123456789-abcdefghij"
INTROSPECTION = "{ __schema { queryType { name } } }"
MISSPELT_FIELD = "{ connectorz }"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def serve(directory: Path, **overrides: Any) -> LiveServer:
    return start_server(sqlite_settings(directory, **overrides))


@pytest.fixture
def production(tmp_path: Path) -> Iterator[LiveServer]:
    live = serve(tmp_path, env="production", secret_key=PRODUCTION_KEY, allow_sqlite_in_production=True)
    yield live
    live.stop()


@pytest.fixture
def development(tmp_path: Path) -> Iterator[LiveServer]:
    live = serve(tmp_path)
    yield live
    live.stop()


def test_unexpected_exception_masked_and_logged_once(development: LiveServer, http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk quota detail 7f3a")

    monkeypatch.setattr(reads, "list_connectors", broken)
    records = Records()
    logging.getLogger("app.errors").addHandler(records)
    tenant = make_tenant(development, http)
    try:
        response = tenant.post('query { connectors(organisationId: "%s") { totalCount } }' % tenant.organisation_id)
    finally:
        logging.getLogger("app.errors").removeHandler(records)

    assert response.status_code == 200, response.text
    body = response.json()
    assert "disk quota" not in response.text
    assert "RuntimeError" not in response.text
    assert body["data"] is None
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    error_id = error["extensions"]["errorId"]
    assert set(error) == {"message", "extensions", "path"}
    assert error["extensions"] == {"code": "INTERNAL", "errorId": error_id}
    assert error["message"] == f"Internal error; quote error id {error_id} when reporting it."
    assert error["path"] == ["connectors"]

    logged = [record for record in records.records if getattr(record, "error_id", None) == error_id]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None
    assert "disk quota detail 7f3a" in str(logged[0].exc_info[1])


def test_suggestions_in_development(development: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(development, http)

    message = tenant.post(MISSPELT_FIELD).json()["errors"][0]["message"]

    assert message == "Cannot query field 'connectorz' on type 'Query'. Did you mean 'connector' or 'connectors'?"


def test_no_suggestions_in_production(production: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(production, http)

    message = tenant.post(MISSPELT_FIELD).json()["errors"][0]["message"]

    assert message == "Cannot query field 'connectorz' on type 'Query'."


def test_no_enum_suggestions_in_production(production: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(production, http)

    document = "query Q($org: ULID!, $p: Protocol) { connectors(organisationId: $org, filter: {protocol: $p}) { totalCount } }"

    response = tenant.post(document, {"org": tenant.organisation_id, "p": "HTTPS"})

    assert response.json()["errors"][0]["message"] == "Variable '$p' has invalid value: The value is not a member of the 'Protocol' enum."


def test_introspection_on_in_development(development: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(development, http)

    assert tenant.graphql(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}


def test_introspection_off_in_production(production: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(production, http)

    response = tenant.post(INTROSPECTION, headers={"Accept": "application/graphql-response+json"})

    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {"code": "INTROSPECTION_DISABLED"}
    assert body["errors"][0]["message"].startswith("GraphQL introspection has been disabled")


def test_typename_allowed_without_introspection(production: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(production, http)

    assert tenant.graphql("{ __typename }") == {"__typename": "Query"}


@pytest.mark.parametrize(("env", "introspection", "allowed"), [("development", False, False), ("production", True, True)])
def test_introspection_setting_overrides_env(tmp_path: Path, http: httpx.Client, env: str, introspection: bool, allowed: bool) -> None:
    live = serve(tmp_path, env=env, secret_key=PRODUCTION_KEY, allow_sqlite_in_production=True, introspection=introspection)
    try:
        response = make_tenant(live, http).post(INTROSPECTION)
    finally:
        live.stop()

    assert ("errors" not in response.json()) is allowed, response.text
