"""Bad input gets a clear error that names the field, never a 500, a trace or a partial write."""

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, Tenant, make_tenant, sqlite_settings, start_server
from tests.documents import CREATE_CONNECTOR

# Text that only an unmasked failure would put in a response.
LEAK_MARKERS = ("Traceback", 'File "', "SELECT", "INSERT", "sqlite", "sqlalchemy", "asyncpg", "postgres")

VALID_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
ULID_ERROR = "Expected value of type 'ULID', but encountered error 'Expected a ULID: the value must be a 26-character ULID in Crockford base32 (digits and letters other than I, L, O and U).'."

COUNTS = """
query Counts($organisationId: ULID!) {
  connectors(organisationId: $organisationId) { totalCount }
  credentials(organisationId: $organisationId) { totalCount }
}
"""

CONNECTOR = """
query Connector($organisationId: ULID!, $id: ULID!) {
  connector(organisationId: $organisationId, id: $id) { id organisationId name }
}
"""

CONNECTORS_PAGE = """
query Connectors($organisationId: ULID!, $first: Int, $after: String, $last: Int, $before: String) {
  connectors(organisationId: $organisationId, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { startCursor endCursor }
  }
}
"""

CREDENTIALS_PAGE = """
query Credentials($organisationId: ULID!, $first: Int, $after: String, $last: Int, $before: String) {
  credentials(organisationId: $organisationId, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { startCursor endCursor }
  }
}
"""


def valid_input() -> dict[str, Any]:
    return {
        "name": "Weather",
        "baseUrl": "https://api.example.com",
        "tags": [{"key": "area", "values": ["weather"]}],
        "authSchemeConfigs": [
            {"apiKey": {"id": "key", "description": "", "name": "X-Api-Key", "in": "HEADER"}},
            {
                "oauth2": {
                    "id": "oauth",
                    "description": "",
                    "authorizeUrl": "https://auth.example.com/authorize",
                    "tokenUrl": "https://auth.example.com/token",
                    "scopes": [{"name": "read"}, {"name": "write"}],
                    "defaultScopes": ["read"],
                    "grant": {"authorizationCode": {"clientId": "client", "clientSecret": "client-secret"}},
                }
            },
            {"certificate": {"id": "cert", "description": ""}},
        ],
        "connections": [
            {
                "name": "main",
                "credentials": {"action": [{"authSchemeConfigId": "key", "credential": {"name": "key", "data": {"string": {"value": "secret"}}}}]},
            }
        ],
    }


def assert_clean(response: httpx.Response) -> None:
    assert response.status_code != 500
    for marker in LEAK_MARKERS:
        assert marker not in response.text, f"{marker!r} in response: {response.text[:2000]}"


def assert_nothing_written(tenant: Tenant) -> None:
    counts = tenant.graphql(COUNTS, {"organisationId": tenant.organisation_id})

    assert counts == {"connectors": {"totalCount": 0}, "credentials": {"totalCount": 0}}


def request_error(response: httpx.Response) -> str:
    """Return the message of the one error of a request that did not execute."""
    assert_clean(response)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" not in body, body
    assert len(body["errors"]) == 1, body["errors"]
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    return body["errors"][0]["message"]


def create(tenant: Tenant, definition: dict[str, Any], organisation_id: str | None = None) -> httpx.Response:
    return tenant.post(CREATE_CONNECTOR, {"organisationId": organisation_id or tenant.organisation_id, "input": definition})


def create_error(tenant: Tenant, definition: dict[str, Any]) -> dict[str, Any]:
    """Return the Error of a create that must fail validation."""
    return error_of(create(tenant, definition))


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert_clean(response)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    result = body["data"]["createHTTPConnector"]
    assert result["__typename"] == "Error", result
    return result


