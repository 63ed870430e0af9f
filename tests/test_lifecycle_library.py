"""The public library: publicConnectors, protocols and importPublicConnectorVersion."""

from tests.conftest import Tenant
from tests.test_batching import counted_statements
from tests.lifecycle_helpers import ERROR_FIELDS, assert_error, create_connector, mutate, read_connector

PUBLIC = """
query($first: Int, $after: String, $filter: ConnectorFilter) {
  publicConnectors(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id organisationId name public categories
      connections { id }
      versions { name publishedAt subscribers { product } }
    }
  }
}
"""

IMPORT = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  importPublicConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version) {
    __typename ... on HTTPConnector { id organisationId name public } """ + ERROR_FIELDS + """
  }
}
"""

PREPARE = """
mutation($organisationId: ULID!, $connectorId: ULID!) {
  updateConnectorCategories(organisationId: $organisationId, id: $connectorId, categories: [CRM]) { __typename }
  createConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, input: { name: "2", description: "two" }) { __typename }
  publishConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: "2") { __typename }
  addConnectorSubscriber(
    organisationId: $organisationId, connectorId: $connectorId, version: "2",
    subscriber: { product: "integrations", reference: "owner-only" }
  ) { __typename }
}
"""


def public_page(tenant: Tenant, filter_value: dict) -> dict:
    return tenant.graphql(PUBLIC, {"first": 100, "filter": filter_value})["publicConnectors"]


def unique_name(tenant: Tenant) -> str:
    return f"Library {tenant.organisation_id}"


def test_public_connectors_across_organisations(tenant: Tenant, other_tenant: Tenant) -> None:
    shared = create_connector(other_tenant, name=unique_name(other_tenant))
    create_connector(other_tenant, name=unique_name(other_tenant) + " private", public=False)
    other_tenant.graphql(PREPARE, {"organisationId": other_tenant.organisation_id, "connectorId": shared["id"]})

    page = public_page(tenant, {"name": unique_name(other_tenant)})

    assert page["totalCount"] == 1
    (node,) = page["nodes"]
    assert node["id"] == shared["id"]
    assert node["organisationId"] == other_tenant.organisation_id
    assert node["categories"] == ["CRM"]
    # Another organisation's connections and subscribers stay hidden.
    assert node["connections"] == []
    assert [version["name"] for version in node["versions"]] == ["1", "2"]
    assert all(version["subscribers"] == [] for version in node["versions"])


def test_public_connectors_filter_categories(tenant: Tenant) -> None:
    connector = create_connector(tenant, name=unique_name(tenant))
    tenant.graphql(PREPARE, {"organisationId": tenant.organisation_id, "connectorId": connector["id"]})

    matching = public_page(tenant, {"name": unique_name(tenant), "categories": ["CRM", "HR"]})
    other = public_page(tenant, {"name": unique_name(tenant), "categories": ["HR"]})
    ignored_public_filter = public_page(tenant, {"name": unique_name(tenant), "public": False})

    assert [node["id"] for node in matching["nodes"]] == [connector["id"]]
    assert other["nodes"] == []
    assert [node["id"] for node in ignored_public_filter["nodes"]] == [connector["id"]]


def test_protocols_list_auth_schemes(tenant: Tenant) -> None:
    protocols = tenant.graphql("{ protocols { protocol name description authSchemeTypes } }")["protocols"]

    assert [item["protocol"] for item in protocols] == ["HTTP"]
    assert protocols[0]["authSchemeTypes"] == ["NONE", "API_KEY", "BASIC_AUTH", "OAUTH2", "HMAC", "CERTIFICATE"]


def test_import_copies_published_version(tenant: Tenant, other_tenant: Tenant) -> None:
    source = create_connector(other_tenant, name=unique_name(other_tenant))
    other_tenant.graphql(PREPARE, {"organisationId": other_tenant.organisation_id, "connectorId": source["id"]})

    imported = mutate(tenant, IMPORT, {"connectorId": source["id"], "version": "latest"})
    copy = read_connector(tenant, imported["id"])

    assert imported["__typename"] == "HTTPConnector", imported
    assert imported["organisationId"] == tenant.organisation_id
    assert imported["public"] is False
    assert copy["name"] == source["name"]
    assert copy["baseUrl"] == source["baseUrl"]
    assert copy["tags"] == source["tags"]
    assert copy["categories"] == ["CRM"]
    assert copy["authSchemeConfigs"] == source["authSchemeConfigs"]
    assert copy["connectionVariables"] == source["connectionVariables"]
    assert copy["connections"] == []
    assert [(version["name"], version["description"], version["publishedAt"]) for version in copy["versions"]] == [("2", "two", None)]
    assert read_connector(other_tenant, source["id"])["versions"][1]["subscribers"] == [{"product": "integrations", "reference": "owner-only"}]


def test_import_draft_refused(tenant: Tenant, other_tenant: Tenant) -> None:
    source = create_connector(other_tenant)

    result = mutate(tenant, IMPORT, {"connectorId": source["id"], "version": "1"})

    assert_error(result, "FAILED_PRECONDITION")


def test_import_private_connector_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    source = create_connector(other_tenant, public=False)
    other_tenant.graphql(PREPARE, {"organisationId": other_tenant.organisation_id, "connectorId": source["id"]})

    result = mutate(tenant, IMPORT, {"connectorId": source["id"], "version": "2"})

    assert_error(result, "NOT_FOUND")


def test_import_into_other_organisation_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    source = create_connector(tenant)
    tenant.graphql(PREPARE, {"organisationId": tenant.organisation_id, "connectorId": source["id"]})

    wrong_owner = other_tenant.graphql(IMPORT, {"organisationId": tenant.organisation_id, "connectorId": source["id"], "version": "2"})

    assert_error(wrong_owner["importPublicConnectorVersion"], "NOT_FOUND")


LIBRARY_TREE = """
query($organisationId: ULID!, $first: Int) {
  connectors(organisationId: $organisationId, first: $first) {
    nodes { id categories connections { variables { name } } versions { subscribers { product } } }
  }
  publicConnectors(first: $first, filter: { categories: [CRM] }) {
    nodes { id categories versions { subscribers { product } } }
  }
}
"""


def test_categories_and_subscribers_load_in_batches(tenant: Tenant) -> None:
    for index in range(10):
        connector = create_connector(tenant, name=f"{unique_name(tenant)} {index}")
        tenant.graphql(PREPARE, {"organisationId": tenant.organisation_id, "connectorId": connector["id"]})

    counts = []
    for size in (1, 10):
        with counted_statements(tenant.server) as statements:
            data = tenant.graphql(LIBRARY_TREE, {"organisationId": tenant.organisation_id, "first": size})
        assert len(data["connectors"]["nodes"]) == size
        assert all(node["categories"] == ["CRM"] for node in data["connectors"]["nodes"])
        counts.append(len(statements))

    assert counts[0] == counts[1], counts
