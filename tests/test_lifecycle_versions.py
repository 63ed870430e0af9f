"""Connector versions: create, update, delete, publish, unpublish and the default version."""

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Tenant
from tests.documents import CREATE_CONNECTOR
from tests.lifecycle_helpers import (
    ERROR_FIELDS,
    VERSION_FIELDS,
    assert_error,
    create_connector,
    error_fields,
    mutate,
    read_connector,
    set_version_messages,
)

CREATE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $input: ConnectorVersionCreateInput!) {
  createConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, input: $input) {
    __typename ... on ConnectorVersion { """ + VERSION_FIELDS + " } " + ERROR_FIELDS + """
  }
}
"""

UPDATE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!, $input: ConnectorVersionUpdateInput!) {
  updateConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version, input: $input) {
    __typename ... on ConnectorVersion { """ + VERSION_FIELDS + " } " + ERROR_FIELDS + """
  }
}
"""

DELETE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!, $force: Boolean! = false) {
  deleteConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version, force: $force) {
    __typename ... on Deleted { id } """ + ERROR_FIELDS + """
  }
}
"""


def version_mutation(field: str) -> str:
    return """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  """ + field + """(organisationId: $organisationId, connectorId: $connectorId, version: $version) {
    __typename ... on ConnectorVersion { """ + VERSION_FIELDS + " } " + ERROR_FIELDS + """
  }
}
"""


PUBLISH = version_mutation("publishConnectorVersion")
UNPUBLISH = version_mutation("unpublishConnectorVersion")
SET_DEFAULT = version_mutation("setDefaultConnectorVersion")

SUBSCRIBE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  addConnectorSubscriber(
    organisationId: $organisationId, connectorId: $connectorId, version: $version,
    subscriber: { product: "integrations", reference: "integration-7" }
  ) { __typename """ + ERROR_FIELDS + """ }
}
"""


def versions_by_name(tenant: Tenant, connector_id: str) -> dict[str, dict]:
    return {version["name"]: version for version in read_connector(tenant, connector_id)["versions"]}


def add_version(tenant: Tenant, connector_id: str, name: str, **fields: str) -> dict:
    result = mutate(tenant, CREATE, {"connectorId": connector_id, "input": {"name": name} | fields})
    assert result["__typename"] == "ConnectorVersion", result
    return result


def publish(tenant: Tenant, connector_id: str, name: str) -> dict:
    result = mutate(tenant, PUBLISH, {"connectorId": connector_id, "version": name})
    assert result["__typename"] == "ConnectorVersion", result
    return result


