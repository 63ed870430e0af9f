"""Concurrent requests for the same name, publish, default or delete: one wins, the rest get a typed Error."""

from tests.conftest import Tenant
from tests.lifecycle_helpers import (
    CONCURRENT_REQUESTS,
    ERROR_FIELDS,
    count_by_type,
    create_connector,
    mutate,
    race,
    read_connector,
)

CREATE_CONNECTION = """
mutation($organisationId: ULID!, $connectorId: ULID!, $input: ConnectionCreateInput!) {
  createConnection(organisationId: $organisationId, connectorId: $connectorId, input: $input) {
    __typename ... on Connection { id } """ + ERROR_FIELDS + """
  }
}
"""

CREATE_VERSION = """
mutation($organisationId: ULID!, $connectorId: ULID!, $input: ConnectorVersionCreateInput!) {
  createConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, input: $input) {
    __typename ... on ConnectorVersion { id } """ + ERROR_FIELDS + """
  }
}
"""


def version_mutation(field: str) -> str:
    return """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  """ + field + """(organisationId: $organisationId, connectorId: $connectorId, version: $version) {
    __typename ... on ConnectorVersion { id name } """ + ERROR_FIELDS + """
  }
}
"""


PUBLISH = version_mutation("publishConnectorVersion")
SET_DEFAULT = version_mutation("setDefaultConnectorVersion")

DELETE_VERSION = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!) {
  deleteConnectorVersion(organisationId: $organisationId, connectorId: $connectorId, version: $version, force: true) {
    __typename ... on Deleted { id } """ + ERROR_FIELDS + """
  }
}
"""

DELETE_CONNECTOR = """
mutation($organisationId: ULID!, $id: ULID!) {
  deleteConnector(organisationId: $organisationId, id: $id) {
    __typename ... on Deleted { id } """ + ERROR_FIELDS + """
  }
}
"""

SUBSCRIBE = """
mutation($organisationId: ULID!, $connectorId: ULID!, $version: String!, $reference: String!) {
  addConnectorSubscriber(
    organisationId: $organisationId, connectorId: $connectorId, version: $version,
    subscriber: { product: "integrations", reference: $reference }
  ) { __typename ... on ConnectorVersion { id } """ + ERROR_FIELDS + """ }
}
"""


def same_request(tenant: Tenant, document: str, variables: dict) -> list[tuple[str, dict]]:
    return [(document, {"organisationId": tenant.organisation_id} | variables)] * CONCURRENT_REQUESTS


def test_connection_name_race(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    spec = {
        "name": "contested",
        "credentials": {"action": [{"authSchemeConfigId": "key", "credential": {"name": "k", "data": {"string": {"value": "v"}}}}]},
    }

    results = race(tenant, same_request(tenant, CREATE_CONNECTION, {"connectorId": connector["id"], "input": spec}))
    names = [connection["name"] for connection in read_connector(tenant, connector["id"])["connections"]]
    credentials = tenant.graphql("query($o: ULID!) { credentials(organisationId: $o) { totalCount } }", {"o": tenant.organisation_id})

    assert count_by_type(results) == {"Connection": 1, "ALREADY_EXISTS": CONCURRENT_REQUESTS - 1}
    assert names == ["prod", "contested"]
    # The losers' inline credentials were rolled back with them.
    assert credentials["credentials"]["totalCount"] == 2


def test_version_name_race(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    results = race(tenant, same_request(tenant, CREATE_VERSION, {"connectorId": connector["id"], "input": {"name": "2"}}))
    names = [version["name"] for version in read_connector(tenant, connector["id"])["versions"]]

    assert count_by_type(results) == {"ConnectorVersion": 1, "ALREADY_EXISTS": CONCURRENT_REQUESTS - 1}
    assert names == ["1", "2"]


def test_publish_race(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    results = race(tenant, same_request(tenant, PUBLISH, {"connectorId": connector["id"], "version": "1"}))
    winner = next(result for result in results if result["__typename"] == "ConnectorVersion")
    stored = read_connector(tenant, connector["id"])["versions"][0]

    assert count_by_type(results) == {"ConnectorVersion": 1, "FAILED_PRECONDITION": CONCURRENT_REQUESTS - 1}
    assert stored["id"] == winner["id"]
    assert stored["publishedAt"] is not None


def test_default_race(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    names = [str(index) for index in range(2, CONCURRENT_REQUESTS + 2)]
    for name in names:
        assert mutate(tenant, CREATE_VERSION, {"connectorId": connector["id"], "input": {"name": name}})["__typename"] == "ConnectorVersion"
        assert mutate(tenant, PUBLISH, {"connectorId": connector["id"], "version": name})["__typename"] == "ConnectorVersion"
    requests = [(SET_DEFAULT, {"organisationId": tenant.organisation_id, "connectorId": connector["id"], "version": name}) for name in names]

    results = race(tenant, requests)
    defaults = [version["name"] for version in read_connector(tenant, connector["id"])["versions"] if version["isDefault"]]
    winners = {result["name"] for result in results if result["__typename"] == "ConnectorVersion"}
    counts = count_by_type(results)

    assert set(counts) <= {"ConnectorVersion", "FAILED_PRECONDITION"}
    assert counts.get("ConnectorVersion", 0) >= 1
    assert len(defaults) == 1
    assert defaults[0] in winners


def test_delete_version_race(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    mutate(tenant, PUBLISH, {"connectorId": connector["id"], "version": "1"})

    results = race(tenant, same_request(tenant, DELETE_VERSION, {"connectorId": connector["id"], "version": "1"}))

    # The losers find the version gone, as a later request would.
    assert count_by_type(results) == {"Deleted": 1, "NOT_FOUND": CONCURRENT_REQUESTS - 1}
    assert read_connector(tenant, connector["id"])["versions"] == []


def test_delete_connector_race(tenant: Tenant) -> None:
    connector = create_connector(tenant)

    results = race(tenant, same_request(tenant, DELETE_CONNECTOR, {"id": connector["id"]}))

    assert count_by_type(results) == {"Deleted": 1, "NOT_FOUND": CONCURRENT_REQUESTS - 1}
    assert read_connector(tenant, connector["id"]) is None


def test_delete_against_subscribe_race(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    mutate(tenant, PUBLISH, {"connectorId": connector["id"], "version": "1"})
    target = {"organisationId": tenant.organisation_id, "connectorId": connector["id"], "version": "1"}
    requests = []
    for index in range(CONCURRENT_REQUESTS // 2):
        requests.append((DELETE_VERSION, target))
        requests.append((SUBSCRIBE, target | {"reference": f"integration-{index}"}))

    results = race(tenant, requests)
    deletes = count_by_type(results[0::2])
    subscribes = count_by_type(results[1::2])
    versions = read_connector(tenant, connector["id"])["versions"]

    assert set(deletes) <= {"Deleted", "FAILED_PRECONDITION", "NOT_FOUND"}
    assert set(subscribes) <= {"ConnectorVersion", "NOT_FOUND"}
    if deletes.get("Deleted"):
        # The delete came first: every subscriber after it found no version.
        assert deletes["Deleted"] == 1
        assert "ConnectorVersion" not in subscribes
        assert versions == []
    else:
        # A subscriber came first: no delete went through, and every accepted subscriber is stored.
        assert len(versions[0]["subscribers"]) == subscribes["ConnectorVersion"]