def raw_post(tenant: Tenant, content: bytes, content_type: str = "application/json") -> httpx.Response:
    headers = {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": content_type}
    return tenant.client.post(tenant.server.graphql_url, content=content, headers=headers)


def nested_list_json(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


def assert_server_alive(tenant: Tenant) -> None:
    assert tenant.graphql("query Alive { __typename }") == {"__typename": "Query"}


# ---------------------------------------------------------------- request bodies

BODY_CASES = {
    "malformed JSON": (b'{"query": "{ __typename }"', 400, "The request body is not valid JSON."),
    "JSON array": (
        b'[{"query": "{ __typename }"}]',
        400,
        "Batched requests (a JSON array body) are turned off. Send one JSON object per request, or set CONNECT_GATEWAY_MAX_BATCH_OPERATIONS to allow them.",
    ),
    "JSON string": (b'"{ __typename }"', 400, "The request body must be a JSON object with a `query` string."),
    "JSON null": (b"null", 400, "The request body must be a JSON object with a `query` string."),
    "empty body": (b"", 400, "The request body is not valid JSON."),
    "query not a string": (b'{"query": 5}', 400, "The `query` parameter is required and must be a non-empty string."),
    "variables a string": (b'{"query": "{ __typename }", "variables": "{}"}', 400, "The `variables` parameter must be a JSON object or null."),
    "operationName a number": (b'{"query": "{ __typename }", "operationName": 1}', 400, "The `operationName` parameter must be a string or null."),
    "invalid UTF-8": (b'{"query": "\xff\xfe"}', 400, "The request body is not valid JSON."),
}


@pytest.mark.parametrize("case", BODY_CASES.values(), ids=BODY_CASES.keys())
def test_bad_body_is_rejected(tenant: Tenant, case: tuple[bytes, int, str]) -> None:
    content, status, message = case

    response = raw_post(tenant, content)

    assert_clean(response)
    assert response.status_code == status
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    assert_server_alive(tenant)


def test_non_json_content_type_rejected(tenant: Tenant) -> None:
    response = raw_post(tenant, b"query { __typename }", content_type="application/graphql")

    assert response.status_code == 415
    assert response.json()["errors"][0]["message"] == "POST requests must have Content-Type: application/json."


def test_body_over_limit_rejected(tenant: Tenant) -> None:
    content = json.dumps({"query": "query Big { __typename }", "variables": {"padding": "x" * (1024 * 1024)}}).encode()

    response = raw_post(tenant, content)

    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == "The request body is larger than 1048576 bytes (CONNECT_GATEWAY_MAX_BODY_BYTES)."
    assert_server_alive(tenant)


# ---------------------------------------------------------------- coercion of variables and literals


def test_unknown_input_field_named(tenant: Tenant) -> None:
    definition = valid_input()
    definition["connections"][0]["credentials"]["action"][0]["credential"]["data"]["string"]["bogus"] = 1

    message = request_error(create(tenant, definition))

    assert message == (
        "Variable '$input' has invalid value at .connections[0].credentials.action[0].credential.data.string: "
        "Expected value of type 'CredentialDataStringInput' not to include unknown field 'bogus'."
    )
    assert_nothing_written(tenant)


def test_unknown_literal_field_named(tenant: Tenant) -> None:
    document = (
        'mutation Create($organisationId: ULID!) { createHTTPConnector(organisationId: $organisationId, input: '
        '{name: "W", baseUrl: "https://api.example.com", authSchemeConfigs: [], connections: [], bogus: 1}) { __typename } }'
    )

    response = tenant.post(document, {"organisationId": tenant.organisation_id})

    assert request_error(response) == "Expected value of type 'HTTPConnectorCreateInput' not to include unknown field 'bogus'. Did you mean 'tags'?"
    assert response.json()["errors"][0]["locations"] == [{"line": 1, "column": document.index("bogus") + 1}]
    assert_nothing_written(tenant)


WRONG_TYPES = {
    "name number": (("name",), 5, "at .name: String cannot represent a non string value."),
    "public string": (("public",), "yes", "at .public: Boolean cannot represent a non boolean value."),
    "tags object": (("tags",), {"key": "a"}, "at .tags: Expected value of type 'TagInput' to include required field 'values'."),
    "location unknown": (("authSchemeConfigs", 0, "apiKey", "in"), "BODY", "at .authSchemeConfigs[0].apiKey.in: The value is not a member of the 'ParameterLocation' enum."),
    "scopes string": (("authSchemeConfigs", 1, "oauth2", "scopes"), "read", "at .authSchemeConfigs[1].oauth2.scopes: Expected value of type 'OAuth2ScopeInput' to be an object."),
    "expiresAt no zone": (
        ("connections", 0, "credentials", "action", 0, "credential", "expiresAt"),
        "2030-01-01T00:00:00",
        "at .connections[0].credentials.action[0].credential.expiresAt: Expected value of type 'DateTime', but encountered error "
        "'Expected an RFC 3339 timestamp with a timezone, such as 2026-01-31T12:00:00Z.'.",
    ),
    "expiresAt out of range": (
        ("connections", 0, "credentials", "action", 0, "credential", "expiresAt"),
        "0001-01-01T00:00:00+14:00",
        "at .connections[0].credentials.action[0].credential.expiresAt: Expected value of type 'DateTime', but encountered error "
        "'Expected an RFC 3339 timestamp with a timezone, such as 2026-01-31T12:00:00Z. The timestamp is outside the range of years 1 to 9999 in UTC.'.",
    ),
    "credentialId number": (("connections", 0, "credentials", "action", 0, "credentialId"), 7, f"at .connections[0].credentials.action[0].credentialId: {ULID_ERROR}"),
}


@pytest.mark.parametrize("case", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_type_names_field(tenant: Tenant, case: tuple[tuple[Any, ...], Any, str]) -> None:
    path, value, expected = case
    definition = valid_input()
    target = definition
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    message = request_error(create(tenant, definition))

    assert message == f"Variable '$input' has invalid value {expected}"
    assert_nothing_written(tenant)


def test_literal_out_of_range_timestamp(tenant: Tenant) -> None:
    document = (
        'mutation Create($organisationId: ULID!) { createHTTPConnector(organisationId: $organisationId, input: {name: "W", '
        'baseUrl: "https://api.example.com", authSchemeConfigs: [{apiKey: {id: "key", description: "", name: "K", in: HEADER}}], '
        'connections: [{name: "main", credentials: {action: [{authSchemeConfigId: "key", credential: {name: "k", '
        'expiresAt: "0001-01-01T00:00:00+14:00", data: {string: {value: "v"}}}}]}}]}) { __typename } }'
    )

    response = tenant.post(document, {"organisationId": tenant.organisation_id})

    assert request_error(response) == (
        "Argument 'input' has invalid value at .connections[0].credentials.action[0].credential.expiresAt: "
        "Expected value of type 'DateTime', but encountered error 'Expected an RFC 3339 timestamp with a timezone, "
        "such as 2026-01-31T12:00:00Z. The timestamp is outside the range of years 1 to 9999 in UTC.'."
    )
    assert_nothing_written(tenant)


# ---------------------------------------------------------------- ULIDs


def mixed_case(ulid: str) -> str:
    return "".join(character.lower() if index % 2 else character for index, character in enumerate(ulid))


def test_mixed_case_ulids_accepted(tenant: Tenant) -> None:
    organisation_mixed = mixed_case(tenant.organisation_id)

    created = create(tenant, valid_input(), organisation_mixed).json()["data"]["createHTTPConnector"]
    connector_id = created["id"]
    read = tenant.graphql(CONNECTOR, {"organisationId": tenant.organisation_id.lower(), "id": connector_id.lower()})["connector"]

    assert created["__typename"] == "HTTPConnector"
    assert organisation_mixed != tenant.organisation_id
    assert read == {"id": connector_id, "organisationId": tenant.organisation_id, "name": "Weather"}
    assert connector_id == connector_id.upper()


INVALID_ULIDS = {
    "Cyrillic A": VALID_ULID.replace("A", "\u0410", 1),
    "Turkish dotless i": VALID_ULID[:-1] + "\u0131",
    "long s folding to S": VALID_ULID.replace("S", "\u017f", 1),
    "fullwidth digits": "\uff10\uff11" + VALID_ULID[2:],
    "25 characters": VALID_ULID[:-1],
    "27 characters": VALID_ULID + "0",
    "empty": "",
    "letter U": VALID_ULID[:-1] + "U",
    "letter I": VALID_ULID[:-1] + "I",
    "past 2^128": "8" + VALID_ULID[1:],
    "hyphenated": VALID_ULID[:13] + "-" + VALID_ULID[14:],
    "trailing space": VALID_ULID[:-1] + " ",
}


@pytest.mark.parametrize("value", INVALID_ULIDS.values(), ids=INVALID_ULIDS.keys())
def test_invalid_ulid_rejected(tenant: Tenant, value: str) -> None:
    as_organisation = request_error(tenant.post(CONNECTOR, {"organisationId": value, "id": VALID_ULID}))
    as_id = request_error(tenant.post(CONNECTOR, {"organisationId": tenant.organisation_id, "id": value}))
    definition = valid_input()
    definition["authSchemeConfigs"][1]["oauth2"]["mtlsCredentialId"] = value
    in_input = request_error(create(tenant, definition))
    literal_document = 'query Literal { connector(organisationId: "%s", id: "%s") { id } }' % (tenant.organisation_id, value.replace('"', ""))
    as_literal = request_error(tenant.post(literal_document))

    assert as_organisation == f"Variable '$organisationId' has invalid value: {ULID_ERROR}"
    assert as_id == f"Variable '$id' has invalid value: {ULID_ERROR}"
    assert in_input == f"Variable '$input' has invalid value at .authSchemeConfigs[1].oauth2.mtlsCredentialId: {ULID_ERROR}"
    assert as_literal == ULID_ERROR
    assert tenant.graphql("query Node($id: ID!) { node(id: $id) { id } }", {"id": value}) == {"node": None}
    assert_nothing_written(tenant)


# ---------------------------------------------------------------- sizes and nesting

TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def large_body_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with raised limits, so 10 MB values and deep selections reach validation and the resolvers.

    Rate limits are off, because the cost estimate of 20 nested lists is far over any bucket.
    """
    settings = sqlite_settings(
        tmp_path_factory.mktemp("large-body"), max_body_bytes=32 * 1024 * 1024, max_query_depth=100, max_tokens=100_000, rate_limit_enabled=False
    )
    live = start_server(settings)
    yield live
    live.stop()


@pytest.fixture
def large_body_tenant(large_body_server: LiveServer, http: httpx.Client) -> Tenant:
    return make_tenant(large_body_server, http)


def test_ten_megabyte_name_rejected(large_body_tenant: Tenant) -> None:
    tenant = large_body_tenant
    definition = valid_input()
    definition["name"] = "n" * TEN_MB

    error = create_error(tenant, definition)

    assert error["code"] == "INVALID_ARGUMENT"
    assert error["fields"] == [{"field": "name", "message": f"is {TEN_MB} characters long; the maximum is 255."}]
    assert_nothing_written(tenant)


def test_ten_megabyte_secret_rejected(large_body_tenant: Tenant) -> None:
    tenant = large_body_tenant
    definition = valid_input()
    definition["connections"][0]["credentials"]["action"][0]["credential"]["data"]["string"]["value"] = "s" * TEN_MB

    response = create(tenant, definition)
    error = error_of(response)

    assert len(response.content) < 4096
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["fields"] == [
        {"field": "connections[0].credentials.action[0].credential.data.string.value", "message": f"is {TEN_MB} characters long; the maximum is 65536."}
    ]
    assert_nothing_written(tenant)


@pytest.mark.parametrize("depth", [100, 1000])
def test_deeply_nested_tag_values(tenant: Tenant, depth: int) -> None:
    definition = valid_input()
    definition["tags"] = [{"key": "area", "values": "NESTED"}]
    body = json.dumps({"query": CREATE_CONNECTOR, "variables": {"organisationId": tenant.organisation_id, "input": definition}})

    message = request_error(raw_post(tenant, body.replace('"NESTED"', nested_list_json(depth)).encode()))

    expected = {
        100: "Variable '$input' has invalid value at .tags[0].values[0]: String cannot represent a non string value.",
        1000: "Variable values are nested too deeply.",
    }
    assert message == expected[depth]
    assert_server_alive(tenant)
    assert_nothing_written(tenant)


def test_deeply_nested_selection(tenant: Tenant) -> None:
    levels = 400
    selection = "connections { connector { " * levels + "id" + " } }" * levels
    document = "query Deep { connectors(organisationId: \"%s\") { nodes { %s } } }" % (tenant.organisation_id, selection)

    response = tenant.post(document)

    assert request_error(response) == "Syntax Error: Document is nested too deeply. Parsing aborted."
    assert_server_alive(tenant)


def test_deep_but_parsable_selection_runs(large_body_tenant: Tenant) -> None:
    tenant = large_body_tenant
    levels = 20
    selection = "connections { connector { " * levels + "id" + " } }" * levels
    document = "query Deep { connectors(organisationId: \"%s\") { nodes { %s } } }" % (tenant.organisation_id, selection)

    assert tenant.graphql(document) == {"connectors": {"nodes": []}}


def test_deeply_nested_literal_list(tenant: Tenant) -> None:
    document = 'query Deep { connectors(organisationId: "%s", filter: {name: %s}) { totalCount } }' % (tenant.organisation_id, nested_list_json(3000))

    message = request_error(tenant.post(document))

    assert message == "Syntax Error: Document is nested too deeply. Parsing aborted."
    assert_server_alive(tenant)


# ---------------------------------------------------------------- one-of inputs


def config_with(one_of: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition["authSchemeConfigs"][2] = one_of

    return change


def data_with(one_of: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition["connections"][0]["credentials"]["action"][0]["credential"]["data"] = one_of

    return change


def grant_with(one_of: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition["authSchemeConfigs"][1]["oauth2"]["grant"] = one_of

    return change


def one_of_error(type_name: str) -> str:
    """Return graphql-core's message for a one-of value with no key, several keys or a null member."""
    return f"Within OneOf Input Object type '{type_name}', exactly one field must be specified, and the value for that field must be non-null."


CONFIG_PATH = "Variable '$input' has invalid value at .authSchemeConfigs[2]"
DATA_PATH = "Variable '$input' has invalid value at .connections[0].credentials.action[0].credential.data"
GRANT_PATH = "Variable '$input' has invalid value at .authSchemeConfigs[1].oauth2.grant"

ONE_OF_CASES = {
    "config null member": (config_with({"apiKey": None}), f"{CONFIG_PATH}.apiKey: {one_of_error('AuthSchemeConfigInput')}"),
    "config no key": (config_with({}), f"{CONFIG_PATH}: {one_of_error('AuthSchemeConfigInput')}"),
    "config two keys": (
        config_with({"none": {"id": "a", "description": ""}, "basicAuth": {"id": "b", "description": ""}}),
        f"{CONFIG_PATH}: {one_of_error('AuthSchemeConfigInput')}",
    ),
    "data null member": (data_with({"string": None}), f"{DATA_PATH}.string: {one_of_error('CredentialDataInput')}"),
    "data no key": (data_with({}), f"{DATA_PATH}: {one_of_error('CredentialDataInput')}"),
    "data two keys": (data_with({"string": {"value": "a"}, "none": {}}), f"{DATA_PATH}: {one_of_error('CredentialDataInput')}"),
    "grant null member": (grant_with({"password": None}), f"{GRANT_PATH}.password: {one_of_error('OAuth2GrantInput')}"),
    "grant no key": (grant_with({}), f"{GRANT_PATH}: {one_of_error('OAuth2GrantInput')}"),
    "grant two keys": (grant_with({"clientCredentials": {}, "password": {"clientId": "c"}}), f"{GRANT_PATH}: {one_of_error('OAuth2GrantInput')}"),
}


@pytest.mark.parametrize("case", ONE_OF_CASES.values(), ids=ONE_OF_CASES.keys())
def test_one_of_violation_rejected(tenant: Tenant, case: tuple[Callable[[dict[str, Any]], None], str]) -> None:
    change, expected = case
    definition = valid_input()
    change(definition)

    message = request_error(create(tenant, definition))

    assert message == expected
    assert_nothing_written(tenant)


def test_one_of_violation_names_path(tenant: Tenant) -> None:
    definition = valid_input()
    data_with({})(definition)

    message = request_error(create(tenant, definition))

    assert "at .connections[0].credentials.action[0].credential.data" in message


LITERAL_CONFIG_PATH = "Argument 'input' has invalid value at .authSchemeConfigs[0]"

ONE_OF_LITERALS = {
    "config null member": ("authSchemeConfigs: [{apiKey: null}], connections: []", f"{LITERAL_CONFIG_PATH}.apiKey: {one_of_error('AuthSchemeConfigInput')}"),
    "config no key": ("authSchemeConfigs: [{}], connections: []", f"{LITERAL_CONFIG_PATH}: {one_of_error('AuthSchemeConfigInput')}"),
    "config two keys": (
        'authSchemeConfigs: [{none: {id: "a", description: ""}, certificate: {id: "b", description: ""}}], connections: []',
        f"{LITERAL_CONFIG_PATH}: {one_of_error('AuthSchemeConfigInput')}",
    ),
}


@pytest.mark.parametrize("case", ONE_OF_LITERALS.values(), ids=ONE_OF_LITERALS.keys())
def test_one_of_literal_rejected(tenant: Tenant, case: tuple[str, str]) -> None:
    fields, expected = case
    document = (
        'mutation Create($organisationId: ULID!) { createHTTPConnector(organisationId: $organisationId, input: '
        '{name: "W", baseUrl: "https://api.example.com", %s}) { __typename } }' % fields
    )

    response = tenant.post(document, {"organisationId": tenant.organisation_id})

    assert request_error(response) == expected
    assert response.json()["errors"][0]["locations"] == [{"line": 1, "column": document.index("[{") + 2}]
    assert_nothing_written(tenant)


def test_nullable_one_of_variable_rejected(tenant: Tenant) -> None:
    document = (
        "mutation Create($organisationId: ULID!, $key: AuthSchemeConfigAPIKeyInput) { createHTTPConnector(organisationId: $organisationId, "
        'input: {name: "W", baseUrl: "https://api.example.com", authSchemeConfigs: [{apiKey: $key}], connections: []}) { __typename } }'
    )
    key = {"id": "key", "description": "", "name": "X-Api-Key", "in": "HEADER"}

    response = tenant.post(document, {"organisationId": tenant.organisation_id, "key": key})

    assert request_error(response) == "Variable 'key' must be non-nullable to be used for OneOf Input Object 'AuthSchemeConfigInput'."
    assert_nothing_written(tenant)


def test_empty_one_of_members_accepted(tenant: Tenant) -> None:
    definition = valid_input()
    definition["authSchemeConfigs"].append({"none": {"id": "open", "description": ""}})
    definition["authSchemeConfigs"].append(
        {
            "oauth2": {
                "id": "machine",
                "description": "",
                "authorizeUrl": "",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": [],
                "defaultScopes": [],
                "grant": {"clientCredentials": {}},
            }
        }
    )
    definition["connections"][0]["credentials"]["action"].append({"authSchemeConfigId": "open", "credential": {"name": "open", "data": {"none": {}}}})

    result = create(tenant, definition).json()["data"]["createHTTPConnector"]

    assert result["__typename"] == "HTTPConnector", result


# ---------------------------------------------------------------- pagination


def page_error(response: httpx.Response) -> tuple[str, list[dict[str, str]]]:
    """Return the message and fields of the one error of a page query."""
    assert_clean(response)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert len(body["errors"]) == 1, body["errors"]
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    return error["message"], error["extensions"]["fields"]


PAGE_ARGUMENTS = {
    "first negative": ({"first": -1}, "first", "must be between 0 and 100."),
    "last negative": ({"last": -5}, "last", "must be between 0 and 100."),
    "first and last": (
        {"first": 1, "last": 1},
        "last",
        "cannot be combined with first; page forwards with first/after or backwards with last/before.",
    ),
    "malformed after": ({"after": "not a cursor!"}, "after", "is not a cursor issued by this API; pass endCursor or startCursor from a previous page."),
    "malformed before": ({"before": "e30"}, "before", "is not a cursor issued by this API; pass endCursor or startCursor from a previous page."),
    "huge cursor": ({"after": "A" * 100_000}, "after", "is not a cursor issued by this API; pass endCursor or startCursor from a previous page."),
}


@pytest.mark.parametrize("document", [CONNECTORS_PAGE, CREDENTIALS_PAGE], ids=["connectors", "credentials"])
@pytest.mark.parametrize("case", PAGE_ARGUMENTS.values(), ids=PAGE_ARGUMENTS.keys())
def test_bad_page_argument_named(tenant: Tenant, document: str, case: tuple[dict[str, Any], str, str]) -> None:
    arguments, field, field_message = case

    message, fields = page_error(tenant.post(document, {"organisationId": tenant.organisation_id} | arguments))

    assert message == f"{field} {field_message}"
    assert fields == [{"field": field, "message": field_message}]


@pytest.mark.parametrize("list_field", ["connectors", "credentials"])
@pytest.mark.parametrize("argument", ["first", "last"])
def test_page_size_over_limit_named(tenant: Tenant, list_field: str, argument: str) -> None:
    document = CONNECTORS_PAGE if list_field == "connectors" else CREDENTIALS_PAGE

    response = tenant.post(document, {"organisationId": tenant.organisation_id, argument: 101})

    assert_clean(response)
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": f"`{argument}` on field `{list_field}` is 101; the maximum is 100 (CONNECT_GATEWAY_MAX_PAGE_SIZE).",
                "extensions": {"code": "LIMIT_EXCEEDED", "limit": "pageSize"},
            }
        ]
    }


