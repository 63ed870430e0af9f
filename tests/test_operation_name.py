"""An operationName that selects no operation of the document is a request error, never a 500 or a guess."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, Tenant, make_tenant, sqlite_settings, start_server, without_cost

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# A request error has HTTP 400 under the GraphQL response media type and 200 under plain JSON.
STATUS_BY_MEDIA_TYPE = {GRAPHQL_RESPONSE_JSON: 400, JSON: 200}

TWO_QUERIES = "query First { first: __typename } query Second { second: __typename }"

CREATE_TWO = """
mutation CreateA($organisationId: ULID!) {
  createCredential(organisationId: $organisationId, input: {name: "a", data: {none: {}}}) { __typename }
}
mutation CreateB($organisationId: ULID!) {
  createCredential(organisationId: $organisationId, input: {name: "b", data: {none: {}}}) { __typename }
}
"""

CREDENTIAL_COUNT = "query Count($organisationId: ULID!) { credentials(organisationId: $organisationId) { totalCount } }"

# Each case: the document, the operationName sent, and the message expected.
SELECTION_ERRORS = {
    "unknown name": (
        TWO_QUERIES,
        "Third",
        'Operation "Third" not found in the document. Its operations are "First", "Second". Set operationName to one of them.',
    ),
    "unknown name, one operation": (
        "query First { __typename }",
        "Second",
        'Operation "Second" not found in the document. Its only operation is "First". '
        "Set operationName to that name, or leave it out.",
    ),
    "name for an anonymous operation": (
        "{ __typename }",
        "First",
        'Operation "First" not found in the document. Its only operation has no name, so leave out operationName to run it.',
    ),
    "several operations, no name": (
        TWO_QUERIES,
        None,
        'The document contains 2 operations ("First", "Second"), so operationName is required. Set it to the name of the one to run.',
    ),
    "fragments only": (
        "fragment Name on Query { __typename }",
        None,
        "The document contains no operation to run. Add a query or mutation.",
    ),
    "name with quotes": (
        "query First { __typename }",
        'Fir"st',
        'Operation "Fir\\"st" not found in the document. Its only operation is "First". '
        "Set operationName to that name, or leave it out.",
    ),
}


def assert_request_error(response: httpx.Response, media_type: str, message: str) -> None:
    assert response.status_code == STATUS_BY_MEDIA_TYPE[media_type], response.text
    assert response.headers["content-type"] == media_type
    body = response.json()
    assert "data" not in body, body
    assert body["errors"] == [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]


def post(tenant: Tenant, body: dict[str, Any], media_type: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tenant.api_key}", "Accept": media_type}
    return tenant.client.post(tenant.server.graphql_url, json=body, headers=headers)


def get(tenant: Tenant, params: dict[str, str], media_type: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tenant.api_key}", "Accept": media_type}
    return tenant.client.get(tenant.server.graphql_url, params=params, headers=headers)


@pytest.mark.parametrize("media_type", STATUS_BY_MEDIA_TYPE)
@pytest.mark.parametrize("case", SELECTION_ERRORS.values(), ids=SELECTION_ERRORS.keys())
def test_post_selection_error(tenant: Tenant, case: tuple[str, str | None, str], media_type: str) -> None:
    document, operation_name, message = case

    response = post(tenant, {"query": document, "operationName": operation_name}, media_type)

    assert_request_error(response, media_type, message)


@pytest.mark.parametrize("media_type", STATUS_BY_MEDIA_TYPE)
@pytest.mark.parametrize("case", SELECTION_ERRORS.values(), ids=SELECTION_ERRORS.keys())
def test_get_selection_error(tenant: Tenant, case: tuple[str, str | None, str], media_type: str) -> None:
    document, operation_name, message = case
    params = {"query": document} | ({"operationName": operation_name} if operation_name is not None else {})

    response = get(tenant, params, media_type)

    assert_request_error(response, media_type, message)


@pytest.mark.parametrize("media_type", STATUS_BY_MEDIA_TYPE)
def test_named_operation_runs(tenant: Tenant, media_type: str) -> None:
    post_response = post(tenant, {"query": TWO_QUERIES, "operationName": "Second"}, media_type)
    get_response = get(tenant, {"query": TWO_QUERIES, "operationName": "Second"}, media_type)

    assert post_response.status_code == 200, post_response.text
    assert without_cost(post_response.json()) == {"data": {"second": "Query"}}
    assert get_response.status_code == 200, get_response.text
    assert without_cost(get_response.json()) == {"data": {"second": "Query"}}


def test_unnamed_mutation_choice_writes_nothing(tenant: Tenant) -> None:
    variables = {"organisationId": tenant.organisation_id}

    response = post(tenant, {"query": CREATE_TWO, "variables": variables}, GRAPHQL_RESPONSE_JSON)

    assert_request_error(
        response,
        GRAPHQL_RESPONSE_JSON,
        'The document contains 2 operations ("CreateA", "CreateB"), so operationName is required. Set it to the name of the one to run.',
    )
    assert tenant.graphql(CREDENTIAL_COUNT, variables) == {"credentials": {"totalCount": 0}}


def test_unknown_mutation_name_writes_nothing(tenant: Tenant) -> None:
    variables = {"organisationId": tenant.organisation_id}

    response = post(tenant, {"query": CREATE_TWO, "variables": variables, "operationName": "CreateC"}, JSON)

    assert_request_error(
        response,
        JSON,
        'Operation "CreateC" not found in the document. Its operations are "CreateA", "CreateB". Set operationName to one of them.',
    )
    assert tenant.graphql(CREDENTIAL_COUNT, variables) == {"credentials": {"totalCount": 0}}


def test_long_name_cut_in_message(tenant: Tenant) -> None:
    response = post(tenant, {"query": "query First { __typename }", "operationName": "x" * 5000}, JSON)

    message = response.json()["errors"][0]["message"]
    assert message.startswith('Operation "' + "x" * 100 + '…" not found in the document.'), message
    assert "x" * 101 not in message


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(sqlite_settings(tmp_path_factory.mktemp("batch"), max_batch_operations=3))
    yield live
    live.stop()


@pytest.mark.parametrize("media_type", STATUS_BY_MEDIA_TYPE)
def test_batch_reports_each_selection(batch_server: LiveServer, http: httpx.Client, media_type: str) -> None:
    tenant = make_tenant(batch_server, http)
    operations = [
        {"query": TWO_QUERIES, "operationName": "First"},
        {"query": TWO_QUERIES, "operationName": "Third"},
        {"query": TWO_QUERIES},
    ]

    response = http.post(batch_server.graphql_url, json=operations, headers={"Authorization": f"Bearer {tenant.api_key}", "Accept": media_type})

    assert response.status_code == 200, response.text
    first, unknown, ambiguous = response.json()
    assert without_cost(first) == {"data": {"first": "Query"}}
    assert unknown == {
        "errors": [
            {
                "message": 'Operation "Third" not found in the document. Its operations are "First", "Second". Set operationName to one of them.',
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
    assert ambiguous == {
        "errors": [
            {
                "message": 'The document contains 2 operations ("First", "Second"), so operationName is required. Set it to the name of the one to run.',
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