def test_create_is_draft(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    created = add_version(tenant, connector["id"], "2", description="second")

    assert created["publishedAt"] is None
    assert created["isLatest"] is False
    assert created["isDefault"] is False
    assert created["description"] == "second"
    assert set(versions_by_name(tenant, connector["id"])) == {"1", "2"}
    assert read_connector(tenant, connector["id"])["updatedAt"] > connector["updatedAt"]


def test_create_from_version_copies(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    add_version(tenant, connector["id"], "2", description="content of 2")
    publish(tenant, connector["id"], "2")

    copied = add_version(tenant, connector["id"], "3", fromVersion="latest")
    overridden = add_version(tenant, connector["id"], "4", fromVersion="2", description="own")

    assert copied["description"] == "content of 2"
    assert copied["publishedAt"] is None
    assert overridden["description"] == "own"


def test_create_from_missing_version(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    result = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": {"name": "2", "fromVersion": "latest"}})

    assert_error(result, "NOT_FOUND")
    assert error_fields(result) == {"input.fromVersion"}
    assert set(versions_by_name(tenant, connector["id"])) == {"1"}


@pytest.mark.parametrize("name", ["latest", "default", ""])
def test_create_rejects_reserved_names(tenant: Tenant, name: str) -> None:
    connector = create_connector(tenant)

    result = mutate(tenant, CREATE, {"connectorId": connector["id"], "input": {"name": name}})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.name"}
    assert set(versions_by_name(tenant, connector["id"])) == {"1"}


def test_create_duplicate_name_exists(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    assert_error(mutate(tenant, CREATE, {"connectorId": connector["id"], "input": {"name": "1"}}), "ALREADY_EXISTS")
    assert len(read_connector(tenant, connector["id"])["versions"]) == 1


def test_update_draft_replaces_fields(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    add_version(tenant, connector["id"], "2", description="draft text")

    renamed = mutate(tenant, UPDATE, {"connectorId": connector["id"], "version": "2", "input": {"name": "2.0"}})

    assert renamed["name"] == "2.0"
    assert renamed["description"] == ""
    assert set(versions_by_name(tenant, connector["id"])) == {"1", "2.0"}


def test_update_published_is_refused(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    publish(tenant, connector["id"], "1")
    before = read_connector(tenant, connector["id"])

    result = mutate(tenant, UPDATE, {"connectorId": connector["id"], "version": "latest", "input": {"name": "1", "description": "edit"}})

    assert_error(result, "FAILED_PRECONDITION")
    assert read_connector(tenant, connector["id"]) == before


def test_update_to_taken_name_exists(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    add_version(tenant, connector["id"], "2")

    result = mutate(tenant, UPDATE, {"connectorId": connector["id"], "version": "2", "input": {"name": "1"}})

    assert_error(result, "ALREADY_EXISTS")
    assert set(versions_by_name(tenant, connector["id"])) == {"1", "2"}


def test_publish_sets_published_at(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    published = publish(tenant, connector["id"], "1")
    again = mutate(tenant, PUBLISH, {"connectorId": connector["id"], "version": "1"})

    assert published["publishedAt"] is not None
    assert published["isLatest"] is True
    assert_error(again, "FAILED_PRECONDITION")
    assert versions_by_name(tenant, connector["id"])["1"]["publishedAt"] == published["publishedAt"]


def test_publish_refused_with_error_messages(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    version_id = connector["versions"][0]["id"]
    set_version_messages(tenant, version_id, [
        {"text": "action listOrders has no response", "severity": "error", "detail": []},
        {"text": "summary is empty", "severity": "warning", "detail": []},
    ])

    result = mutate(tenant, PUBLISH, {"connectorId": connector["id"], "version": "1"})

    assert_error(result, "FAILED_PRECONDITION")
    assert result["details"] == "version: action listOrders has no response"
    assert versions_by_name(tenant, connector["id"])["1"]["publishedAt"] is None


def test_latest_and_default_aliases(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    add_version(tenant, connector["id"], "2")
    publish(tenant, connector["id"], "1")
    publish(tenant, connector["id"], "2")

    latest = mutate(tenant, SET_DEFAULT, {"connectorId": connector["id"], "version": "latest"})
    unpublished_default = mutate(tenant, UNPUBLISH, {"connectorId": connector["id"], "version": "default"})
    versions = versions_by_name(tenant, connector["id"])

    assert latest["name"] == "2"
    assert latest["isDefault"] is True
    assert unpublished_default["name"] == "2"
    assert unpublished_default["publishedAt"] is None
    # Only a published version can be the default, so unpublishing unmarks it.
    assert unpublished_default["isDefault"] is False
    assert versions["1"]["isLatest"] is True
    assert versions["2"]["isLatest"] is False


def test_default_moves_between_versions(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    add_version(tenant, connector["id"], "2")
    publish(tenant, connector["id"], "1")
    publish(tenant, connector["id"], "2")

    mutate(tenant, SET_DEFAULT, {"connectorId": connector["id"], "version": "1"})
    moved = mutate(tenant, SET_DEFAULT, {"connectorId": connector["id"], "version": "2"})
    versions = versions_by_name(tenant, connector["id"])

    assert moved["isDefault"] is True
    assert versions["1"]["isDefault"] is False
    assert versions["2"]["isDefault"] is True


def test_default_must_be_published(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    result = mutate(tenant, SET_DEFAULT, {"connectorId": connector["id"], "version": "1"})

    assert_error(result, "FAILED_PRECONDITION")
    assert versions_by_name(tenant, connector["id"])["1"]["isDefault"] is False


def test_unpublish_refused_while_subscribed(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    publish(tenant, connector["id"], "1")
    assert mutate(tenant, SUBSCRIBE, {"connectorId": connector["id"], "version": "1"})["__typename"] == "ConnectorVersion"

    result = mutate(tenant, UNPUBLISH, {"connectorId": connector["id"], "version": "1"})

    assert_error(result, "FAILED_PRECONDITION")
    assert "integrations: integration-7" in result["details"]
    assert versions_by_name(tenant, connector["id"])["1"]["publishedAt"] is not None


def test_unpublish_draft_is_refused(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    assert_error(mutate(tenant, UNPUBLISH, {"connectorId": connector["id"], "version": "1"}), "FAILED_PRECONDITION")


def test_delete_draft(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    created = add_version(tenant, connector["id"], "2")

    result = mutate(tenant, DELETE, {"connectorId": connector["id"], "version": "2"})

    assert result == {"__typename": "Deleted", "id": created["id"]}
    assert set(versions_by_name(tenant, connector["id"])) == {"1"}
    assert_error(mutate(tenant, DELETE, {"connectorId": connector["id"], "version": "2"}), "NOT_FOUND")


def test_delete_published_needs_force(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    publish(tenant, connector["id"], "1")
    mutate(tenant, SET_DEFAULT, {"connectorId": connector["id"], "version": "1"})

    refused = mutate(tenant, DELETE, {"connectorId": connector["id"], "version": "1"})

    assert_error(refused, "FAILED_PRECONDITION")
    assert set(versions_by_name(tenant, connector["id"])) == {"1"}

    forced = mutate(tenant, DELETE, {"connectorId": connector["id"], "version": "default", "force": True})

    assert forced["__typename"] == "Deleted"
    assert read_connector(tenant, connector["id"])["versions"] == []


def test_delete_subscribed_refused_even_forced(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    publish(tenant, connector["id"], "1")
    mutate(tenant, SUBSCRIBE, {"connectorId": connector["id"], "version": "1"})
    before = read_connector(tenant, connector["id"])

    result = mutate(tenant, DELETE, {"connectorId": connector["id"], "version": "1", "force": True})

    assert_error(result, "FAILED_PRECONDITION")
    assert read_connector(tenant, connector["id"]) == before


def test_other_organisation_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    connector = create_connector(tenant)
    add_version(tenant, connector["id"], "2")
    publish(tenant, connector["id"], "2")
    before = read_connector(tenant, connector["id"])
    target = {"connectorId": connector["id"], "version": "2"}
    attempts = [
        (CREATE, {"connectorId": connector["id"], "input": {"name": "3"}}),
        (UPDATE, target | {"input": {"name": "x"}}),
        (DELETE, target | {"force": True}),
        (PUBLISH, target),
        (UNPUBLISH, target),
        (SET_DEFAULT, target),
        (SUBSCRIBE, target),
    ]

    for document, variables in attempts:
        assert_error(mutate(other_tenant, document, variables), "NOT_FOUND")

    assert read_connector(tenant, connector["id"]) == before


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.stem)
def test_every_fixture_publishes(tenant: Tenant, path: Path) -> None:
    created = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": json.loads(path.read_text())})

    result = mutate(tenant, PUBLISH, {"connectorId": created["createHTTPConnector"]["id"], "version": "1"})

    assert result["__typename"] == "ConnectorVersion", result
