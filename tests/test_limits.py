"""Each limit on a GraphQL request is refused before any resolver runs, however the operation is written.

Fragments, inline fragments and aliases are the usual ways around a limiter, so every
limit is tried directly and through each of them.
"""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from app.limits import DocumentParser
from resolvers import reads
from tests.conftest import FIXTURES, LiveServer, Tenant, make_tenant, sqlite_settings, start_server, without_cost

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# One more id than the node limit of `small_server` (30); none of them exists.
NODE_IDS = [f"missing-{index}" for index in range(31)]


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with small limits, so each case stays short."""
    settings = sqlite_settings(
        tmp_path_factory.mktemp("limits"),
        max_query_depth=4,
        max_aliases=2,
        max_tokens=200,
        max_root_fields=2,
        max_page_size=5,
        max_nodes=30,
    )
    live = start_server(settings)
    yield live
    live.stop()


@pytest.fixture
def small(small_server: LiveServer, http: httpx.Client) -> Tenant:
    return make_tenant(small_server, http)


def limit_error(response: httpx.Response) -> dict[str, Any]:
    """Return the one error of a request refused by a limit, checking it has no data."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


def post(tenant: Tenant, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return tenant.post(query, variables, headers={"Accept": GRAPHQL_RESPONSE_JSON})


# Each case is a document over one limit of `small_server`; %(org)s is the organisation id.
OVER_LIMIT = {
    "depth direct": ("depth", 'query { connectors(organisationId: "%(org)s") { nodes { connections { connector { id } } } } }'),
    "depth fragment": (
        "depth",
        'query { connectors(organisationId: "%(org)s") { nodes { ...C } } } fragment C on Connector { connections { connector { id } } }',
    ),
    "depth inline fragment": (
        "depth",
        'query { connectors(organisationId: "%(org)s") { nodes { ... on Connector { connections { ... { connector { id } } } } } } }',
    ),
    "depth aliases": ("depth", 'query { c: connectors(organisationId: "%(org)s") { nodes { connections { x: connector { id } } } } }'),
    "aliases direct": ("aliases", 'query { connectors(organisationId: "%(org)s") { a: totalCount b: totalCount c: totalCount } }'),
    "aliases fragment": (
        "aliases",
        'query { connectors(organisationId: "%(org)s") { ...A ...B } } '
        "fragment A on ConnectorConnection { a: totalCount b: totalCount } fragment B on ConnectorConnection { c: totalCount }",
    ),
    "aliases fragment reused": (
        "aliases",
        'query { connectors(organisationId: "%(org)s") { ...A ... { ...A } } } fragment A on ConnectorConnection { a: totalCount b: totalCount }',
    ),
    "aliases inline fragment": ("aliases", 'query { connectors(organisationId: "%(org)s") { ... { a: totalCount b: totalCount c: totalCount } } }'),
    "root fields direct": ("rootFields", "query { __typename __typename __typename }"),
    "root fields fragment": ("rootFields", "query { ...R __typename } fragment R on Query { __typename __typename }"),
    "root fields inline fragment": ("rootFields", "query { ... on Query { __typename __typename } ... { __typename } }"),
    "root fields aliases": ("rootFields", "query { a: __typename b: __typename __typename }"),
    "page size first": ("pageSize", 'query { connectors(organisationId: "%(org)s", first: 6) { totalCount } }'),
    "page size last": ("pageSize", 'query { connectors(organisationId: "%(org)s", last: 6) { totalCount } }'),
    "page size fragment": (
        "pageSize",
        'query { ...P } fragment P on Query { connectors(organisationId: "%(org)s", first: 6) { totalCount } }',
    ),
    "page size inline fragment": ("pageSize", 'query { ... on Query { connectors(organisationId: "%(org)s", first: 6) { totalCount } } }'),
    "page size alias": ("pageSize", 'query { big: connectors(organisationId: "%(org)s", first: 6) { totalCount } }'),
    "nodes direct": ("nodes", "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"),
    "nodes fragment": ("nodes", "query Nodes($ids: [ID!]!) { ...N } fragment N on Query { nodes(ids: $ids) { id } }"),
    "nodes inline fragment": ("nodes", "query Nodes($ids: [ID!]!) { ... on Query { nodes(ids: $ids) { id } } }"),
    "nodes aliases": (
        "nodes",
        'query Nodes($ids: [ID!]!) { a: connectors(organisationId: "%(org)s", first: 5) { totalCount } b: nodes(ids: $ids) { id } }',
    ),
}


@pytest.mark.parametrize("case", sorted(OVER_LIMIT), ids=str)
def test_limit_refused(small: Tenant, case: str) -> None:
    limit, template = OVER_LIMIT[case]
    document = template % {"org": small.organisation_id}

    error = limit_error(post(small, document, {"ids": NODE_IDS}))

    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    assert error["extensions"]["limit"] == limit, error


def test_same_documents_within_default_limits(tenant: Tenant) -> None:
    for case, (limit, template) in OVER_LIMIT.items():
        if limit in ("pageSize",):
            continue
        response = post(tenant, template % {"org": tenant.organisation_id}, {"ids": NODE_IDS})
        assert response.status_code == 200, (case, response.text)
        assert "errors" not in response.json(), (case, response.text)


def test_limit_answers_200_for_json(small: Tenant) -> None:
    response = small.post("query { a: __typename b: __typename c: __typename }", headers={"Accept": "application/json"})

    assert response.status_code == 200, response.text
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["limit"] == "aliases"


def test_token_limit(small: Tenant) -> None:
    document = "query { " + "__typename " * 250 + "}"

    error = limit_error(post(small, document))

    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "tokens"}
    assert error["message"] == "The document has more than 200 tokens, the maximum (CONNECT_GATEWAY_MAX_TOKENS)."


