"""The compiled execution path returns exactly what graphql-core's executor returns.

Two servers share one database: the session's server with compiled execution on (the
default) and a reference server with it off. Every document of the corpus goes to both,
and the response bodies must be byte-identical, which also compares key order. The
compiled path's counters show which requests it served, so a test cannot pass because
everything quietly fell back to graphql-core.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from schema.compiled import counters
from tests.conftest import FIXTURES, LiveServer, Tenant, gateway_settings, make_tenant, start_server
from tests.documents import CONNECTOR_BY_ID, CONNECTORS_PAGE, CREATE_CONNECTOR

# Each fixture connector is created this many times, so pages of 20 have several pages to walk.
COPIES = 2

VERSION_MUTATIONS = """
mutation CreateVersion($organisationId: ULID!, $connectorId: ULID!, $name: String!) {
  createConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, input: {name: $name}) {
    __typename ... on Error { code message details }
  }
}
mutation Publish($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  publishConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version) {
    __typename ... on Error { code message details }
  }
}
mutation SetDefault($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  setDefaultConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version) {
    __typename ... on Error { code message details }
  }
}
"""

IDS = """
query Ids($organisationId: ULID!) {
  connectors(organisationId: $organisationId, first: 100) {
    nodes {
      id name
      versions { id name }
      connections { id credentials { action { credential { id } } trigger { credential { id } } } }
    }
  }
}
"""

ALIASES = """
query Aliases($organisationId: ULID!) {
  connectors(organisationId: $organisationId, first: 7) {
    total: totalCount
    totalCount
    page: pageInfo { more: hasNextPage hasNextPage }
    nodes {
      connectorId: id
      id
      label: name
      name
      configTypes: authSchemeConfigs { __typename }
      configs: authSchemeConfigs { ... on AuthSchemeConfigBase { id schemeType } }
      connections { id }
      connections { name first: credentials { action { id } } }
      connections { second: credentials { trigger { id } action { id } } }
      newest: version(name: "latest") { name }
      fallback: version(name: "default") { name isDefault }
    }
  }
}
"""

FRAGMENTS = """
query Fragments($organisationId: ULID!) {
  connectors(organisationId: $organisationId, first: 20) {
    nodes {
      ...NodeFields
      ...ConnectorFields
      ... on HTTPConnector {
        baseUrl
        ... on Connector { ... on Node { __typename id } name }
      }
    }
  }
}

fragment NodeFields on Node { __typename id }

fragment ConnectorFields on Connector {
  name
  authSchemeConfigs {
    ... on AuthSchemeConfigAPIKey { name in }
    ... on AuthSchemeConfigBase { schemeType ... on AuthSchemeConfigHMAC { algorithm } }
    ...OAuth
    __typename
  }
  connections {
    credentials {
      action {
        authSchemeConfig { __typename ...OAuth }
        credential {
          data {
            ... on CredentialDataOAuth2Client { clientId scopes }
            ... on CredentialDataBasicAuth { username }
            __typename
          }
        }
      }
    }
  }
}

