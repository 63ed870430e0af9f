"""Documents and helpers shared by the connector lifecycle tests."""

import asyncio
import copy
from typing import Any

import httpx
from sqlalchemy import select

from db import models
from db.engine import Database
from tests.conftest import Tenant
from tests.documents import CONNECTOR_BY_ID, CREATE_CONNECTOR

CONCURRENT_REQUESTS = 16

ERROR_FIELDS = "... on Error { code message details fields { field message } }"
VERSION_FIELDS = "id name description isLatest isDefault publishedAt createdAt updatedAt subscribers { product reference }"

BASE_CONNECTOR: dict[str, Any] = {
    "name": "Lifecycle API",
    "baseUrl": "https://api.example.com",
    "documentationURL": "https://docs.example.com",
    "imageURL": "https://images.example.com/logo.png",
    "public": True,
    "tags": [{"key": "team", "values": ["core"]}],
    "connectionVariables": [{"name": "region", "value": "eu"}, {"name": "tier", "value": "free"}],
    "authSchemeConfigs": [
        {"apiKey": {"id": "key", "description": "header key", "name": "X-Key", "in": "HEADER"}},
        {"apiKey": {"id": "query-key", "description": "query key", "name": "key", "in": "QUERY"}},
        {"basicAuth": {"id": "basic", "description": ""}},
    ],
    "connections": [
        {
            "name": "prod",
            "variables": [{"name": "tier", "value": "paid"}],
            "credentials": {
                "action": [
                    {"authSchemeConfigId": "key", "credential": {"name": "prod key", "data": {"string": {"value": "prod-secret"}}}}
                ]
            },
        }
    ],
}

CONNECTOR = """
query Connector($organisationId: ULID!, $id: ULID!) {
  connector(organisationId: $organisationId, id: $id) {
    id name updatedAt public documentationURL imageURL categories
    ... on HTTPConnector { baseUrl }
    tags { key values }
    connectionVariables { name value }
    authSchemeConfigs { ... on AuthSchemeConfigBase { id schemeType description } }
    connections {
      id name variables { name value }
      credentials { action { id authSchemeConfig { ... on AuthSchemeConfigBase { id } } credential { id name } } trigger { id } }
    }
    versions { """ + VERSION_FIELDS + """ }
  }
}
"""

CREDENTIAL = """
query Credential($organisationId: ULID!, $id: ULID!) {
  credential(organisationId: $organisationId, id: $id) {
    id name type errors expiresAt
    data {
      __typename
      ... on CredentialDataString { redactedFields }
      ... on CredentialDataBasicAuth { redactedFields username }
    }
    usages { connection { id name } }
  }
}
"""


def create_connector(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    """Create a connector from BASE_CONNECTOR with `overrides`; return the connector as CONNECTOR reads it."""
    definition = copy.deepcopy(BASE_CONNECTOR) | overrides
    result = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})["createHTTPConnector"]
    assert result["__typename"] == "HTTPConnector", result
    return read_connector(tenant, result["id"])


def read_connector(tenant: Tenant, connector_id: str) -> dict[str, Any] | None:
    return tenant.graphql(CONNECTOR, {"organisationId": tenant.organisation_id, "id": connector_id})["connector"]


def read_tree(tenant: Tenant, connector_id: str) -> dict[str, Any] | None:
    """Read the whole connector tree, as the round-trip tests do."""
    return tenant.graphql(CONNECTOR_BY_ID, {"organisationId": tenant.organisation_id, "id": connector_id})["connector"]


def read_credential(tenant: Tenant, credential_id: str) -> dict[str, Any] | None:
    return tenant.graphql(CREDENTIAL, {"organisationId": tenant.organisation_id, "id": credential_id})["credential"]


def mutate(tenant: Tenant, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Run a document with one mutation field and return that field's result."""
    data = tenant.graphql(document, {"organisationId": tenant.organisation_id} | variables)
    (result,) = data.values()
    return result


def assert_error(result: dict[str, Any], code: str) -> None:
    assert result["__typename"] == "Error", result
    assert result["code"] == code, result


def error_fields(result: dict[str, Any]) -> set[str]:
    return {item["field"] for item in result["fields"]}


async def _post_all(tenant: Tenant, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    async with httpx.AsyncClient(timeout=120) as client:
        responses = await asyncio.gather(
            *(client.post(tenant.server.graphql_url, json={"query": query, "variables": variables}, headers=headers) for query, variables in requests)
        )
    results = []
    for response in responses:
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        (result,) = body["data"].values()
        results.append(result)
    return results


def race(tenant: Tenant, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Send all requests to the server at once and return each mutation's result, in request order."""
    return asyncio.run(_post_all(tenant, requests))


def count_by_type(results: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        key = result["code"] if result["__typename"] == "Error" else result["__typename"]
        counts[key] = counts.get(key, 0) + 1
    return counts


def stored_secret(tenant: Tenant, credential_id: str) -> dict[str, Any]:
    """Decrypt a credential's stored secret fields with the server's own key."""
    services = tenant.server.app.state.gateway.services

    async def load() -> models.Credential:
        database = Database(tenant.server.database_url)
        try:
            async with database.read() as session:
                return (await session.execute(select(models.Credential).where(models.Credential.id == credential_id))).scalar_one()
        finally:
            await database.dispose()

    row = asyncio.run(load())
    return services.secret_box.decrypt(row.organisation_id, row.id, row.secret)



def set_version_messages(tenant: Tenant, version_id: str, messages: list[dict[str, Any]]) -> None:
    """Store validation messages on a version directly, since no mutation writes them yet."""

    async def write() -> None:
        database = Database(tenant.server.database_url)
        try:
            async with database.transaction() as session:
                version = (await session.execute(select(models.ConnectorVersion).where(models.ConnectorVersion.id == version_id))).scalar_one()
                version.messages = messages
        finally:
            await database.dispose()

    asyncio.run(write())