def end_cursor(tenant: Tenant, document: str, key: str) -> str:
    page = tenant.graphql(document, {"organisationId": tenant.organisation_id, "first": 1})[key]
    assert page["totalCount"] >= 1
    return page["pageInfo"]["endCursor"]


FOREIGN_CURSOR = "was issued for a different list, organisation or filter; start again from the first page."


def test_cursor_of_other_organisation_rejected(tenant: Tenant, other_tenant: Tenant) -> None:
    assert create(other_tenant, valid_input()).json()["data"]["createHTTPConnector"]["__typename"] == "HTTPConnector"
    connector_cursor = end_cursor(other_tenant, CONNECTORS_PAGE, "connectors")
    credential_cursor = end_cursor(other_tenant, CREDENTIALS_PAGE, "credentials")

    on_connectors = page_error(tenant.post(CONNECTORS_PAGE, {"organisationId": tenant.organisation_id, "after": connector_cursor}))
    on_credentials = page_error(tenant.post(CREDENTIALS_PAGE, {"organisationId": tenant.organisation_id, "before": credential_cursor}))

    assert on_connectors == (f"after {FOREIGN_CURSOR}", [{"field": "after", "message": FOREIGN_CURSOR}])
    assert on_credentials == (f"before {FOREIGN_CURSOR}", [{"field": "before", "message": FOREIGN_CURSOR}])