fragment OAuth on AuthSchemeConfigOAuth2 {
  grant {
    __typename
    ... on AuthSchemeConfigOAuth2GrantAuthorizationCode { clientId grantType }
    ... on AuthSchemeConfigOAuth2GrantPassword { grantType }
  }
  scopes { name }
}
"""

TYPENAMES = """
query Typenames($organisationId: ULID!) {
  __typename
  connectors(organisationId: $organisationId, first: 3) {
    __typename
    pageInfo { __typename hasNextPage }
    edges { __typename cursor node { __typename } }
    nodes {
      __typename
      tags { __typename key }
      connectionVariables { __typename name }
      authSchemeConfigs { __typename ... on AuthSchemeConfigBase { validationMessages { __typename severity } } }
      connections {
        __typename
        variables { __typename value }
        connector { __typename id }
        credentials {
          __typename
          action {
            __typename
            authSchemeConfig { __typename }
            credential { __typename data { __typename } usages { __typename connection { __typename connector { __typename protocol } } } }
          }
        }
      }
      versions { __typename messages { __typename } }
    }
  }
}
"""

CONDITIONS = """
query Conditions($organisationId: ULID!, $withConfigs: Boolean!, $skipVersions: Boolean = false, $withCredentials: Boolean = true) {
  connectors(organisationId: $organisationId, first: 10) {
    totalCount @skip(if: true)
    nodes {
      id
      name @include(if: false)
      authSchemeConfigs @include(if: $withConfigs) { __typename }
      versions @skip(if: $skipVersions) { name }
      connections {
        id
        ... on Connection @include(if: $withCredentials) { credentials { action { id } } }
        ...ConnectionName @skip(if: $withConfigs)
      }
    }
  }
}

