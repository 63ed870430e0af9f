"""Behaviour that must not depend on the database: each test runs on SQLite and PostgreSQL.

Covers timestamps (UTC, microseconds), rejection of NUL bytes and over-long text before
any SQL runs, newest-first ordering with ties broken by id, and case-insensitive name
filters over non-ASCII text.
"""

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, update

from db import models
from db.engine import Database
from tests.conftest import FIXTURES, Tenant
from tests.documents import CREATE_CONNECTOR

UTC_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
NUL_MESSAGE = "must not contain NUL bytes (U+0000)."
OVERLONG_LENGTH = 70_000
OVERLONG_MESSAGE = re.compile(rf"^is {OVERLONG_LENGTH} characters long; the maximum is \d+\.$")
# Fixtures that together use each kind of text input: OAuth 2.0, HMAC, certificates,
# basic auth, variables, API keys and the credential data shapes they carry.
SWEEP_FIXTURES = ("github", "open-banking", "shopify", "twilio")

CREATE_WITH_TIMESTAMPS = """
mutation Create($organisationId: ULID!, $input: HTTPConnectorCreateInput!) {
  createHTTPConnector(organisationId: $organisationId, input: $input) {
    __typename
    ... on HTTPConnector { id createdAt updatedAt }
    ... on Error { code message fields { field message } }
  }
}
"""

CONNECTOR_TIMESTAMPS = """
query One($o: ULID!, $id: ULID!) {
  connector(organisationId: $o, id: $id) {
    createdAt updatedAt
    connections {
      createdAt updatedAt
      credentials { action { credential { id expiresAt } } }
    }
    versions { createdAt updatedAt publishedAt }
  }
}
"""

CONNECTOR_NAMES = """
query Names($o: ULID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ConnectorFilter) {
  connectors(organisationId: $o, first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id name updatedAt }
  }
}
"""

CREDENTIAL_NAMES = """
query Credentials($o: ULID!, $filter: CredentialFilter) {
  credentials(organisationId: $o, first: 100, filter: $filter) { totalCount nodes { name } }
}
"""


def minimal_definition(name: str, credential_name: str | None = None) -> dict[str, Any]:
    """Return a connector with one API-key connection whose credential is named after it."""
    return {
        "name": name,
        "baseUrl": "https://api.example.com",
        "authSchemeConfigs": [{"apiKey": {"id": "key", "description": "", "name": "X-Key", "in": "HEADER"}}],
        "connections": [
            {
                "name": "main",
                "variables": [],
                "credentials": {
                    "action": [
                        {
                            "authSchemeConfigId": "key",
                            "credential": {"name": credential_name or f"{name} key", "data": {"string": {"value": "FAKE-key"}}},
                        }
                    ]
                },
            }
        ],
    }


def create_connector(tenant: Tenant, definition: dict[str, Any]) -> dict[str, Any]:
    result = tenant.graphql(CREATE_WITH_TIMESTAMPS, {"organisationId": tenant.organisation_id, "input": definition})
    created = result["createHTTPConnector"]
    assert created["__typename"] == "HTTPConnector", created
    return created


def create_result(tenant: Tenant, definition: dict[str, Any]) -> dict[str, Any]:
    """Return the whole response body of a create, which may carry an Error or request errors."""
    response = tenant.post(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})
    assert response.status_code == 200, response.text
    return response.json()