def test_token_limit_counts_fragments(small: Tenant) -> None:
    fragments = " ".join(f"fragment F{index} on Query {{ __typename }}" for index in range(40))

    error = limit_error(post(small, "query { __typename } " + fragments))

    assert error["extensions"]["limit"] == "tokens"


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query Page($n: Int) { connectors(organisationId: $org, first: $n) { totalCount } }", {"n": 6}),
        ("query Page($n: Int = 6) { connectors(organisationId: $org, first: $n) { totalCount } }", {}),
        ("query Page($n: Int) { ...P } fragment P on Query { connectors(organisationId: $org, last: $n) { totalCount } }", {"n": 6}),
    ],
    ids=["variable", "variable default", "variable in fragment"],
)
def test_page_size_from_variables(small: Tenant, document: str, variables: dict[str, Any]) -> None:
    document = document.replace("Page(", "Page($org: ULID!, ")

    error = limit_error(post(small, document, variables | {"org": small.organisation_id}))

    assert error["extensions"]["limit"] == "pageSize"
    assert error["message"].endswith("the maximum is 5 (CONNECT_GATEWAY_MAX_PAGE_SIZE).")


def test_page_size_at_limit_runs(small: Tenant) -> None:
    response = post(small, 'query { connectors(organisationId: "%s", first: 5) { totalCount } }' % small.organisation_id)

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"connectors": {"totalCount": 0}}


def test_default_page_size_limit(tenant: Tenant) -> None:
    error = limit_error(post(tenant, 'query { connectors(organisationId: "%s", first: 101) { totalCount } }' % tenant.organisation_id))

    assert error["message"] == "`first` on field `connectors` is 101; the maximum is 100 (CONNECT_GATEWAY_MAX_PAGE_SIZE)."


def test_refused_mutation_writes_nothing(small: Tenant) -> None:
    definition = json.loads(sorted(FIXTURES.glob("*.json"))[0].read_text())
    document = (
        "mutation Create($organisationId: ULID!, $input: HTTPConnectorCreateInput!) {"
        " a: createHTTPConnector(organisationId: $organisationId, input: $input) { __typename }"
        " b: createHTTPConnector(organisationId: $organisationId, input: $input) { __typename }"
        " c: createHTTPConnector(organisationId: $organisationId, input: $input) { __typename } }"
    )

    response = post(small, document, {"organisationId": small.organisation_id, "input": definition})

    assert limit_error(response)["extensions"]["limit"] == "aliases"
    count = small.graphql('query { connectors(organisationId: "%s") { totalCount } }' % small.organisation_id)
    assert count == {"connectors": {"totalCount": 0}}


def test_expanding_fragments_bounded(tenant: Tenant) -> None:
    # Each fragment spreads the one before it twice, so F20 expands to 2**20 fields while
    # the document stays far below the token, depth, alias and root field limits.
    fragments = ["fragment F0 on ConnectorConnection { totalCount }"]
    fragments += [f"fragment F{index} on ConnectorConnection {{ ...F{index - 1} ... {{ ...F{index - 1} }} }}" for index in range(1, 21)]

    document = 'query { connectors(organisationId: "%s") { ...F20 } } ' % tenant.organisation_id

    error = limit_error(post(tenant, document + " ".join(fragments)))

    assert error["extensions"]["limit"] == "selections"


def test_body_over_default_limit_413(tenant: Tenant) -> None:
    body = json.dumps({"query": "query { __typename }", "variables": {"padding": "x" * (1024 * 1024)}})

    response = tenant.client.post(
        tenant.server.graphql_url,
        content=body,
        headers={"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"},
    )

    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["message"] == "The request body is larger than 1048576 bytes (CONNECT_GATEWAY_MAX_BODY_BYTES)."


