"""Two gateway processes over one PostgreSQL database, as replicas behind a load balancer.

Writes go through one replica while the other reads, and credentials encrypted by one are
decrypted by the other, which works only because both have the same secret key.
"""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from db import models
from db.engine import Database
from db.migrate import upgrade
from resolvers.ids import new_id
from resolvers.secrets import SecretBox
from tests.conftest import FIXTURES, TEST_SECRET_KEY, TEST_BACKENDS, issue_api_key, postgres_database
from tests.documents import CONNECTOR_BY_ID, CREATE_CONNECTOR
from tests.gateway_process import GatewayProcess, spawn_gateway

pytestmark = pytest.mark.skipif("postgresql" not in TEST_BACKENDS, reason="CONNECT_GATEWAY_TEST_BACKENDS leaves out postgresql")

WRITES_PER_REPLICA = 6

CLIENT = """
query Client($o: ULID!, $id: ULID!) {
  credential(organisationId: $o, id: $id) {
    id
    data { ... on CredentialDataOAuth2Client { clientId redactedFields } }
  }
}
"""

COUNT = "query($o: ULID!) { connectors(organisationId: $o) { totalCount } }"


class Replica:
    """One gateway process and the API key it is called with."""

    def __init__(self, gateway: GatewayProcess, client: httpx.AsyncClient, api_key: str) -> None:
        self.gateway = gateway
        self.client = client
        self.api_key = api_key

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(
            self.gateway.graphql_url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, f"{body}\nlog of {self.gateway.url}:\n{self.gateway.log_tail()}"
        return body["data"]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[GatewayProcess]]]:
    """Yield the URL of a fresh database and two running gateways over it."""
    logs = tmp_path_factory.mktemp("replicas")
    with postgres_database() as database_url:
        upgrade(database_url)
        gateways = [spawn_gateway(database_url, logs / f"replica-{index}.log") for index in range(2)]
        try:
            for gateway in gateways:
                gateway.wait_until("/readyz")
            yield database_url, gateways
        finally:
            for gateway in gateways:
                gateway.stop()


def fixture_input(name: str, index: int) -> dict[str, Any]:
    definition = json.loads((FIXTURES / f"{name}.json").read_text())
    definition["name"] = f"{definition['name']} {index}"
    return definition


def canonical_json(connector: dict[str, Any]) -> str:
    return json.dumps(connector, sort_keys=True)


async def write_then_read_elsewhere(writer: Replica, reader: Replica, organisation_id: str, index: int) -> str:
    """Create a connector through `writer` and read it back at once through `reader`."""
    name = ("github", "open-banking", "shopify")[index % 3]
    created = await writer.graphql(CREATE_CONNECTOR, {"organisationId": organisation_id, "input": fixture_input(name, index)})
    result = created["createHTTPConnector"]
    assert result["__typename"] == "HTTPConnector", result

    written = await writer.graphql(CONNECTOR_BY_ID, {"organisationId": organisation_id, "id": result["id"]})
    read = await reader.graphql(CONNECTOR_BY_ID, {"organisationId": organisation_id, "id": result["id"]})
    assert read["connector"] is not None, f"{reader.gateway.url} did not find {result['id']} written through {writer.gateway.url}"
    assert canonical_json(read["connector"]) == canonical_json(written["connector"])
    return result["id"]


async def watch_count(replica: Replica, organisation_id: str, stop: asyncio.Event) -> list[int]:
    """Read totalCount through `replica` until `stop` is set, and return every value seen."""
    counts = []
    while not stop.is_set():
        data = await replica.graphql(COUNT, {"o": organisation_id})
        counts.append(data["connectors"]["totalCount"])
        await asyncio.sleep(0.01)
    return counts