def run_on_database(database_url: str, work: Any) -> Any:
    """Run `work(database)` on a fresh Database for `database_url`, then dispose it."""

    async def run() -> Any:
        database = Database(database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


# Timestamps


def test_created_at_reads_back_as_written(tenant: Tenant) -> None:
    definition = minimal_definition("Timestamps")
    credential = definition["connections"][0]["credentials"]["action"][0]["credential"]
    credential["expiresAt"] = "2031-05-06T07:08:09.123456+02:00"

    created = create_connector(tenant, definition)
    connector = tenant.graphql(CONNECTOR_TIMESTAMPS, {"o": tenant.organisation_id, "id": created["id"]})["connector"]

    assert connector["createdAt"] == created["createdAt"]
    assert connector["updatedAt"] == created["updatedAt"]
    assert UTC_TIMESTAMP.match(connector["createdAt"]), connector["createdAt"]
    assert UTC_TIMESTAMP.match(connector["updatedAt"]), connector["updatedAt"]
    assert connector["connections"][0]["createdAt"] == created["createdAt"]
    assert connector["versions"][0]["createdAt"] == created["createdAt"]
    expires_at = connector["connections"][0]["credentials"]["action"][0]["credential"]["expiresAt"]
    assert expires_at == "2031-05-06T05:08:09.123456Z"


def test_whole_second_keeps_six_digits(tenant: Tenant) -> None:
    definition = minimal_definition("Whole second")
    definition["connections"][0]["credentials"]["action"][0]["credential"]["expiresAt"] = "2031-05-06T07:08:09Z"

    created = create_connector(tenant, definition)
    connector = tenant.graphql(CONNECTOR_TIMESTAMPS, {"o": tenant.organisation_id, "id": created["id"]})["connector"]

    expires_at = connector["connections"][0]["credentials"]["action"][0]["credential"]["expiresAt"]
    assert expires_at == "2031-05-06T07:08:09.000000Z"


@pytest.mark.parametrize("expires_at", ["0001-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z"], ids=["year-1", "year-9999"])
def test_extreme_expiry_round_trips(tenant: Tenant, expires_at: str) -> None:
    definition = minimal_definition("Extreme expiry")
    definition["connections"][0]["credentials"]["action"][0]["credential"]["expiresAt"] = expires_at

    created = create_connector(tenant, definition)
    connector = tenant.graphql(CONNECTOR_TIMESTAMPS, {"o": tenant.organisation_id, "id": created["id"]})["connector"]

    assert connector["connections"][0]["credentials"]["action"][0]["credential"]["expiresAt"] == expires_at


@pytest.mark.parametrize(
    "written",
    [
        datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2030, 1, 2, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2030, 1, 2, 0, 0, 0, 0, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ],
    ids=["minus-7h", "plus-5h30-last-microsecond", "whole-second", "epoch-plus-1us"],
)
def test_utc_column_round_trips_offsets(tenant: Tenant, written: datetime) -> None:
    # The tenant's organisation id is a fresh ULID, so no api_key row has it as its id yet.
    row_id = tenant.organisation_id

    async def write_and_read(database: Database) -> datetime:
        async with database.transaction() as session:
            session.add(models.ApiKey(id=row_id, organisation_id=row_id, key_hash=row_id.ljust(64, "0"), created_at=written))
        async with database.read() as session:
            statement = select(models.ApiKey.created_at).where(models.ApiKey.id == row_id)
            return (await session.execute(statement)).scalar_one()

    read = run_on_database(tenant.server.database_url, write_and_read)

    assert read == written
    assert read.utcoffset() == timedelta(0)
    assert read.microsecond == written.microsecond


# NUL bytes and over-long text


def string_leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_leaves(item, (*path, index))
    elif isinstance(value, str):
        yield path


def field_path(path: tuple[str | int, ...]) -> str:
    """Format a leaf path the way Error.fields names it, such as connections[0].name."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = part
    return text


def with_leaf(definition: dict[str, Any], path: tuple[str | int, ...], value: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(definition))
    parent = copy
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return copy


def assert_rejected(body: dict[str, Any], path: tuple[str | int, ...], message: str | re.Pattern[str]) -> None:
    """Assert the create was rejected for the text at `path`, and not by the database."""
    assert "INTERNAL" not in json.dumps(body), body
    if "data" not in body:
        # An enum value is checked while GraphQL coerces variables, before any resolver.
        assert "enum" in body["errors"][0]["message"], body
        assert body["errors"][0]["extensions"]["code"] != "INTERNAL", body
        return
    result = body["data"]["createHTTPConnector"]
    assert result["__typename"] == "Error", result
    assert result["code"] == "INVALID_ARGUMENT", result
    messages = [item["message"] for item in result["fields"] if item["field"] == field_path(path)]
    assert messages, result["fields"]
    if isinstance(message, str):
        assert message in messages, messages
    else:
        assert any(message.match(item) for item in messages), messages


@pytest.mark.parametrize("fixture", SWEEP_FIXTURES)
def test_nul_byte_rejected_in_every_text(tenant: Tenant, fixture: str) -> None:
    definition = json.loads((FIXTURES / f"{fixture}.json").read_text())
    paths = list(string_leaves(definition))
    assert paths

    for path in paths:
        original = definition
        for part in path:
            original = original[part]
        body = create_result(tenant, with_leaf(definition, path, original + "\x00tail"))
        assert_rejected(body, path, NUL_MESSAGE)


@pytest.mark.parametrize("fixture", SWEEP_FIXTURES)
def test_overlong_text_rejected_everywhere(tenant: Tenant, fixture: str) -> None:
    definition = json.loads((FIXTURES / f"{fixture}.json").read_text())

    for path in string_leaves(definition):
        body = create_result(tenant, with_leaf(definition, path, "x" * OVERLONG_LENGTH))
        assert_rejected(body, path, OVERLONG_MESSAGE)


def test_rejected_creates_write_nothing(tenant: Tenant) -> None:
    definition = minimal_definition("Rejected")
    with_nul = create_result(tenant, with_leaf(definition, ("name",), "bad\x00name"))
    too_long = create_result(tenant, with_leaf(definition, ("name",), "x" * 256))

    page = tenant.graphql(CONNECTOR_NAMES, {"o": tenant.organisation_id})["connectors"]
    credentials = tenant.graphql(CREDENTIAL_NAMES, {"o": tenant.organisation_id})["credentials"]

    assert with_nul["data"]["createHTTPConnector"]["__typename"] == "Error"
    assert too_long["data"]["createHTTPConnector"]["__typename"] == "Error"
    assert page["totalCount"] == 0
    assert credentials["totalCount"] == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "x" * 256, "is 256 characters long; the maximum is 255."),
        ("name", "Ö" * 256, "is 256 characters long; the maximum is 255."),
        ("name", "ok\x00", NUL_MESSAGE),
        ("baseUrl", "https://api.example.com/" + "p" * 2030, "is 2054 characters long; the maximum is 2048."),
    ],
    ids=["ascii-256", "non-ascii-256", "nul", "url-2054"],
)
def test_limit_errors_name_field_and_maximum(tenant: Tenant, field: str, value: str, message: str) -> None:
    body = create_result(tenant, with_leaf(minimal_definition("Limits"), (field,), value))

    result = body["data"]["createHTTPConnector"]
    assert result["__typename"] == "Error"
    assert result["code"] == "INVALID_ARGUMENT"
    assert result["fields"] == [{"field": field, "message": message}]


@pytest.mark.parametrize(
    "name",
    ["x" * 255, "Ö" * 255, "\U0001d518" * 255, "\u0390" * 255],
    ids=["ascii", "two-byte", "astral-plane", "casefold-triples"],
)
def test_maximum_length_name_stored_whole(tenant: Tenant, name: str) -> None:
    # U+0390 case-folds to three code points, so its folded copy is 765 characters long.
    created = create_connector(tenant, minimal_definition(name, credential_name=name))

    read = tenant.graphql(CONNECTOR_NAMES, {"o": tenant.organisation_id, "filter": {"name": name[:3].upper()}})["connectors"]
    credentials = tenant.graphql(CREDENTIAL_NAMES, {"o": tenant.organisation_id, "filter": {"name": name}})["credentials"]

    assert [node["id"] for node in read["nodes"]] == [created["id"]]
    assert read["nodes"][0]["name"] == name
    assert [node["name"] for node in credentials["nodes"]] == [name]


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (CONNECTOR_NAMES, {"filter": {"name": "a\x00b"}}),
        (CONNECTOR_NAMES, {"filter": {"tags": [{"key": "k\x00"}]}}),
        (CONNECTOR_NAMES, {"filter": {"tags": [{"key": "k", "value": "v\x00"}]}}),
        (CREDENTIAL_NAMES, {"filter": {"name": "a\x00b"}}),
    ],
    ids=["connector-name", "tag-key", "tag-value", "credential-name"],
)
def test_nul_byte_in_filter_rejected(tenant: Tenant, document: str, variables: dict[str, Any]) -> None:
    response = tenant.post(document, {"o": tenant.organisation_id} | variables)

    body = response.json()
    assert "errors" in body, body
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT", body
    assert "NUL" in body["errors"][0]["message"], body


@pytest.mark.parametrize(
    "filters",
    [{"name": "x" * OVERLONG_LENGTH}, {"tags": [{"key": "k" * OVERLONG_LENGTH, "value": "v" * OVERLONG_LENGTH}]}],
    ids=["name", "tag"],
)
def test_overlong_filter_is_not_internal(tenant: Tenant, filters: dict[str, Any]) -> None:
    response = tenant.post(CONNECTOR_NAMES, {"o": tenant.organisation_id, "filter": filters})

    assert response.status_code == 200, response.text
    assert "INTERNAL" not in response.text, response.text


def tampered_cursor(cursor: str, position: int, value: Any) -> str:
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload[position] = value
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (3, "01ARZ3NDEKTSV4RRFFQ69G5FA\x00"),
        (3, "not-a-row-id"),
        (2, "0001-01-01T00:00:00+05:00"),
        (2, "9999-12-31T23:59:59-05:00"),
        (2, "2026-01-01T00:00:00"),
    ],
    ids=["nul-in-id", "non-ulid-id", "before-year-1-in-utc", "after-year-9999-in-utc", "naive-timestamp"],
)
def test_forged_cursor_rejected(tenant: Tenant, position: int, value: str) -> None:
    for index in range(2):
        create_connector(tenant, minimal_definition(f"Cursor {index}"))
    first = tenant.graphql(CONNECTOR_NAMES, {"o": tenant.organisation_id, "first": 1})["connectors"]
    cursor = tampered_cursor(first["pageInfo"]["endCursor"], position, value)

    body = tenant.post(CONNECTOR_NAMES, {"o": tenant.organisation_id, "first": 1, "after": cursor}).json()

    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT", body
    assert body["errors"][0]["message"].startswith("after is not a cursor issued by this API"), body


# Ordering


def test_ties_ordered_by_id_on_every_page(tenant: Tenant) -> None:
    ids = [create_connector(tenant, minimal_definition(f"Tie {index}"))["id"] for index in range(7)]
    tied = datetime(2030, 6, 1, 12, 0, 0, 500000, tzinfo=UTC)
    # Three rows share one timestamp and two sit one microsecond either side of it. The
    # other two keep their creation time, which is earlier, so they come last.
    timestamps = {
        ids[0]: tied,
        ids[3]: tied,
        ids[5]: tied,
        ids[1]: tied + timedelta(microseconds=1),
        ids[6]: tied - timedelta(microseconds=1),
    }
    expected = [ids[1], *sorted([ids[0], ids[3], ids[5]], reverse=True), ids[6], ids[4], ids[2]]

    async def set_timestamps(database: Database) -> None:
        async with database.transaction() as session:
            for row_id, value in timestamps.items():
                await session.execute(update(models.Connector).where(models.Connector.id == row_id).values(updated_at=value))

    run_on_database(tenant.server.database_url, set_timestamps)
    whole = tenant.graphql(CONNECTOR_NAMES, {"o": tenant.organisation_id, "first": 100})["connectors"]["nodes"]

    forward: list[str] = []
    after = None
    for _ in range(len(ids)):
        page = tenant.graphql(CONNECTOR_NAMES, {"o": tenant.organisation_id, "first": 2, "after": after})["connectors"]
        forward += [node["id"] for node in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break

    backward: list[str] = []
    before = None
    for _ in range(len(ids)):
        page = tenant.graphql(CONNECTOR_NAMES, {"o": tenant.organisation_id, "last": 2, "before": before})["connectors"]
        backward = [node["id"] for node in page["nodes"]] + backward
        before = page["pageInfo"]["startCursor"]
        if not page["pageInfo"]["hasPreviousPage"]:
            break

    assert [node["id"] for node in whole] == expected
    assert forward == expected
    assert backward == expected
    assert whole[1]["updatedAt"] == "2030-06-01T12:00:00.500000Z"


# Case-insensitive name filters


FILTER_NAMES = [
    "Ökosystem Daten",
    "ökonomie",
    "Okapi",
    "Straße API",
    "ΣΊΣΥΦΟΣ",
    "100% Cotton_Shop",
    "100 Cotton Shop",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ÖKO", {"Ökosystem Daten", "ökonomie"}),
        ("öko", {"Ökosystem Daten", "ökonomie"}),
        ("ökoSYSTEM", {"Ökosystem Daten"}),
        ("OK", {"Okapi"}),
        ("STRASSE", {"Straße API"}),
        ("straße", {"Straße API"}),
        ("σίσυφος", {"ΣΊΣΥΦΟΣ"}),
        ("0% c", {"100% Cotton_Shop"}),
        ("n_s", {"100% Cotton_Shop"}),
        ("%", {"100% Cotton_Shop"}),
        ("COTTON", {"100% Cotton_Shop", "100 Cotton Shop"}),
    ],
)
def test_name_filter_folds_case(tenant: Tenant, text: str, expected: set[str]) -> None:
    for name in FILTER_NAMES:
        create_connector(tenant, minimal_definition(name))

    connectors = tenant.graphql(CONNECTOR_NAMES, {"o": tenant.organisation_id, "first": 100, "filter": {"name": text}})["connectors"]
    credentials = tenant.graphql(CREDENTIAL_NAMES, {"o": tenant.organisation_id, "filter": {"name": text}})["credentials"]

    assert {node["name"] for node in connectors["nodes"]} == expected
    assert connectors["totalCount"] == len(expected)
    assert {node["name"] for node in credentials["nodes"]} == {f"{name} key" for name in expected}