def test_cursor_of_other_list_rejected(tenant: Tenant) -> None:
    assert create(tenant, valid_input()).json()["data"]["createHTTPConnector"]["__typename"] == "HTTPConnector"
    credential_cursor = end_cursor(tenant, CREDENTIALS_PAGE, "credentials")
    connector_cursor = end_cursor(tenant, CONNECTORS_PAGE, "connectors")

    on_connectors = page_error(tenant.post(CONNECTORS_PAGE, {"organisationId": tenant.organisation_id, "after": credential_cursor}))
    on_credentials = page_error(tenant.post(CREDENTIALS_PAGE, {"organisationId": tenant.organisation_id, "after": connector_cursor}))

    assert on_connectors == (f"after {FOREIGN_CURSOR}", [{"field": "after", "message": FOREIGN_CURSOR}])
    assert on_credentials == (f"after {FOREIGN_CURSOR}", [{"field": "after", "message": FOREIGN_CURSOR}])


def test_cursor_with_out_of_range_time_rejected(tenant: Tenant) -> None:
    assert create(tenant, valid_input()).json()["data"]["createHTTPConnector"]["__typename"] == "HTTPConnector"
    cursor = end_cursor(tenant, CONNECTORS_PAGE, "connectors")
    version, scope, _, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    forged = json.dumps([version, scope, "0001-01-01T00:00:00+14:00", row_id], separators=(",", ":"))
    forged_cursor = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")

    message, fields = page_error(tenant.post(CONNECTORS_PAGE, {"organisationId": tenant.organisation_id, "after": forged_cursor}))

    assert message == "after is not a cursor issued by this API; pass endCursor or startCursor from a previous page."
    assert fields == [{"field": "after", "message": "is not a cursor issued by this API; pass endCursor or startCursor from a previous page."}]


