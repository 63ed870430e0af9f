"""Connections of a connector: create, update and delete over GraphQL."""

from tests.conftest import Tenant
from tests.lifecycle_helpers import (
    ERROR_FIELDS,
    assert_error,
    create_connector,
    error_fields,
    mutate,
    read_connector,
    read_credential,
    stored_secret,
)

CONNECTION_FIELDS = """
  id name updatedAt variables { name value }
  credentials {
    action { id authSchemeConfig { ... on AuthSchemeConfigBase { id } } credential { id name type } }
    trigger { id authSchemeConfig { ... on AuthSchemeConfigBase { id } } credential { id name type } }
  }
"""

CREATE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $input: ConnectionCreateInput!) {
  createConnection(organisationId: $organisationId, connectorId: $connectorId, input: $input) {
    __typename ... on Connection {""" + CONNECTION_FIELDS + "} " + ERROR_FIELDS + """
  }
}
"""

UPDATE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $id: ULID!, $input: ConnectionUpdateInput!) {
  updateConnection(organisationId: $organisationId, connectorId: $connectorId, id: $id, input: $input) {
    __typename ... on Connection {""" + CONNECTION_FIELDS + "} " + ERROR_FIELDS + """
  }
}
"""

DELETE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $id: ULID!, $force: Boolean! = false) {
  deleteConnection(organisationId: $organisationId, connectorId: $connectorId, id: $id, force: $force) {
    __typename ... on Deleted { id } """ + ERROR_FIELDS + """
  }
}
"""

PUBLISH_AND_SUBSCRIBE = """
mutation($organisationId: ULID!, $connectorId: ULID!) {
  publishConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: "1") { __typename }
  addConnectorSubscriber(
    organisationId: $organisationId, connectorId: $connectorId, version: "1",
    subscriber: { product: "integrations", reference: "i-1" }
  ) { __typename }
}
"""

STAGING = {
    "name": "staging",
    "variables": [{"name": "region", "value": "us"}],
    "credentials": {
        "action": [
            {"authSchemeConfigId": "key", "credential": {"name": "staging key", "data": {"string": {"value": "staging-secret"}}}},
            {"authSchemeConfigId": "basic", "credential": {"name": "staging basic", "data": {"basicAuth": {"username": "u", "password": "p"}}}},
        ],
        "trigger": [{"authSchemeConfigId": "query-key", "credential": {"name": "hook key", "data": {"string": {"value": "hook-secret"}}}}],
    },
}


def credential_count(tenant: Tenant) -> int:
    query = "query($o: ULID!) { credentials(organisationId: $o) { totalCount } }"
    return tenant.graphql(query, {"o": tenant.organisation_id})["credentials"]["totalCount"]


def test_create_with_inline_credentials(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    created = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": STAGING})
    after = read_connector(tenant, connector["id"])

    assert created["__typename"] == "Connection", created
    assert created["name"] == "staging"
    assert created["variables"] == [{"name": "region", "value": "us"}, {"name": "tier", "value": "free"}]
    assert [link["authSchemeConfig"]["id"] for link in created["credentials"]["action"]] == ["key", "basic"]
    assert created["credentials"]["trigger"][0]["credential"]["type"] == "STRING"
    assert [connection["name"] for connection in after["connections"]] == ["prod", "staging"]
    assert after["updatedAt"] > connector["updatedAt"]
    assert stored_secret(tenant, created["credentials"]["action"][0]["credential"]["id"]) == {"value": "staging-secret"}


def test_create_with_existing_credential(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    credential_id = connector["connections"][0]["credentials"]["action"][0]["credential"]["id"]
    spec = {"name": "shared", "credentials": {"action": [{"authSchemeConfigId": "query-key", "credentialId": credential_id.lower()}]}}

    created = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": spec})

    assert created["credentials"]["action"][0]["credential"]["id"] == credential_id
    assert {usage["connection"]["name"] for usage in read_credential(tenant, credential_id)["usages"]} == {"prod", "shared"}


def test_create_duplicate_name_exists(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    credentials_before = credential_count(tenant)

    result = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": STAGING | {"name": "prod"}})

    assert_error(result, "ALREADY_EXISTS")
    assert read_connector(tenant, connector["id"]) == connector
    assert credential_count(tenant) == credentials_before


def test_create_invalid_lists_paths(tenant: Tenant, other_tenant: Tenant) -> None:
    connector = create_connector(tenant)
    foreign = create_connector(other_tenant)
    foreign_credential = foreign["connections"][0]["credentials"]["action"][0]["credential"]["id"]
    spec = {
        "name": "broken",
        "credentials": {
            "action": [
                {"authSchemeConfigId": "missing", "credential": {"name": "x", "data": {"string": {"value": "v"}}}},
                {"authSchemeConfigId": "basic", "credential": {"name": "x", "data": {"string": {"value": "v"}}}},
                {"authSchemeConfigId": "key", "credentialId": foreign_credential},
            ]
        },
    }
    credentials_before = credential_count(tenant)

    result = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": spec})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {
        "input.credentials.action[0].authSchemeConfigId",
        "input.credentials.action[1].credential.data",
        "input.credentials.action[2].credentialId",
    }
    assert read_connector(tenant, connector["id"]) == connector
    assert credential_count(tenant) == credentials_before


def test_update_renames_and_replaces_variables(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    connection = connector["connections"][0]

    renamed = mutate(tenant, UPDATE, {"connectorId": connector["id"], "id": connection["id"], "input": {"name": "production", "variables": [{"name": "region", "value": "ap"}]}})
    kept = mutate(tenant, UPDATE, {"connectorId": connector["id"], "id": connection["id"], "input": {"name": "production"}})
    cleared = mutate(tenant, UPDATE, {"connectorId": connector["id"], "id": connection["id"], "input": {"name": "production", "variables": []}})

    assert renamed["name"] == "production"
    assert renamed["variables"] == [{"name": "region", "value": "ap"}, {"name": "tier", "value": "free"}]
    assert kept["variables"] == renamed["variables"]
    # Cleared: only the connector's values remain.
    assert cleared["variables"] == [{"name": "region", "value": "eu"}, {"name": "tier", "value": "free"}]
    assert read_connector(tenant, connector["id"])["updatedAt"] > connector["updatedAt"]


def test_update_reorders_and_retargets(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    created = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": STAGING})
    key_link, basic_link = created["credentials"]["action"]
    order = [{"id": basic_link["id"], "authSchemeConfigId": "basic"}, {"id": key_link["id"], "authSchemeConfigId": "query-key"}]

    result = mutate(tenant, UPDATE, {"connectorId": connector["id"], "id": created["id"], "input": {"name": "staging", "credentials": {"action": order}}})

    assert [link["id"] for link in result["credentials"]["action"]] == [basic_link["id"], key_link["id"]]
    assert [link["authSchemeConfig"]["id"] for link in result["credentials"]["action"]] == ["basic", "query-key"]
    assert result["credentials"]["trigger"] == created["credentials"]["trigger"]


def test_update_never_changes_scheme_type(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    created = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": STAGING})
    key_link, basic_link = created["credentials"]["action"]
    order = [{"id": key_link["id"], "authSchemeConfigId": "basic"}, {"id": basic_link["id"], "authSchemeConfigId": "basic"}]

    result = mutate(tenant, UPDATE, {"connectorId": connector["id"], "id": created["id"], "input": {"name": "renamed", "credentials": {"action": order}}})
    stored = next(item for item in read_connector(tenant, connector["id"])["connections"] if item["id"] == created["id"])

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.credentials.action[0].authSchemeConfigId"}
    assert stored["name"] == "staging"
    assert [link["authSchemeConfig"]["id"] for link in stored["credentials"]["action"]] == ["key", "basic"]


def test_update_must_list_every_credential(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    created = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": STAGING})
    key_link = created["credentials"]["action"][0]
    trigger_link = created["credentials"]["trigger"][0]
    order = [{"id": key_link["id"], "authSchemeConfigId": "key"}, {"id": trigger_link["id"], "authSchemeConfigId": "key"}]

    result = mutate(tenant, UPDATE, {"connectorId": connector["id"], "id": created["id"], "input": {"name": "staging", "credentials": {"action": order}}})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.credentials.action", "input.credentials.action[1].id"}


def test_update_duplicate_name_exists(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    created = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": STAGING})

    result = mutate(tenant, UPDATE, {"connectorId": connector["id"], "id": created["id"], "input": {"name": "prod", "variables": []}})
    stored = next(item for item in read_connector(tenant, connector["id"])["connections"] if item["id"] == created["id"])

    assert_error(result, "ALREADY_EXISTS")
    assert stored["name"] == "staging"
    assert stored["variables"] == created["variables"]


def test_delete_keeps_credentials(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    connection = connector["connections"][0]
    credential_id = connection["credentials"]["action"][0]["credential"]["id"]

    result = mutate(tenant, DELETE, {"connectorId": connector["id"], "id": connection["id"]})

    assert result == {"__typename": "Deleted", "id": connection["id"]}
    assert read_connector(tenant, connector["id"])["connections"] == []
    assert read_credential(tenant, credential_id)["usages"] == []
    assert_error(mutate(tenant, DELETE, {"connectorId": connector["id"], "id": connection["id"]}), "NOT_FOUND")


def test_delete_in_use_needs_force(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    connection = connector["connections"][0]
    tenant.graphql(PUBLISH_AND_SUBSCRIBE, {"organisationId": tenant.organisation_id, "connectorId": connector["id"]})

    refused = mutate(tenant, DELETE, {"connectorId": connector["id"], "id": connection["id"]})

    assert_error(refused, "FAILED_PRECONDITION")
    assert [item["id"] for item in read_connector(tenant, connector["id"])["connections"]] == [connection["id"]]

    forced = mutate(tenant, DELETE, {"connectorId": connector["id"], "id": connection["id"], "force": True})

    assert forced == {"__typename": "Deleted", "id": connection["id"]}
    assert read_connector(tenant, connector["id"])["connections"] == []


def test_other_organisation_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    connector = create_connector(tenant)
    connection_id = connector["connections"][0]["id"]
    own = create_connector(other_tenant)
    attempts = [
        (CREATE, {"connectorId": connector["id"], "input": STAGING}),
        (UPDATE, {"connectorId": connector["id"], "id": connection_id, "input": {"name": "stolen"}}),
        (DELETE, {"connectorId": connector["id"], "id": connection_id, "force": True}),
        # The other organisation's own connector with this organisation's connection.
        (UPDATE, {"connectorId": own["id"], "id": connection_id, "input": {"name": "stolen"}}),
        (DELETE, {"connectorId": own["id"], "id": connection_id, "force": True}),
    ]

    for document, variables in attempts:
        assert_error(mutate(other_tenant, document, variables), "NOT_FOUND")

    assert read_connector(tenant, connector["id"]) == connector