def test_writes_visible_on_other_replica(replicas: tuple[str, list[GatewayProcess]]) -> None:
    database_url, gateways = replicas
    organisation_id = new_id()
    api_key = issue_api_key(database_url, organisation_id)

    async def run() -> tuple[list[str], list[int], list[int]]:
        async with httpx.AsyncClient(timeout=60) as client:
            first, second = (Replica(gateway, client, api_key) for gateway in gateways)
            stop = asyncio.Event()
            watchers = [asyncio.create_task(watch_count(replica, organisation_id, stop)) for replica in (first, second)]
            writes = [write_then_read_elsewhere(first, second, organisation_id, index) for index in range(WRITES_PER_REPLICA)]
            writes += [
                write_then_read_elsewhere(second, first, organisation_id, index)
                for index in range(WRITES_PER_REPLICA, 2 * WRITES_PER_REPLICA)
            ]
            try:
                ids = await asyncio.gather(*writes)
            finally:
                stop.set()
            first_counts, second_counts = await asyncio.gather(*watchers)
            final = await second.graphql(COUNT, {"o": organisation_id})
            assert final["connectors"]["totalCount"] == len(ids)
            return list(ids), first_counts, second_counts

    ids, first_counts, second_counts = asyncio.run(run())

    assert len(set(ids)) == 2 * WRITES_PER_REPLICA
    assert first_counts, "the first replica was never read during the writes"
    assert second_counts, "the second replica was never read during the writes"
    assert first_counts == sorted(first_counts), first_counts
    assert second_counts == sorted(second_counts), second_counts


def test_credentials_shared_between_replicas(replicas: tuple[str, list[GatewayProcess]]) -> None:
    database_url, gateways = replicas
    organisation_id = new_id()
    api_key = issue_api_key(database_url, organisation_id)

    def reuse_client(credential_id: str, index: int, patch: dict[str, str]) -> dict[str, Any]:
        definition = fixture_input("github", index)
        grant = {"credentialId": credential_id, "organisationId": organisation_id} | patch
        definition["authSchemeConfigs"][0]["oauth2"]["grant"] = {"authorizationCode": grant}
        return definition

    async def run() -> tuple[str, list[dict[str, Any]]]:
        async with httpx.AsyncClient(timeout=60) as client:
            first, second = (Replica(gateway, client, api_key) for gateway in gateways)
            created = await first.graphql(CREATE_CONNECTOR, {"organisationId": organisation_id, "input": fixture_input("github", 0)})
            connector = await second.graphql(CONNECTOR_BY_ID, {"organisationId": organisation_id, "id": created["createHTTPConnector"]["id"]})
            credential_id = connector["connector"]["authSchemeConfigs"][0]["grant"]["credentialId"]

            # Each patch decrypts the secret that the other replica encrypted last.
            steps = [
                (second, {"clientSecret": "FAKE-secret-from-second"}),
                (first, {"clientId": "client-from-first"}),
                (second, {"clientId": "client-from-second"}),
            ]
            for index, (replica, patch) in enumerate(steps, start=1):
                result = await replica.graphql(
                    CREATE_CONNECTOR, {"organisationId": organisation_id, "input": reuse_client(credential_id, index, patch)}
                )
                assert result["createHTTPConnector"]["__typename"] == "HTTPConnector", result

            views = [(await replica.graphql(CLIENT, {"o": organisation_id, "id": credential_id}))["credential"] for replica in (first, second)]
            return credential_id, views

    credential_id, views = asyncio.run(run())

    async def read_secret() -> dict[str, object]:
        database = Database(database_url)
        try:
            async with database.read() as session:
                row = (await session.execute(select(models.Credential).where(models.Credential.id == credential_id))).scalar_one()
        finally:
            await database.dispose()
        return SecretBox([TEST_SECRET_KEY]).decrypt(row.organisation_id, row.id, row.secret)

    assert views[0] == views[1]
    assert views[0]["data"] == {"clientId": "client-from-second", "redactedFields": ["clientSecret"]}
    assert asyncio.run(read_secret()) == {"clientSecret": "FAKE-secret-from-second"}