def test_batch_off_by_default(tenant: Tenant) -> None:
    response = tenant.client.post(
        tenant.server.graphql_url, json=[{"query": "{ __typename }"}], headers={"Authorization": f"Bearer {tenant.api_key}"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"].startswith("Batched requests (a JSON array body) are turned off.")


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(sqlite_settings(tmp_path_factory.mktemp("batch"), max_batch_operations=2, max_aliases=1))
    yield live
    live.stop()


def test_batch_within_limit_runs_each(batch_server: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(batch_server, http)
    operations = [{"query": "{ __typename }"}, {"query": "{ a: __typename b: __typename }"}]

    response = http.post(batch_server.graphql_url, json=operations, headers={"Authorization": f"Bearer {tenant.api_key}"})

    assert response.status_code == 200, response.text
    first, second = response.json()
    assert without_cost(first) == {"data": {"__typename": "Query"}}
    assert second["errors"][0]["extensions"]["limit"] == "aliases"


def test_batch_over_limit_refused(batch_server: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(batch_server, http)

    response = http.post(batch_server.graphql_url, json=[{"query": "{ __typename }"}] * 3, headers={"Authorization": f"Bearer {tenant.api_key}"})

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"] == (
        "The batched request has 3 operations; the maximum is 2 (CONNECT_GATEWAY_MAX_BATCH_OPERATIONS)."
    )


def test_execution_timeout(tmp_path: Path, http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    original = reads.list_connectors

    async def slow_list_connectors(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(2)
        return await original(*args, **kwargs)

    monkeypatch.setattr(reads, "list_connectors", slow_list_connectors)
    live = start_server(sqlite_settings(tmp_path, execution_timeout_seconds=0.2))
    try:
        tenant = make_tenant(live, http)
        started = time.monotonic()
        response = tenant.post('query { connectors(organisationId: "%s") { totalCount } }' % tenant.organisation_id)
        elapsed = time.monotonic() - started
    finally:
        live.stop()

    assert response.status_code == 504, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert error["message"].startswith("The operation did not finish within 0.2 seconds")
    assert elapsed < 1.5


def test_parse_cache_bounded() -> None:
    parser = DocumentParser(max_tokens=100, max_cached_characters=100)
    documents = [f"query Q{index} {{ __typename }}" for index in range(10)]

    for document in documents:
        parser.parse(document)

    assert len(parser.cache) == 100 // len(documents[0])
    assert parser.cache.get(documents[-1]) is not None
    assert parser.cache.get(documents[0]) is None


def test_whole_float_page_size_counts(small: Tenant) -> None:
    document = 'query P($n: Int) { connectors(organisationId: "%s", first: $n) { totalCount } }' % small.organisation_id

    error = limit_error(post(small, document, {"n": 6.0}))

    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "pageSize"}


def test_aliases_inside_introspection_count(small: Tenant) -> None:
    error = limit_error(post(small, "{ __schema { a: types { name } b: types { name } c: types { name } } }"))

    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "aliases"}


def test_introspection_query_within_default_limits(tenant: Tenant) -> None:
    """The introspection query of GraphiQL and other tools nests `ofType` deeper than the depth limit."""
    response = post(tenant, get_introspection_query(descriptions=True))

    assert response.status_code == 200, response.text
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_skipped_selection_not_walked(small: Tenant) -> None:
    document = 'query($skip: Boolean!) { connectors(organisationId: "%s", first: 6) @skip(if: $skip) { totalCount } }' % small.organisation_id

    skipped = post(small, document, {"skip": True})
    included = post(small, document, {"skip": False})

    assert skipped.status_code == 200, skipped.text
    assert "connectors" not in skipped.json()["data"]
    assert limit_error(included)["extensions"]["limit"] == "pageSize"


def test_non_utf8_charset_rejected(small: Tenant) -> None:
    response = small.client.post(
        small.server.graphql_url,
        content=json.dumps({"query": "{ __typename }"}).encode("latin-1"),
        headers={"Authorization": f"Bearer {small.api_key}", "Content-Type": "application/json; charset=latin1"},
    )

    assert response.status_code == 415, response.text
    assert response.json()["errors"][0]["message"] == "The request body must be UTF-8; send charset=utf-8 or no charset."


def test_subscription_rejected(small: Tenant) -> None:
    response = post(small, "subscription S { __typename }")

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] in ("BAD_REQUEST", "GRAPHQL_VALIDATION_FAILED")
    assert "ubscription" in response.json()["errors"][0]["message"]