# ---------------------------------------------------------------- validation rules of createHTTPConnector


def set_value(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        target = definition
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def link(definition: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return definition["connections"][0]["credentials"]["action"][index]


def oauth2(definition: dict[str, Any]) -> dict[str, Any]:
    return definition["authSchemeConfigs"][1]["oauth2"]


def drop_certificate_and_enable_mtls(definition: dict[str, Any]) -> None:
    del definition["authSchemeConfigs"][2]
    oauth2(definition)["mtlsEnabled"] = True


def add_connection(name: str) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition["connections"].append({"name": name})

    return change


ABSOLUTE_URL = "must be an absolute http or https URL, such as https://api.example.com."
USERINFO = "must not contain a user name or password before the host (user:password@); store them in a credential instead."
TOKEN_RULE = "use only ASCII letters, digits and the characters !#$%&'*+-.^_`|~, without spaces, colons or other separators."
HEADER_NAME = f"is not a valid HTTP header name: {TOKEN_RULE}"
COOKIE_NAME = f"is not a valid cookie name: {TOKEN_RULE}"
HMAC_CONFIG = {"id": "sig", "description": "", "name": "X-Signature", "in": "HEADER", "algorithm": "SHA256", "digestInputs": ["BODY"]}
EXACTLY_ONE = "must set exactly one of credentialId (an existing credential) and credential (a new one)."
GRANT_PAIR = "is required when the other of credentialId and organisationId is set; give both to reuse a client credential, or neither to create one."

RULES = {
    "empty name": (set_value(("name",), ""), [("name", "must not be empty.")]),
    "blank name": (set_value(("name",), "   "), [("name", "must not be empty.")]),
    "over-long name": (set_value(("name",), "n" * 256), [("name", "is 256 characters long; the maximum is 255.")]),
    "NUL in name": (set_value(("name",), "Wea\x00ther"), [("name", "must not contain NUL bytes (U+0000).")]),
    "relative baseUrl": (set_value(("baseUrl",), "/v1"), [("baseUrl", ABSOLUTE_URL)]),
    "ftp baseUrl": (set_value(("baseUrl",), "ftp://files.example.com"), [("baseUrl", ABSOLUTE_URL)]),
    "baseUrl without host": (set_value(("baseUrl",), "https://"), [("baseUrl", ABSOLUTE_URL)]),
    "relative tokenUrl": (set_value(("authSchemeConfigs", 1, "oauth2", "tokenUrl"), "/token"), [("authSchemeConfigs[1].oauth2.tokenUrl", ABSOLUTE_URL)]),
    "empty authorizeUrl for code grant": (
        set_value(("authSchemeConfigs", 1, "oauth2", "authorizeUrl"), ""),
        [("authSchemeConfigs[1].oauth2.authorizeUrl", ABSOLUTE_URL)],
    ),
    "javascript documentationURL": (set_value(("documentationURL",), "javascript:alert(1)"), [("documentationURL", ABSOLUTE_URL)]),
    "user and password in baseUrl": (set_value(("baseUrl",), "https://admin:hunter2@api.example.com/v1"), [("baseUrl", USERINFO)]),
    "user in tokenUrl": (
        set_value(("authSchemeConfigs", 1, "oauth2", "tokenUrl"), "https://client@auth.example.com/token"),
        [("authSchemeConfigs[1].oauth2.tokenUrl", USERINFO)],
    ),
    "user and password in imageURL": (set_value(("imageURL",), "https://me:pw@cdn.example.com/logo.png"), [("imageURL", USERINFO)]),
    "space in api-key header name": (set_value(("authSchemeConfigs", 0, "apiKey", "name"), "X Api Key"), [("authSchemeConfigs[0].apiKey.name", HEADER_NAME)]),
    "colon in api-key header name": (set_value(("authSchemeConfigs", 0, "apiKey", "name"), "X-Api-Key:"), [("authSchemeConfigs[0].apiKey.name", HEADER_NAME)]),
    "non-ASCII api-key header name": (set_value(("authSchemeConfigs", 0, "apiKey", "name"), "X-Schlüssel"), [("authSchemeConfigs[0].apiKey.name", HEADER_NAME)]),
    "semicolon in cookie name": (
        set_value(("authSchemeConfigs", 0, "apiKey"), {"id": "key", "description": "", "name": "session;id", "in": "COOKIE"}),
        [("authSchemeConfigs[0].apiKey.name", COOKIE_NAME)],
    ),
    "newline in hmac header name": (
        set_value(("authSchemeConfigs", 2), {"hmac": HMAC_CONFIG | {"name": "X-Signature\r\nX-Injected"}}),
        [("authSchemeConfigs[2].hmac.name", HEADER_NAME)],
    ),
    "duplicate config id": (
        set_value(("authSchemeConfigs", 2), {"certificate": {"id": "key", "description": ""}}),
        [("authSchemeConfigs[2].certificate.id", "repeats the id 'key' of authSchemeConfigs[0]; ids must be unique within the connector.")],
    ),
    "repeated connection name": (
        add_connection("main"),
        [("connections[1].name", "repeats the name of connections[0]; connection names must be unique within the connector.")],
    ),
    "unknown authSchemeConfigId": (
        set_value(("connections", 0, "credentials", "action", 0, "authSchemeConfigId"), "nope"),
        [("connections[0].credentials.action[0].authSchemeConfigId", "names no auth scheme config of this connector; use one of: key, oauth, cert.")],
    ),
    "credential cannot serve config": (
        set_value(("connections", 0, "credentials", "action", 0, "credential", "data"), {"basicAuth": {"username": "u", "password": "p"}}),
        [("connections[0].credentials.action[0].credential.data", "is a basic-auth credential, which cannot serve the api-key config 'key'; it takes: string.")],
    ),
    "both credentialId and credential": (
        set_value(("connections", 0, "credentials", "action", 0, "credentialId"), VALID_ULID),
        [("connections[0].credentials.action[0]", EXACTLY_ONE)],
    ),
    "neither credentialId nor credential": (
        set_value(("connections", 0, "credentials", "action", 0), {"authSchemeConfigId": "key"}),
        [("connections[0].credentials.action[0]", EXACTLY_ONE)],
    ),
    "default scope not in scopes": (
        set_value(("authSchemeConfigs", 1, "oauth2", "defaultScopes"), ["read", "admin"]),
        [("authSchemeConfigs[1].oauth2.defaultScopes[1]", "names the scope 'admin', which is not listed in scopes.")],
    ),
    "grant with only credentialId": (
        set_value(("authSchemeConfigs", 1, "oauth2", "grant"), {"authorizationCode": {"credentialId": VALID_ULID}}),
        [("authSchemeConfigs[1].oauth2.grant.authorizationCode.organisationId", GRANT_PAIR)],
    ),
    "grant with only organisationId": (
        set_value(("authSchemeConfigs", 1, "oauth2", "grant"), {"password": {"organisationId": VALID_ULID, "clientSecret": "s"}}),
        [("authSchemeConfigs[1].oauth2.grant.password.credentialId", GRANT_PAIR)],
    ),
    "grant without client": (
        set_value(("authSchemeConfigs", 1, "oauth2", "grant"), {"authorizationCode": {}}),
        [("authSchemeConfigs[1].oauth2.grant.authorizationCode.clientId", "is required unless credentialId and organisationId name an existing oauth2-client credential.")],
    ),
    "mtls without certificate config": (
        drop_certificate_and_enable_mtls,
        [("authSchemeConfigs[1].oauth2.mtlsEnabled", "is true, but no certificate auth scheme config exists to link; add one or set mtlsCredentialId.")],
    ),
    "empty tag key": (set_value(("tags",), [{"key": "", "values": ["a"]}]), [("tags[0].key", "must not be empty.")]),
    "NUL in tag value": (set_value(("tags",), [{"key": "area", "values": ["a\x00"]}]), [("tags[0].values[0]", "must not contain NUL bytes (U+0000).")]),
    "NUL in secret": (
        set_value(("connections", 0, "credentials", "action", 0, "credential", "data"), {"string": {"value": "se\x00cret"}}),
        [("connections[0].credentials.action[0].credential.data.string.value", "must not contain NUL bytes (U+0000).")],
    ),
    "duplicate connection variable": (
        set_value(("connectionVariables",), [{"name": "region", "value": "eu"}, {"name": "region", "value": "us"}]),
        [("connectionVariables[1].name", "repeats an earlier variable name; variable names must be unique.")],
    ),
}


@pytest.mark.parametrize("case", RULES.values(), ids=RULES.keys())
def test_validation_rule_reported(tenant: Tenant, case: tuple[Callable[[dict[str, Any]], None], list[tuple[str, str]]]) -> None:
    change, expected = case
    definition = valid_input()
    change(definition)

    error = create_error(tenant, definition)

    assert error["code"] == "INVALID_ARGUMENT"
    assert error["message"] == "The input is invalid; see `fields` for each problem."
    assert [(item["field"], item["message"]) for item in error["fields"]] == expected
    assert_nothing_written(tenant)


def test_userinfo_password_not_echoed(tenant: Tenant) -> None:
    definition = valid_input()
    definition["baseUrl"] = "https://admin:userinfo-password-canary@api.example.com"

    response = create(tenant, definition)

    assert error_of(response)["fields"] == [{"field": "baseUrl", "message": USERINFO}]
    assert "userinfo-password-canary" not in response.text


def test_query_parameter_name_not_a_token(tenant: Tenant) -> None:
    definition = valid_input()
    definition["authSchemeConfigs"][0]["apiKey"] |= {"name": "api key[0]", "in": "QUERY"}

    result = create(tenant, definition).json()["data"]["createHTTPConnector"]

    assert result["__typename"] == "HTTPConnector", result


COMBINED_RULES = (
    "empty name",
    "relative baseUrl",
    "relative tokenUrl",
    "empty authorizeUrl for code grant",
    "duplicate config id",
    "repeated connection name",
    "unknown authSchemeConfigId",
    "both credentialId and credential",
    "default scope not in scopes",
    "empty tag key",
    "duplicate connection variable",
)


def test_all_problems_reported_at_once(tenant: Tenant) -> None:
    definition = valid_input()
    for name in COMBINED_RULES:
        change, _ = RULES[name]
        change(definition)

    error = create_error(tenant, definition)

    fields = [item["field"] for item in error["fields"]]
    expected = [field for name in COMBINED_RULES for field, _ in RULES[name][1]]
    assert error["code"] == "INVALID_ARGUMENT"
    assert sorted(fields) == sorted(expected)
    assert_nothing_written(tenant)


def test_empty_authorize_url_allowed_for_client_credentials(tenant: Tenant) -> None:
    definition = valid_input()
    oauth2(definition)["authorizeUrl"] = ""
    oauth2(definition)["grant"] = {"clientCredentials": {}}

    result = create(tenant, definition).json()["data"]["createHTTPConnector"]

    assert result["__typename"] == "HTTPConnector", result