fragment ConnectionName on Connection { name createdAt }
"""

VERSION_BY_NAME = """
query VersionByName($organisationId: ULID!, $name: String!) {
  connectors(organisationId: $organisationId, first: 40) {
    nodes {
      name
      version(name: $name) { id name isLatest isDefault publishedAt createdAt }
      latest: version(name: "latest") { name }
      default: version(name: "default") { name }
      first: version(name: "1") { name publishedAt }
      missing: version(name: "no such version") { name }
    }
  }
}
"""

PAGE = """
query Page($organisationId: ULID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ConnectorFilter) {
  connectors(organisationId: $organisationId, first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name updatedAt } }
  }
}
"""

COUNTS = """
query Counts($organisationId: ULID!) {
  withCount: connectors(organisationId: $organisationId, first: 2) { totalCount again: totalCount nodes { id } }
  withoutCount: connectors(organisationId: $organisationId, first: 2) { nodes { id } }
  credentials(organisationId: $organisationId, first: 2) { totalCount }
}
"""

NODES = """
query Nodes($ids: [ID!]!, $id: ID!) {
  node(id: $id) { __typename id ... on Connector { name } }
  nodes(ids: $ids) {
    __typename
    id
    ... on HTTPConnector { name baseUrl connections { id } }
    ... on Connection { name connector { id } variables { name value } }
    ... on Credential { name type usages { connection { id } } }
    ... on ConnectorVersion { name isLatest isDefault }
  }
}
"""

CREDENTIALS = """
query Credentials($organisationId: ULID!, $id: ULID!) {
  credential(organisationId: $organisationId, id: $id) {
    id name type errors expiresAt
    data { __typename ... on CredentialDataString { redactedFields } }
    usages { connection { id name connector { id name } } }
  }
  credentials(organisationId: $organisationId, first: 5) {
    totalCount
    nodes { id name type organisationId }
    pageInfo { hasNextPage endCursor }
  }
}
"""

INTROSPECTION = "{ __schema { queryType { name } } }"

UNSUPPORTED_FIELD = """
query Categories($organisationId: ULID!) {
  connectors(organisationId: $organisationId, first: 3) { nodes { id categories } }
}
"""


@dataclass
class Corpus:
    """A tenant with connector trees, and the same tenant seen through the reference server."""

    tenant: Tenant
    reference: Tenant
    connector_ids: list[str] = field(default_factory=list)
    connection_ids: list[str] = field(default_factory=list)
    credential_ids: list[str] = field(default_factory=list)
    version_ids: list[str] = field(default_factory=list)
    published_connector_id: str = ""


@pytest.fixture(scope="module")
def reference_server(server: LiveServer) -> Iterator[LiveServer]:
    """A server on the same database as `server`, with compiled execution off."""
    live = start_server(gateway_settings(server.database_url, compiled_execution=False))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def corpus(server: LiveServer, reference_server: LiveServer) -> Iterator[Corpus]:
    with httpx.Client(timeout=60) as client:
        tenant = make_tenant(server, client)
        reference = Tenant(tenant.organisation_id, tenant.api_key, reference_server, client)
        _fill(tenant)
        corpus = Corpus(tenant, reference)
        corpus.published_connector_id = _publish_versions(tenant)
        _collect_ids(corpus)
        yield corpus


def _fill(tenant: Tenant) -> None:
    definitions = [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))]
    for copy in range(COPIES):
        for definition in definitions:
            variables = {"organisationId": tenant.organisation_id, "input": definition | {"name": f"{definition['name']} {copy}"}}
            result = tenant.graphql(CREATE_CONNECTOR, variables)["createHTTPConnector"]
            assert result["__typename"] == "HTTPConnector", result


def _run_mutation(tenant: Tenant, operation_name: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = _post(tenant, VERSION_MUTATIONS, {"organisationId": tenant.organisation_id} | variables, operation_name)
    assert response.status_code == 200, response.text
    (result,) = response.json()["data"].values()
    return result


def _publish_versions(tenant: Tenant) -> str:
    """Give some connectors published versions and a default; return one connector that has them."""
    published = []
    connectors = tenant.graphql(IDS, {"organisationId": tenant.organisation_id})["connectors"]["nodes"]
    for connector in connectors[::3]:
        connector_id = connector["id"]
        if _run_mutation(tenant, "Publish", {"connectorId": connector_id, "version": "1"})["__typename"] != "ConnectorVersion":
            continue
        assert _run_mutation(tenant, "CreateVersion", {"connectorId": connector_id, "name": "2"})["__typename"] == "ConnectorVersion"
        assert _run_mutation(tenant, "Publish", {"connectorId": connector_id, "version": "2"})["__typename"] == "ConnectorVersion"
        assert _run_mutation(tenant, "CreateVersion", {"connectorId": connector_id, "name": "3-draft"})["__typename"] == "ConnectorVersion"
        published.append(connector_id)
    assert len(published) >= 2, "no fixture connector could be published"
    assert _run_mutation(tenant, "SetDefault", {"connectorId": published[0], "version": "1"})["__typename"] == "ConnectorVersion"
    return published[0]


def _collect_ids(corpus: Corpus) -> None:
    connectors = corpus.tenant.graphql(IDS, {"organisationId": corpus.tenant.organisation_id})["connectors"]["nodes"]
    for connector in connectors:
        corpus.connector_ids.append(connector["id"])
        corpus.version_ids += [version["id"] for version in connector["versions"]]
        for connection in connector["connections"]:
            corpus.connection_ids.append(connection["id"])
            for link in connection["credentials"]["action"] + connection["credentials"]["trigger"]:
                if link["credential"]["id"] not in corpus.credential_ids:
                    corpus.credential_ids.append(link["credential"]["id"])


def _post(tenant: Tenant, query: str, variables: dict[str, Any], operation_name: str | None = None) -> httpx.Response:
    body = {"query": query, "variables": variables, "operationName": operation_name}
    return tenant.client.post(tenant.server.graphql_url, json=body, headers={"Authorization": f"Bearer {tenant.api_key}"})


def compare(corpus: Corpus, query: str, variables: dict[str, Any], operation_name: str | None = None) -> tuple[bytes, int]:
    """Send a document to both servers, assert identical responses, and return the body with the compiled count."""
    before = counters["compiled"]
    compiled = _post(corpus.tenant, query, variables, operation_name)
    served = counters["compiled"] - before

    before = counters["compiled"]
    reference = _post(corpus.reference, query, variables, operation_name)
    assert counters["compiled"] == before, "the reference server used the compiled path"

    assert compiled.status_code == reference.status_code, (compiled.text, reference.text)
    assert without_remaining(compiled.content) == without_remaining(reference.content)
    return compiled.content, served


def without_remaining(content: bytes) -> tuple[bytes, dict[str, Any]]:
    """Split a response into its bytes before `extensions` and its cost without `remaining`.

    The two servers have their own rate-limit buckets, so only the tokens left may differ.
    """
    cost = orjson.loads(content).get("extensions", {}).get("cost", {})
    cost.pop("remaining", None)
    position = content.rfind(b',"extensions":')
    return (content if position < 0 else content[:position]), cost


def organisation(corpus: Corpus) -> dict[str, Any]:
    return {"organisationId": corpus.tenant.organisation_id}


def assert_compiled(corpus: Corpus, query: str, variables: dict[str, Any], operation_name: str | None = None) -> dict[str, Any]:
    content, served = compare(corpus, query, variables, operation_name)
    body = json.loads(content)
    assert "errors" not in body, body["errors"]
    assert served == 1, "the compiled path did not serve this document"
    return body["data"]


def test_full_tree_page(corpus: Corpus) -> None:
    data = assert_compiled(corpus, CONNECTORS_PAGE, organisation(corpus) | {"first": 100})

    nodes = data["connectors"]["nodes"]
    assert len(nodes) == len(corpus.connector_ids)
    assert any(connection["credentials"]["action"] for node in nodes for connection in node["connections"])
    assert any(version["publishedAt"] for node in nodes for version in node["versions"])


def test_full_tree_by_id(corpus: Corpus) -> None:
    for connector_id in corpus.connector_ids[:5] + [corpus.published_connector_id]:
        data = assert_compiled(corpus, CONNECTOR_BY_ID, organisation(corpus) | {"id": connector_id})

        assert data["connector"]["id"] == connector_id


def test_full_tree_by_lower_case_id(corpus: Corpus) -> None:
    connector_id = corpus.connector_ids[0]

    data = assert_compiled(corpus, CONNECTOR_BY_ID, organisation(corpus) | {"id": connector_id.lower()})

    assert data["connector"]["id"] == connector_id


@pytest.mark.parametrize("document", [ALIASES, FRAGMENTS, TYPENAMES], ids=["aliases", "fragments", "typenames"])
def test_selection_shapes(corpus: Corpus, document: str) -> None:
    assert_compiled(corpus, document, organisation(corpus))


@pytest.mark.parametrize(
    "conditions",
    [
        {"withConfigs": True},
        {"withConfigs": False},
        {"withConfigs": True, "skipVersions": True, "withCredentials": False},
        {"withConfigs": False, "skipVersions": False, "withCredentials": True},
    ],
)
def test_skip_and_include(corpus: Corpus, conditions: dict[str, bool]) -> None:
    data = assert_compiled(corpus, CONDITIONS, organisation(corpus) | conditions)

    node = data["connectors"]["nodes"][0]
    assert ("authSchemeConfigs" in node) is conditions["withConfigs"]
    assert ("versions" in node) is not conditions.get("skipVersions", False)
    assert "totalCount" not in data["connectors"]


@pytest.mark.parametrize("name", ["latest", "default", "1", "2", "3-draft", "unknown"])
def test_version_by_name(corpus: Corpus, name: str) -> None:
    data = assert_compiled(corpus, VERSION_BY_NAME, organisation(corpus) | {"name": name})

    versions = [node["version"] for node in data["connectors"]["nodes"]]
    assert any(version is not None for version in versions) is (name != "unknown")


def test_pages_forwards_and_backwards(corpus: Corpus) -> None:
    after = None
    names: list[str] = []
    while True:
        data = assert_compiled(corpus, PAGE, organisation(corpus) | {"first": 8, "after": after})
        page = data["connectors"]
        names += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    last = assert_compiled(corpus, PAGE, organisation(corpus) | {"last": 5})["connectors"]
    earlier = assert_compiled(corpus, PAGE, organisation(corpus) | {"last": 5, "before": last["pageInfo"]["startCursor"]})

    assert len(names) == len(corpus.connector_ids)
    assert earlier["connectors"]["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    "arguments",
    [
        {"first": 0},
        {"first": 3, "filter": {"name": "stripe"}},
        {"first": 3, "filter": {"name": "no connector has this name"}},
        {"filter": {"protocol": "HTTP", "public": True}},
        {"filter": {"tags": [{"key": "category"}]}},
        {},
    ],
    ids=["first-0", "name", "no-match", "protocol-public", "tag", "defaults"],
)
def test_page_filters(corpus: Corpus, arguments: dict[str, Any]) -> None:
    assert_compiled(corpus, PAGE, organisation(corpus) | arguments)


def test_total_count_selected_or_not(corpus: Corpus) -> None:
    data = assert_compiled(corpus, COUNTS, organisation(corpus))

    assert data["withCount"]["totalCount"] == len(corpus.connector_ids)
    assert data["withCount"]["again"] == len(corpus.connector_ids)
    assert "totalCount" not in data["withoutCount"]
    assert data["credentials"]["totalCount"] > 0


def test_another_organisation(corpus: Corpus) -> None:
    other = {"organisationId": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}

    page = assert_compiled(corpus, CONNECTORS_PAGE, other | {"first": 10})
    by_id = assert_compiled(corpus, CONNECTOR_BY_ID, other | {"id": corpus.connector_ids[0]})

    assert page["connectors"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
        "edges": [],
        "nodes": [],
    }
    assert by_id == {"connector": None}


def test_node_and_nodes(corpus: Corpus) -> None:
    ids = [
        corpus.connector_ids[0],
        corpus.connection_ids[0],
        corpus.credential_ids[0],
        corpus.version_ids[0],
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "not an id",
        corpus.connector_ids[1].lower(),
    ]

    data = assert_compiled(corpus, NODES, {"ids": ids, "id": corpus.connection_ids[1]})

    assert [item["__typename"] if item else None for item in data["nodes"]] == [
        "HTTPConnector",
        "Connection",
        "Credential",
        "ConnectorVersion",
        None,
        None,
        "HTTPConnector",
    ]


def test_credential_queries(corpus: Corpus) -> None:
    data = assert_compiled(corpus, CREDENTIALS, organisation(corpus) | {"id": corpus.credential_ids[0]})

    assert data["credential"]["id"] == corpus.credential_ids[0]


def test_named_operation_of_several(corpus: Corpus) -> None:
    document = PAGE + VERSION_BY_NAME

    assert_compiled(corpus, document, organisation(corpus) | {"first": 2}, "Page")
    assert_compiled(corpus, document, organisation(corpus) | {"name": "latest"}, "VersionByName")


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (PAGE, {"first": 101}),
        (PAGE, {"first": 2, "after": "not a cursor"}),
        (PAGE, {"first": "two"}),
        (CONDITIONS, {}),
        (CONNECTOR_BY_ID, {"id": "not a ULID"}),
        (INTROSPECTION, {}),
        (UNSUPPORTED_FIELD, {}),
        ("{ connectors { totalCount } }", {}),
        ("query { nope }", {}),
        ("query {", {}),
    ],
    ids=[
        "first-too-large",
        "bad-cursor",
        "bad-variable",
        "missing-condition-variable",
        "bad-ulid",
        "introspection",
        "unsupported-field",
        "missing-argument",
        "unknown-field",
        "syntax-error",
    ],
)
def test_falls_back_to_graphql_core(corpus: Corpus, document: str, variables: dict[str, Any]) -> None:
    _content, served = compare(corpus, document, organisation(corpus) | variables)

    assert served == 0


def test_mutation_falls_back(corpus: Corpus) -> None:
    variables = {"connectorId": corpus.connector_ids[-1], "name": "from the compiled test"}
    before = counters["compiled"]

    result = _run_mutation(corpus.tenant, "CreateVersion", variables)

    assert result["__typename"] == "ConnectorVersion"
    assert counters["compiled"] == before
