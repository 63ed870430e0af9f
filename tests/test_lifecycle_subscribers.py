"""Subscribers of published versions: add, read through ConnectorVersion.subscribers, remove."""

from tests.conftest import Tenant
from tests.lifecycle_helpers import ERROR_FIELDS, assert_error, create_connector, error_fields, mutate, read_connector

PUBLISH = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  publishConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version) { __typename }
}
"""

ADD = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!, $subscriber: ConnectorSubscriberInput!) {
  addConnectorSubscriber(organisationId: $organisationId, connectorId: $connectorId, version: $version, subscriber: $subscriber) {
    __typename ... on ConnectorVersion { name subscribers { product reference createdAt } } """ + ERROR_FIELDS + """
  }
}
"""

REMOVE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!, $subscriber: ConnectorSubscriberInput!) {
  removeConnectorSubscriber(organisationId: $organisationId, connectorId: $connectorId, version: $version, subscriber: $subscriber) {
    __typename ... on ConnectorVersion { name subscribers { product reference } } """ + ERROR_FIELDS + """
  }
}
"""

FIRST = {"product": "integrations", "reference": "integration-1"}
SECOND = {"product": "boards", "reference": "board-9"}


def published_connector(tenant: Tenant) -> dict:
    connector = create_connector(tenant)
    tenant.graphql(PUBLISH, {"organisationId": tenant.organisation_id, "connectorId": connector["id"], "version": "1"})
    return read_connector(tenant, connector["id"])


def stored_subscribers(tenant: Tenant, connector_id: str) -> list[dict]:
    return read_connector(tenant, connector_id)["versions"][0]["subscribers"]


def test_add_lists_subscribers(tenant: Tenant) -> None:
    connector = published_connector(tenant)

    first = mutate(tenant, ADD, {"connectorId": connector["id"], "version": "latest", "subscriber": FIRST})
    second = mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": SECOND})

    assert first["name"] == "1"
    assert [item["reference"] for item in first["subscribers"]] == ["integration-1"]
    assert [(item["product"], item["reference"]) for item in second["subscribers"]] == [
        ("integrations", "integration-1"),
        ("boards", "board-9"),
    ]
    assert stored_subscribers(tenant, connector["id"]) == [FIRST, SECOND]
    assert read_connector(tenant, connector["id"])["updatedAt"] > connector["updatedAt"]


def test_add_twice_already_exists(tenant: Tenant) -> None:
    connector = published_connector(tenant)
    mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})

    result = mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})

    assert_error(result, "ALREADY_EXISTS")
    assert stored_subscribers(tenant, connector["id"]) == [FIRST]


def test_add_to_draft_refused(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    result = mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})

    assert_error(result, "FAILED_PRECONDITION")
    assert stored_subscribers(tenant, connector["id"]) == []


def test_add_invalid_subscriber(tenant: Tenant) -> None:
    connector = published_connector(tenant)

    result = mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": {"product": " ", "reference": ""}})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"subscriber.product", "subscriber.reference"}
    assert stored_subscribers(tenant, connector["id"]) == []


def test_remove_subscriber(tenant: Tenant) -> None:
    connector = published_connector(tenant)
    mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})
    mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": SECOND})

    result = mutate(tenant, REMOVE, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})
    missing = mutate(tenant, REMOVE, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})

    assert result["subscribers"] == [SECOND]
    assert_error(missing, "NOT_FOUND")
    assert stored_subscribers(tenant, connector["id"]) == [SECOND]


def test_unknown_version_not_found(tenant: Tenant) -> None:
    connector = published_connector(tenant)

    assert_error(mutate(tenant, ADD, {"connectorId": connector["id"], "version": "9", "subscriber": FIRST}), "NOT_FOUND")


def test_other_organisation_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    connector = published_connector(tenant)
    mutate(tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})

    added = mutate(other_tenant, ADD, {"connectorId": connector["id"], "version": "1", "subscriber": SECOND})
    removed = mutate(other_tenant, REMOVE, {"connectorId": connector["id"], "version": "1", "subscriber": FIRST})

    assert_error(added, "NOT_FOUND")
    assert_error(removed, "NOT_FOUND")
    assert stored_subscribers(tenant, connector["id"]) == [FIRST]
