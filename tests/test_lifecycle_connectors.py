"""Changing a connector: full update, tags, categories, auth scheme configs and delete."""

import json

from tests.conftest import FIXTURES, Tenant
from tests.documents import CREATE_CONNECTOR
from tests.lifecycle_helpers import (
    ERROR_FIELDS,
    assert_error,
    create_connector,
    error_fields,
    mutate,
    read_connector,
    read_credential,
    read_tree,
)

UPDATE = """
mutation($organisationId: ULID!, $id: ULID!, $input: HTTPConnectorUpdateInput!) {
  updateHTTPConnector(organisationId: $organisationId, id: $id, input: $input) {
    __typename ... on HTTPConnector { id name baseUrl updatedAt } """ + ERROR_FIELDS + """
  }
}
"""

UPDATE_TAGS = """
mutation($organisationId: ULID!, $id: ULID!, $tags: [TagInput!]!) {
  updateConnectorTags(organisationId: $organisationId, id: $id, tags: $tags) {
    __typename ... on HTTPConnector { tags { key values } } """ + ERROR_FIELDS + """
  }
}
"""

UPDATE_CATEGORIES = """
mutation($organisationId: ULID!, $id: ULID!, $categories: [Category!]!) {
  updateConnectorCategories(organisationId: $organisationId, id: $id, categories: $categories) {
    __typename ... on HTTPConnector { categories } """ + ERROR_FIELDS + """
  }
}
"""

DELETE = """
mutation($organisationId: ULID!, $id: ULID!, $force: Boolean! = false) {
  deleteConnector(organisationId: $organisationId, id: $id, force: $force) {
    __typename ... on Deleted { id } """ + ERROR_FIELDS + """
  }
}
"""

UPSERT_CONFIG = """
mutation($organisationId: ULID!, $connectorId: ULID!, $config: AuthSchemeConfigInput!) {
  upsertAuthSchemeConfig(organisationId: $organisationId, connectorId: $connectorId, config: $config) {
    __typename ... on HTTPConnector { authSchemeConfigs { ... on AuthSchemeConfigBase { id schemeType description } } } """ + ERROR_FIELDS + """
  }
}
"""

DELETE_CONFIG = """
mutation($organisationId: ULID!, $connectorId: ULID!, $id: String!) {
  deleteAuthSchemeConfig(organisationId: $organisationId, connectorId: $connectorId, id: $id) {
    __typename ... on HTTPConnector { authSchemeConfigs { ... on AuthSchemeConfigBase { id } } } """ + ERROR_FIELDS + """
  }
}
"""

PUBLISH = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  publishConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version) {
    __typename """ + ERROR_FIELDS + """
  }
}
"""

SUBSCRIBE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!, $subscriber: ConnectorSubscriberInput!) {
  addConnectorSubscriber(organisationId: $organisationId, connectorId: $connectorId, version: $version, subscriber: $subscriber) {
    __typename """ + ERROR_FIELDS + """
  }
}
"""

CONNECTORS_BY_FILTER = """
query($organisationId: ULID!, $filter: ConnectorFilter) {
  connectors(organisationId: $organisationId, filter: $filter) { nodes { id } }
}
"""


def subscribe(tenant: Tenant, connector_id: str) -> None:
    assert mutate(tenant, PUBLISH, {"connectorId": connector_id, "version": "1"})["__typename"] == "ConnectorVersion"
    subscriber = {"product": "integrations", "reference": "integration-1"}
    assert mutate(tenant, SUBSCRIBE, {"connectorId": connector_id, "version": "1", "subscriber": subscriber})["__typename"] == "ConnectorVersion"


def filtered_ids(tenant: Tenant, filter_value: dict) -> list[str]:
    data = tenant.graphql(CONNECTORS_BY_FILTER, {"organisationId": tenant.organisation_id, "filter": filter_value})
    return [node["id"] for node in data["connectors"]["nodes"]]


def test_update_resets_omitted_fields(tenant: Tenant) -> None:
    before = create_connector(tenant)

    result = mutate(tenant, UPDATE, {"id": before["id"], "input": {"name": "Renamed", "baseUrl": "https://v2.example.com"}})
    after = read_connector(tenant, before["id"])

    assert result["__typename"] == "HTTPConnector", result
    assert after["name"] == "Renamed"
    assert after["baseUrl"] == "https://v2.example.com"
    assert after["public"] is False
    assert after["documentationURL"] == ""
    assert after["imageURL"] == ""
    assert after["tags"] == []
    assert after["connectionVariables"] == []
    assert after["updatedAt"] > before["updatedAt"]
    assert [config["id"] for config in after["authSchemeConfigs"]] == ["key", "query-key", "basic"]
    assert len(after["connections"]) == 1


