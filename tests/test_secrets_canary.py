"""Secrets stay inside the gateway: they reach no response, log line or database page in clear.

Each test plants canaries (unique random strings) in every kind of secret field, turns every
logger up to DEBUG, then reads the data back or provokes errors that carry the canaries. A
canary must then be absent from the response bodies, the captured log lines and the raw bytes
of the SQLite database and its WAL file. Public fields get canaries of their own that must be
found there, so the searches cannot pass by looking in the wrong place.
"""

import asyncio
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import URL, make_url

from app.logs import JsonFormatter
from tests.conftest import LiveServer, Tenant
from tests.documents import CONNECTOR_BY_ID, CONNECTORS_PAGE, CREATE_CONNECTOR, CONNECTOR_TREE_FIELDS, TREE_FRAGMENTS

# Loggers of the test client, which runs in the same process as the server.
CLIENT_LOGGERS = ("httpx", "httpcore")
DEBUG_LOGGERS = ("", "app", "resolvers", "db", "schema", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy.engine", "aiosqlite", "strawberry")


@dataclass
class Canaries:
    """Canary strings of one test: `secret(...)` for secret fields, `public(...)` for public ones."""

    token: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def secret_marker(self) -> str:
        return f"CANARY_{self.token}"

    @property
    def public_marker(self) -> str:
        return f"PUBLIC_{self.token}"

    def secret(self, label: str) -> str:
        return f"{self.secret_marker}_{label}"

    def public(self, label: str) -> str:
        return f"{self.public_marker}_{label}"


class LogCapture(logging.Handler):
    """Keep every record of the server as the JSON line the gateway would write."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_LOGGERS):
            return
        self.lines.append(self.format(record))

    def containing(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """Capture all server log records at DEBUG, including SQL statements with their parameters."""
    capture = LogCapture()
    levels = {name: logging.getLogger(name).level for name in DEBUG_LOGGERS}
    for name in DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(capture)
    yield capture
    logging.getLogger().removeHandler(capture)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def canaries() -> Canaries:
    return Canaries()


def stored_bytes(server: LiveServer) -> bytes:
    """Return what the database holds.

    On SQLite these are the raw bytes of the database file and its -wal and -shm files. The
    PostgreSQL data directory belongs to another user, so there every row of every table is
    read as text instead, with bytea columns in hex.
    """
    url = make_url(server.database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        files = sorted(path.parent.glob(path.name + "*"))
        assert path in files, f"database file {path} not found"
        return b"".join(file.read_bytes() for file in files)
    return asyncio.run(postgres_rows_as_text(url)).encode()


async def postgres_rows_as_text(url: URL) -> str:
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password, database=url.database)
    try:
        tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        dumps = []
        for table in tables:
            query = f"SELECT coalesce(string_agg(t::text, chr(10)), '') FROM \"{table['tablename']}\" t"
            dumps.append(await connection.fetchval(query))
    finally:
        await connection.close()
    return "\n".join(dumps)


def is_stored(text: str, server: LiveServer) -> bool:
    stored = stored_bytes(server)
    return text.encode() in stored or text.encode().hex().encode() in stored


def assert_nowhere(marker: str, server: LiveServer, logs: LogCapture, responses: list[httpx.Response]) -> None:
    for response in responses:
        assert marker not in response.text, f"{response.request.method} {response.request.url.path} returned a secret: {response.text[:2000]}"
        assert marker not in str(response.headers)
    assert logs.containing(marker) == []
    assert not is_stored(marker, server)


def planted_input(canaries: Canaries) -> dict[str, Any]:
    """Return a connector definition with a canary in every secret field that a create accepts."""
    secret, public = canaries.secret, canaries.public
    oauth2_urls = {"authorizeUrl": "https://auth.example.com/authorize", "tokenUrl": "https://auth.example.com/token"}
    return {
        "name": public("connector"),
        "baseUrl": "https://api.example.com",
        "authSchemeConfigs": [
            {"apiKey": {"id": "api", "description": "", "name": "X-Api-Key", "in": "HEADER"}},
            {"basicAuth": {"id": "basic", "description": ""}},
            {
                "oauth2": {
                    "id": "code",
                    "description": "",
                    **oauth2_urls,
                    "scopes": [{"name": "read"}],
                    "defaultScopes": ["read"],
                    "grant": {"authorizationCode": {"clientId": public("code_grant_clientId"), "clientSecret": secret("code_grant_clientSecret")}},
                }
            },
            {
                "oauth2": {
                    "id": "client",
                    "description": "",
                    "authorizeUrl": "",
                    "tokenUrl": oauth2_urls["tokenUrl"],
                    "scopes": [],
                    "defaultScopes": [],
                    "grant": {"clientCredentials": {}},
                }
            },
            {
                "oauth2": {
                    "id": "password",
                    "description": "",
                    **oauth2_urls,
                    "scopes": [],
                    "defaultScopes": [],
                    "grant": {"password": {"clientId": public("password_grant_clientId"), "clientSecret": secret("password_grant_clientSecret")}},
                }
            },
            {"certificate": {"id": "cert", "description": ""}},
            {"hmac": {"id": "hmac", "description": "", "name": "X-Signature", "in": "HEADER", "algorithm": "SHA256", "digestInputs": ["BODY"]}},
        ],
        "connections": [
            {
                "name": "main",
                "credentials": {
                    "action": [
                        link("api", "api key", {"string": {"value": secret("string_value")}}),
                        link("basic", "basic", {"basicAuth": {"username": public("basic_username"), "password": secret("basic_password")}}),
                        link("code", "code", {"oauth2Code": {"code": secret("code_code"), "state": secret("code_state")}}),
                        link(
                            "code",
                            "token",
                            {"oauth2Token": {"scopes": ["read"], "accessToken": secret("token_accessToken"), "refreshToken": secret("token_refreshToken")}},
                        ),
                        link(
                            "client",
                            "client",
                            {"oauth2Client": {"clientId": public("client_clientId"), "clientSecret": secret("client_clientSecret"), **oauth2_urls}},
                        ),
                        link("password", "password", {"oauth2Password": {"username": public("password_username"), "password": secret("password_password")}}),
                        link("cert", "cert", {"certificate": {"certificate": public("certificate"), "key": secret("certificate_key"), "ca": public("ca")}}),
                        link("hmac", "hmac", {"string": {"value": secret("hmac_value")}}),
                    ]
                },
            }
        ],
    }


def link(config_id: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"authSchemeConfigId": config_id, "credential": {"name": name, "data": data}}


NODE = (
    """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on HTTPConnector {"""
    + CONNECTOR_TREE_FIELDS
    + """}
    ... on Connection { name variables { name value } credentials { action { ...Link } trigger { ...Link } } }
    ... on Credential { ...CredentialFields }
    ... on ConnectorVersion { name description }
  }
}
"""
    + TREE_FRAGMENTS
)

NODES = NODE.replace("query Node($id: ID!)", "query Nodes($ids: [ID!]!)").replace("node(id: $id)", "nodes(ids: $ids)")

CREDENTIAL_FRAGMENT = TREE_FRAGMENTS[TREE_FRAGMENTS.index("fragment CredentialFields") :]

CREDENTIAL = (
    """