def test_update_reorders_configs(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    update = {"name": "Lifecycle API", "baseUrl": "https://api.example.com", "authSchemeConfigIds": ["basic", "key", "query-key"]}

    result = mutate(tenant, UPDATE, {"id": connector["id"], "input": update})

    assert result["__typename"] == "HTTPConnector", result
    assert [config["id"] for config in read_connector(tenant, connector["id"])["authSchemeConfigs"]] == ["basic", "key", "query-key"]


def test_update_rejects_partial_config_order(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    update = {"name": "Changed", "baseUrl": "https://api.example.com", "authSchemeConfigIds": ["basic", "nope"]}

    result = mutate(tenant, UPDATE, {"id": connector["id"], "input": update})
    after = read_connector(tenant, connector["id"])

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.authSchemeConfigIds"}
    assert len(result["fields"]) == 2
    assert after["name"] == "Lifecycle API"
    assert [config["id"] for config in after["authSchemeConfigs"]] == ["key", "query-key", "basic"]
    assert after["updatedAt"] == connector["updatedAt"]


def test_update_lists_every_invalid_field(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    update = {"name": " ", "baseUrl": "ftp://nope", "connectionVariables": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}

    result = mutate(tenant, UPDATE, {"id": connector["id"], "input": update})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.name", "input.baseUrl", "input.connectionVariables[1].name"}
    assert read_connector(tenant, connector["id"]) == connector


def test_connection_variables_reach_connections(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    variables = [{"name": "region", "value": "us"}, {"name": "tier", "value": "enterprise"}, {"name": "zone", "value": "a"}]

    mutate(tenant, UPDATE, {"id": connector["id"], "input": {"name": "x", "baseUrl": "https://api.example.com", "connectionVariables": variables}})
    connection = read_connector(tenant, connector["id"])["connections"][0]

    # `tier` is the connection's own value; the others come from the connector.
    assert connection["variables"] == [
        {"name": "region", "value": "us"},
        {"name": "tier", "value": "paid"},
        {"name": "zone", "value": "a"},
    ]


def test_tags_replace_all(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    tags = [{"key": "category", "values": ["crm", "sales"]}, {"key": "beta", "values": []}]

    result = mutate(tenant, UPDATE_TAGS, {"id": connector["id"], "tags": tags})
    after = read_connector(tenant, connector["id"])

    assert result == {"__typename": "HTTPConnector", "tags": tags}
    assert after["tags"] == tags
    assert after["updatedAt"] > connector["updatedAt"]
    assert filtered_ids(tenant, {"tags": [{"key": "category", "value": "sales"}]}) == [connector["id"]]
    assert filtered_ids(tenant, {"tags": [{"key": "beta"}]}) == [connector["id"]]
    assert filtered_ids(tenant, {"tags": [{"key": "team"}]}) == []


def test_invalid_tags_write_nothing(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    result = mutate(tenant, UPDATE_TAGS, {"id": connector["id"], "tags": [{"key": "", "values": ["x"]}]})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"tags[0].key"}
    assert read_connector(tenant, connector["id"]) == connector


def test_categories_replace_and_filter(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    other = create_connector(tenant, name="Other")

    first = mutate(tenant, UPDATE_CATEGORIES, {"id": connector["id"], "categories": ["CRM", "AI_LLMS"]})
    second = mutate(tenant, UPDATE_CATEGORIES, {"id": connector["id"], "categories": ["ECOMMERCE", "CRM"]})

    assert first == {"__typename": "HTTPConnector", "categories": ["CRM", "AI_LLMS"]}
    assert second == {"__typename": "HTTPConnector", "categories": ["ECOMMERCE", "CRM"]}
    assert read_connector(tenant, connector["id"])["categories"] == ["ECOMMERCE", "CRM"]
    assert read_connector(tenant, other["id"])["categories"] == []
    assert filtered_ids(tenant, {"categories": ["CRM"]}) == [connector["id"]]
    assert filtered_ids(tenant, {"categories": ["AI_LLMS", "ECOMMERCE"]}) == [connector["id"]]
    assert filtered_ids(tenant, {"categories": ["AI_LLMS"]}) == []


def test_repeated_category_is_rejected(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    result = mutate(tenant, UPDATE_CATEGORIES, {"id": connector["id"], "categories": ["CRM", "HR", "CRM"]})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"categories[2]"}
    assert read_connector(tenant, connector["id"])["categories"] == []


def test_categories_query_lists_all(tenant: Tenant) -> None:
    categories = tenant.graphql("{ categories }")["categories"]

    assert len(categories) == 12
    assert categories[0] == "DEVELOPMENT_AND_IT"
    assert "SUPPLY_CHAIN_AND_LOGISTICS" in categories


def test_delete_removes_tree_and_own_credentials(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    own_credential = connector["connections"][0]["credentials"]["action"][0]["credential"]["id"]
    shared = create_connector(tenant, name="Shared")
    shared_credential = shared["connections"][0]["credentials"]["action"][0]["credential"]["id"]
    reuse = {
        "name": "reuse",
        "credentials": {"action": [{"authSchemeConfigId": "key", "credentialId": shared_credential}]},
    }
    create_connector(tenant, name="Reuser", connections=[reuse])

    deleted = mutate(tenant, DELETE, {"id": connector["id"]})
    deleted_shared = mutate(tenant, DELETE, {"id": shared["id"]})

    assert deleted == {"__typename": "Deleted", "id": connector["id"]}
    assert deleted_shared == {"__typename": "Deleted", "id": shared["id"]}
    assert read_connector(tenant, connector["id"]) is None
    assert read_credential(tenant, own_credential) is None
    # Another connector's connection still applies this one, so it stays.
    assert read_credential(tenant, shared_credential)["usages"][0]["connection"]["name"] == "reuse"


def test_delete_refused_while_subscribed(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    subscribe(tenant, connector["id"])
    before = read_connector(tenant, connector["id"])

    refused = mutate(tenant, DELETE, {"id": connector["id"]})

    assert_error(refused, "FAILED_PRECONDITION")
    assert read_connector(tenant, connector["id"]) == before

    forced = mutate(tenant, DELETE, {"id": connector["id"], "force": True})

    assert forced == {"__typename": "Deleted", "id": connector["id"]}
    assert read_connector(tenant, connector["id"]) is None


def test_delete_twice_is_not_found(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    mutate(tenant, DELETE, {"id": connector["id"]})

    assert_error(mutate(tenant, DELETE, {"id": connector["id"]}), "NOT_FOUND")


def test_upsert_config_adds_and_replaces(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    added = mutate(tenant, UPSERT_CONFIG, {"connectorId": connector["id"], "config": {"none": {"id": "open", "description": "public"}}})
    replaced = mutate(
        tenant,
        UPSERT_CONFIG,
        {"connectorId": connector["id"], "config": {"apiKey": {"id": "key", "description": "renamed", "name": "X-New", "in": "HEADER"}}},
    )
    after = read_connector(tenant, connector["id"])

    assert added["__typename"] == "HTTPConnector", added
    assert replaced["__typename"] == "HTTPConnector", replaced
    assert [config["id"] for config in after["authSchemeConfigs"]] == ["key", "query-key", "basic", "open"]
    assert after["authSchemeConfigs"][0]["description"] == "renamed"
    assert after["authSchemeConfigs"][3]["schemeType"] == "NONE"
    assert after["updatedAt"] > connector["updatedAt"]


def test_upsert_invalid_config_paths(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    config = {"oauth2": {
        "id": "oauth", "description": "", "authorizeUrl": "nope", "tokenUrl": "https://example.com/token",
        "scopes": [], "defaultScopes": ["read"], "grant": {"clientCredentials": {}},
    }}

    result = mutate(tenant, UPSERT_CONFIG, {"connectorId": connector["id"], "config": config})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"config.oauth2.authorizeUrl", "config.oauth2.defaultScopes[0]"}
    assert read_connector(tenant, connector["id"]) == connector


def test_upsert_rejects_header_name_and_userinfo(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    config = {"oauth2": {
        "id": "oauth", "description": "", "authorizeUrl": "", "tokenUrl": "https://client:upsert-canary@example.com/token",
        "scopes": [], "defaultScopes": [], "grant": {"clientCredentials": {}},
    }}
    header = {"apiKey": {"id": "key", "description": "", "name": "X-Key\nX-Other", "in": "HEADER"}}

    url_result = mutate(tenant, UPSERT_CONFIG, {"connectorId": connector["id"], "config": config})
    header_result = mutate(tenant, UPSERT_CONFIG, {"connectorId": connector["id"], "config": header})

    assert_error(url_result, "INVALID_ARGUMENT")
    assert error_fields(url_result) == {"config.oauth2.tokenUrl"}
    assert "upsert-canary" not in json.dumps(url_result)
    assert_error(header_result, "INVALID_ARGUMENT")
    assert error_fields(header_result) == {"config.apiKey.name"}
    assert read_connector(tenant, connector["id"]) == connector


def test_update_rejects_userinfo_in_base_url(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    update = {"name": "Weather", "baseUrl": "https://user:update-canary@api.example.com"}

    result = mutate(tenant, UPDATE, {"id": connector["id"], "input": update})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.baseUrl"}
    assert "update-canary" not in json.dumps(result)
    assert read_connector(tenant, connector["id"]) == connector


def test_upsert_keeps_credentials_served(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    # The prod connection applies a string credential for `key`, which basic auth cannot use.
    result = mutate(tenant, UPSERT_CONFIG, {"connectorId": connector["id"], "config": {"basicAuth": {"id": "key", "description": ""}}})

    assert_error(result, "FAILED_PRECONDITION")
    assert "prod" in result["details"]
    assert read_connector(tenant, connector["id"]) == connector


def test_delete_config_marks_credentials(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    credential_id = connector["connections"][0]["credentials"]["action"][0]["credential"]["id"]

    result = mutate(tenant, DELETE_CONFIG, {"connectorId": connector["id"], "id": "key"})
    after = read_connector(tenant, connector["id"])
    credential = read_credential(tenant, credential_id)

    assert result["__typename"] == "HTTPConnector", result
    assert [config["id"] for config in after["authSchemeConfigs"]] == ["query-key", "basic"]
    assert [connection["name"] for connection in after["connections"]] == ["prod"]
    assert after["connections"][0]["credentials"]["action"] == []
    assert len(credential["errors"]) == 1
    assert "'key'" in credential["errors"][0]
    assert "'prod'" in credential["errors"][0]
    assert credential["usages"] == []


def test_delete_unknown_config_not_found(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    assert_error(mutate(tenant, DELETE_CONFIG, {"connectorId": connector["id"], "id": "missing"}), "NOT_FOUND")
    assert read_connector(tenant, connector["id"]) == connector


def test_other_organisation_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    connector = create_connector(tenant)
    connector_id = connector["id"]
    attempts = [
        (UPDATE, {"id": connector_id, "input": {"name": "x", "baseUrl": "https://x.example.com"}}),
        (UPDATE_TAGS, {"id": connector_id, "tags": []}),
        (UPDATE_CATEGORIES, {"id": connector_id, "categories": ["HR"]}),
        (UPSERT_CONFIG, {"connectorId": connector_id, "config": {"none": {"id": "n", "description": ""}}}),
        (DELETE_CONFIG, {"connectorId": connector_id, "id": "key"}),
        (DELETE, {"id": connector_id, "force": True}),
    ]

    for document, variables in attempts:
        assert_error(mutate(other_tenant, document, variables), "NOT_FOUND")
        # The caller's own organisation id with another organisation's connector id.
        wrong_owner = other_tenant.graphql(document, {"organisationId": tenant.organisation_id} | variables)
        assert_error(next(iter(wrong_owner.values())), "NOT_FOUND")

    assert read_connector(tenant, connector_id) == connector


def test_delete_removes_grant_client(tenant: Tenant) -> None:
    definition = json.loads((FIXTURES / "github.json").read_text())
    created = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})["createHTTPConnector"]
    tree = read_tree(tenant, created["id"])
    client_id = tree["authSchemeConfigs"][0]["grant"]["credentialId"]
    token_id = tree["connections"][0]["credentials"]["action"][0]["credential"]["id"]

    result = mutate(tenant, DELETE, {"id": created["id"]})

    assert result == {"__typename": "Deleted", "id": created["id"]}
    assert read_credential(tenant, client_id) is None
    assert read_credential(tenant, token_id) is None