query Credential($organisationId: ULID!, $id: ULID!) {
  credential(organisationId: $organisationId, id: $id) { ...CredentialFields }
}
"""
    + CREDENTIAL_FRAGMENT
)

CREDENTIALS = (
    """
query Credentials($organisationId: ULID!) {
  credentials(organisationId: $organisationId, first: 100) {
    totalCount
    edges { cursor node { id } }
    nodes { ...CredentialFields }
  }
}
"""
    + CREDENTIAL_FRAGMENT
)

COUNTS = """
query Counts($organisationId: ULID!) {
  connectors(organisationId: $organisationId) { totalCount }
  credentials(organisationId: $organisationId) { totalCount }
}
"""

# What each created credential reads back as: its type and the secret fields it withholds.
# An oauth2-code credential reads back as OAUTH2_TOKEN and withholds code and state unlisted.
EXPECTED_CREDENTIALS = {
    "api key": ("STRING", ["value"]),
    "basic": ("BASIC_AUTH", ["password"]),
    "code": ("OAUTH2_TOKEN", []),
    "token": ("OAUTH2_TOKEN", ["accessToken", "refreshToken"]),
    "client": ("OAUTH2_CLIENT", ["clientSecret"]),
    "password": ("OAUTH2_PASSWORD", ["password"]),
    "cert": ("CERTIFICATE", ["key"]),
    "hmac": ("STRING", ["value"]),
}


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def create_planted(tenant: Tenant, canaries: Canaries) -> tuple[httpx.Response, dict[str, Any]]:
    response = tenant.post(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": planted_input(canaries)})
    created = ok(response)["createHTTPConnector"]
    assert created["__typename"] == "HTTPConnector", created
    return response, created


def test_planted_secrets_never_read_back(tenant: Tenant, canaries: Canaries, logs: LogCapture) -> None:
    responses = []
    create_response, created = create_planted(tenant, canaries)
    responses.append(create_response)
    organisation = {"organisationId": tenant.organisation_id}

    tree_response = tenant.post(CONNECTOR_BY_ID, organisation | {"id": created["id"]})
    connector = ok(tree_response)["connector"]
    responses.append(tree_response)
    responses.append(tenant.post(CONNECTORS_PAGE, organisation | {"first": 100}))
    responses.append(
        tenant.client.get(
            tenant.server.graphql_url,
            params={"query": CONNECTOR_BY_ID, "variables": json.dumps(organisation | {"id": created["id"]})},
            headers={"Authorization": f"Bearer {tenant.api_key}"},
        )
    )

    links = connector["connections"][0]["credentials"]["action"]
    credential_ids = [item["credential"]["id"] for item in links]
    grant_client_ids = [config["grant"]["credentialId"] for config in connector["authSchemeConfigs"] if config.get("grant", {}).get("credentialId")]
    node_ids = [
        connector["id"],
        connector["connections"][0]["id"],
        connector["versions"][0]["id"],
        *credential_ids,
        *grant_client_ids,
    ]
    for node_id in node_ids:
        responses.append(tenant.post(NODE, {"id": node_id}))
        responses.append(tenant.post(NODE, {"id": node_id.lower()}))
    responses.append(tenant.post(NODES, {"ids": node_ids}))
    for credential_id in [*credential_ids, *grant_client_ids]:
        responses.append(tenant.post(CREDENTIAL, organisation | {"id": credential_id}))
    credentials_response = tenant.post(CREDENTIALS, organisation)
    responses.append(credentials_response)

    for response in responses:
        ok(response)
    page = ok(credentials_response)["credentials"]
    read_back = {node["name"]: (node["type"], node["data"]["redactedFields"]) for node in page["nodes"]}
    assert {name: read_back[name] for name in EXPECTED_CREDENTIALS} == EXPECTED_CREDENTIALS
    assert len(grant_client_ids) == 2
    assert page["totalCount"] == len(EXPECTED_CREDENTIALS) + len(grant_client_ids)
    assert all(node["usages"] for node in page["nodes"] if node["name"] in EXPECTED_CREDENTIALS)
    assert_nowhere(canaries.secret_marker, tenant.server, logs, responses)


def test_public_canaries_are_found(tenant: Tenant, canaries: Canaries, logs: LogCapture) -> None:
    """The searches of the other tests are not vacuous: public fields land where they look."""
    create_response, created = create_planted(tenant, canaries)
    tree_response = tenant.post(CONNECTOR_BY_ID, {"organisationId": tenant.organisation_id, "id": created["id"]})

    assert is_stored(canaries.public("basic_username"), tenant.server)
    assert is_stored(canaries.public("password_username"), tenant.server)
    assert is_stored(canaries.public("client_clientId"), tenant.server)
    assert is_stored(canaries.public("code_grant_clientId"), tenant.server)
    assert is_stored(canaries.public("certificate"), tenant.server)
    assert canaries.public("basic_username") in tree_response.text
    assert canaries.public("certificate") in tree_response.text
    request_id = create_response.headers["x-request-id"]
    assert logs.containing(request_id) != []
    assert logs.containing("POST /graphql") != []
    # The INSERT parameters are logged at DEBUG, so a plaintext secret in a parameter would show.
    assert logs.containing(canaries.public("basic_username")) != []


# ---------------------------------------------------------------- error paths

CREATE_WITH_DATA = """
mutation Create($organisationId: ULID!, $data: CredentialDataInput!) {
  createHTTPConnector(organisationId: $organisationId, input: {
    name: "errors", baseUrl: "https://api.example.com",
    authSchemeConfigs: [{apiKey: {id: "api", description: "", name: "X-Api-Key", in: HEADER}}],
    connections: [{name: "main", credentials: {action: [{authSchemeConfigId: "api", credential: {name: "n", data: $data}}]}}]
  }) {
    __typename
    ... on Error { code message fields { field message } }
  }
}
"""


def inline_create(data_literal: str) -> str:
    """Return a create document with the credential data written inline as a GraphQL literal."""
    return (
        'mutation Create($organisationId: ULID!) { createHTTPConnector(organisationId: $organisationId, input: {name: "errors", '
        'baseUrl: "https://api.example.com", authSchemeConfigs: [{apiKey: {id: "api", description: "", name: "X-Api-Key", in: HEADER}}], '
        'connections: [{name: "main", credentials: {action: [{authSchemeConfigId: "api", credential: {name: "n", data: '
        + data_literal
        + "}}]}}]}) { __typename ... on Error { code fields { field message } } } }"
    )


@dataclass(frozen=True)
class ErrorCase:
    """One request that carries a secret and must fail; `expected` must appear in the response."""

    send: Callable[[Tenant, Canaries], httpx.Response]
    expected: str
    status: int = 200


def post_data(data: Callable[[Canaries], Any]) -> Callable[[Tenant, Canaries], httpx.Response]:
    return lambda tenant, canaries: tenant.post(CREATE_WITH_DATA, {"organisationId": tenant.organisation_id, "data": data(canaries)})


def post_input(change: Callable[[dict[str, Any], Canaries], None]) -> Callable[[Tenant, Canaries], httpx.Response]:
    def send(tenant: Tenant, canaries: Canaries) -> httpx.Response:
        definition = planted_input(canaries)
        change(definition, canaries)
        return tenant.post(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})

    return send


def post_document(document: Callable[[Tenant, Canaries], str]) -> Callable[[Tenant, Canaries], httpx.Response]:
    return lambda tenant, canaries: tenant.post(document(tenant, canaries), {"organisationId": tenant.organisation_id})


def post_raw(body: Callable[[Tenant, Canaries], bytes]) -> Callable[[Tenant, Canaries], httpx.Response]:
    def send(tenant: Tenant, canaries: Canaries) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"}
        return tenant.client.post(tenant.server.graphql_url, content=body(tenant, canaries), headers=headers)

    return send


def set_path(definition: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = definition
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def first_action_data(definition: dict[str, Any]) -> dict[str, Any]:
    return definition["connections"][0]["credentials"]["action"][0]["credential"]["data"]


def nested_list(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


STRING_VALUE = "connections[0].credentials.action[0].credential.data.string.value"

ERROR_CASES = {
    "list instead of string": ErrorCase(
        post_data(lambda c: {"basicAuth": {"username": "u", "password": [c.secret("list")]}}),
        "Variable '$data' has invalid value at .basicAuth.password: String cannot represent a non string value.",
    ),
    "object instead of string": ErrorCase(
        post_data(lambda c: {"string": {"value": {"nested": c.secret("object")}}}),
        "$data' has invalid value at .string.value: String cannot represent a non string value.",
    ),
    "unknown field beside secret": ErrorCase(
        post_data(lambda c: {"string": {"value": c.secret("beside"), "bogus": 1}}),
        "not to include unknown field 'bogus'.",
    ),
    "misspelt secret field": ErrorCase(
        post_data(lambda c: {"oauth2Token": {"scopes": [], "accesToken": c.secret("misspelt")}}),
        "not to include unknown field 'accesToken'. Did you mean 'accessToken' or 'refreshToken'?",
    ),
    "missing field beside secret": ErrorCase(
        post_data(lambda c: {"basicAuth": {"password": c.secret("missing")}}),
        "to include required field 'username'.",
    ),
    "two one-of keys": ErrorCase(
        post_data(lambda c: {"string": {"value": c.secret("one")}, "binary": {"valueBase64": c.secret("two")}}),
        "Variable '$data' has invalid value: Within OneOf Input Object type 'CredentialDataInput', exactly one field must be specified, "
        "and the value for that field must be non-null.",
    ),
    "secret as enum value": ErrorCase(
        post_input(lambda d, c: set_path(d, ("authSchemeConfigs", 0, "apiKey", "in"), c.secret("enum"))),
        "at .authSchemeConfigs[0].apiKey.in: The value is not a member of the 'ParameterLocation' enum.",
    ),
    "secret as ULID": ErrorCase(
        post_input(lambda d, c: d["connections"][0]["credentials"]["action"].append({"authSchemeConfigId": "api", "credentialId": c.secret("ulid")})),
        "at .connections[0].credentials.action[8].credentialId: Expected value of type 'ULID'",
    ),
    "secret as timestamp": ErrorCase(
        post_input(lambda d, c: set_path(d["connections"][0]["credentials"]["action"][0], ("credential", "expiresAt"), c.secret("time"))),
        "at .connections[0].credentials.action[0].credential.expiresAt: Expected value of type 'DateTime'",
    ),
    "secret as boolean": ErrorCase(post_input(lambda d, c: set_path(d, ("public",), c.secret("bool"))), "at .public: Boolean cannot represent a non boolean value."),
    "secret as binary for api key": ErrorCase(
        post_data(lambda c: {"binary": {"valueBase64": c.secret("binary")}}),
        '"field":"connections[0].credentials.action[0].credential.data","message":"is a binary credential, which cannot serve the api-key config',
    ),
    "over-long secret": ErrorCase(
        post_data(lambda c: {"string": {"value": c.secret("long") + "x" * 70_000}}),
        f'"field":"{STRING_VALUE}","message":"is {len("CANARY_") + 16 + len("_long") + 70_000} characters long; the maximum is 65536."',
    ),
    "secret with NUL byte": ErrorCase(
        post_data(lambda c: {"string": {"value": c.secret("nul") + "\x00"}}),
        f'"field":"{STRING_VALUE}","message":"must not contain NUL bytes (U+0000)."',
    ),
    "deeply nested secret": ErrorCase(
        post_data(lambda c: {"string": {"value": nested_list(200, c.secret("deep"))}}),
        "at .string.value: String cannot represent a non string value.",
    ),
    "whole input invalid": ErrorCase(
        post_input(lambda d, c: set_path(d, ("name",), "")),
        '"code":"INVALID_ARGUMENT","message":"The input is invalid; see `fields` for each problem.","details":"","fields":[{"field":"name","message":"must not be empty."}]',
    ),
    "grant secret with invalid grant": ErrorCase(
        post_input(lambda d, c: set_path(d, ("authSchemeConfigs", 2, "oauth2", "grant", "authorizationCode", "credentialId"), "01ARZ3NDEKTSV4RRFFQ69G5FAV")),
        '"field":"authSchemeConfigs[2].oauth2.grant.authorizationCode.organisationId"',
    ),
    "grant secret not a string": ErrorCase(
        post_input(lambda d, c: set_path(d, ("authSchemeConfigs", 2, "oauth2", "grant", "authorizationCode", "clientSecret"), [c.secret("grant")])),
        "at .authSchemeConfigs[2].oauth2.grant.authorizationCode.clientSecret: String cannot represent a non string value.",
    ),
    "inline list instead of string": ErrorCase(
        post_document(lambda t, c: inline_create('{basicAuth: {username: "u", password: ["%s"]}}' % c.secret("inline_list"))),
        "String cannot represent a non string value.",
    ),
    "inline unknown field beside secret": ErrorCase(
        post_document(lambda t, c: inline_create('{string: {value: "%s", extra: 1}}' % c.secret("inline_extra"))),
        "Expected value of type 'CredentialDataStringInput' not to include unknown field 'extra'.",
    ),
    "inline wrong type beside secret": ErrorCase(
        post_document(lambda t, c: inline_create('{basicAuth: {username: 5, password: "%s"}}' % c.secret("inline_type"))),
        "String cannot represent a non string value.",
    ),
    "inline secret as enum name": ErrorCase(
        post_document(lambda t, c: inline_create("{string: {value: %s}}" % c.secret("inline_enum"))),
        "String cannot represent a non string value.",
    ),
    "inline secret after syntax error": ErrorCase(
        post_document(lambda t, c: inline_create('{string: {value: "x" "%s"}}' % c.secret("syntax"))),
        "Syntax Error: Expected Name, found String.",
    ),
    "inline secret as unexpected name": ErrorCase(
        post_document(lambda t, c: "{ __typename } %s" % c.secret("name")),
        "Syntax Error: Unexpected Name.",
    ),
    "secret in unused variable": ErrorCase(
        lambda t, c: t.post("query Unused($x: String) { __typename }", {"x": c.secret("unused")}),
        "Variable '$x' is never used in operation 'Unused'.",
    ),
    "secret as page size": ErrorCase(
        lambda t, c: t.post("query Page($o: ULID!, $n: Int) { connectors(organisationId: $o, first: $n) { totalCount } }", {"o": t.organisation_id, "n": c.secret("int")}),
        "Variable '$n' has invalid value: Int cannot represent non-integer value.",
    ),
    "secret as node id object": ErrorCase(
        lambda t, c: t.post("query Node($id: ID!) { node(id: $id) { id } }", {"id": {"key": c.secret("id")}}),
        "Variable '$id' has invalid value: ID cannot represent value.",
    ),
    "secret as organisation id": ErrorCase(
        lambda t, c: t.post("query Page($o: ULID!) { connectors(organisationId: $o) { totalCount } }", {"o": c.secret("organisation")}),
        "Variable '$o' has invalid value: Expected value of type 'ULID', but encountered error 'Expected a ULID: the value must be a 26-character ULID",
    ),
    "secret in truncated JSON": ErrorCase(
        post_raw(lambda t, c: b'{"query": "query { __typename }", "variables": {"x": "' + c.secret("json").encode()),
        "The request body is not valid JSON.",
        400,
    ),
    "secret in variables array": ErrorCase(
        post_raw(lambda t, c: json.dumps({"query": "query { __typename }", "variables": [c.secret("array")]}).encode()),
        "The `variables` parameter must be a JSON object or null.",
        400,
    ),
    "secret in oversized body": ErrorCase(
        post_raw(lambda t, c: json.dumps({"query": "query { __typename }", "variables": {"x": c.secret("big") + "x" * (17 * 1024 * 1024)}}).encode()),
        "The request body is larger than ",
        413,
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_error_never_echoes_secret(tenant: Tenant, canaries: Canaries, logs: LogCapture, case: ErrorCase) -> None:
    response = case.send(tenant, canaries)
    counts = ok(tenant.post(COUNTS, {"organisationId": tenant.organisation_id}))

    assert response.status_code == case.status, response.text
    assert case.expected in response.text
    assert "Traceback" not in response.text
    assert "INTERNAL" not in response.text
    assert counts == {"connectors": {"totalCount": 0}, "credentials": {"totalCount": 0}}
    assert_nowhere(canaries.secret_marker, tenant.server, logs, [response])


def test_get_mutation_secret_not_logged(tenant: Tenant, canaries: Canaries, logs: LogCapture) -> None:
    document = inline_create('{string: {value: "%s"}}' % canaries.secret("get"))
    response = tenant.client.get(
        tenant.server.graphql_url,
        params={"query": document, "variables": json.dumps({"organisationId": tenant.organisation_id})},
        headers={"Authorization": f"Bearer {tenant.api_key}"},
    )

    assert response.status_code == 405
    assert_nowhere(canaries.secret_marker, tenant.server, logs, [response])
