"""Objects of another organisation behave exactly as if they did not exist.

Tenant B creates connectors and credentials. Tenant A's API key then reads them through every
query that takes an id and references them from createHTTPConnector. Each attempt must look the
same as one naming an id that exists nowhere.
"""

import asyncio
import json
import socket
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from db import models
from db.engine import Database
from resolvers.ids import new_id
from tests.conftest import LiveServer, Tenant
from tests.documents import CONNECTOR_BY_ID, CREATE_CONNECTOR

CONNECTORS_PAGE = """
query Connectors($organisationId: ULID!, $first: Int) {
  connectors(organisationId: $organisationId, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
    nodes { id name }
  }
}
"""

CREDENTIALS_PAGE = """
query Credentials($organisationId: ULID!, $first: Int) {
  credentials(organisationId: $organisationId, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
    nodes { id name type }
  }
}
"""

CREDENTIAL = """
query Credential($organisationId: ULID!, $id: ULID!) {
  credential(organisationId: $organisationId, id: $id) { id name }
}
"""

USAGES = """
query Usages($organisationId: ULID!, $id: ULID!) {
  credential(organisationId: $organisationId, id: $id) {
    id
    usages { connection { id name connector { id organisationId name } } }
  }
}
"""

NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"

EMPTY_PAGE = {
    "totalCount": 0,
    "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
    "edges": [],
    "nodes": [],
}

OAUTH2_URLS = {"authorizeUrl": "https://auth.example.com/authorize", "tokenUrl": "https://auth.example.com/token"}


def connector_input(name: str) -> dict[str, Any]:
    """Return a definition that creates a connection with a string, a certificate and a grant client credential."""
    return {
        "name": name,
        "baseUrl": "https://api.example.com",
        "authSchemeConfigs": [
            {"apiKey": {"id": "key", "description": "", "name": "X-Api-Key", "in": "HEADER"}},
            {"certificate": {"id": "cert", "description": ""}},
            {
                "oauth2": {
                    "id": "oauth",
                    "description": "",
                    **OAUTH2_URLS,
                    "scopes": [],
                    "defaultScopes": [],
                    "grant": {"authorizationCode": {"clientId": f"{name} client", "clientSecret": "client-secret"}},
                }
            },
        ],
        "connections": [
            {
                "name": "main",
                "credentials": {
                    "action": [
                        {"authSchemeConfigId": "key", "credential": {"name": f"{name} key", "data": {"string": {"value": "secret"}}}},
                        {
                            "authSchemeConfigId": "cert",
                            "credential": {"name": f"{name} cert", "data": {"certificate": {"certificate": "CERT", "key": "KEY", "ca": "CA"}}},
                        },
                    ]
                },
            }
        ],
    }


@dataclass
class Holdings:
    """The ids of everything one tenant created."""

    connector_id: str
    connection_id: str
    version_id: str
    string_credential_id: str
    certificate_credential_id: str
    client_credential_id: str

    def node_ids(self) -> list[str]:
        return [
            self.connector_id,
            self.connection_id,
            self.version_id,
            self.string_credential_id,
            self.certificate_credential_id,
            self.client_credential_id,
        ]

    def credential_ids(self) -> list[str]:
        return [self.string_credential_id, self.certificate_credential_id, self.client_credential_id]


def create_holdings(tenant: Tenant, name: str) -> Holdings:
    result = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": connector_input(name)})["createHTTPConnector"]
    assert result["__typename"] == "HTTPConnector", result
    connector = tenant.graphql(CONNECTOR_BY_ID, {"organisationId": tenant.organisation_id, "id": result["id"]})["connector"]
    links = connector["connections"][0]["credentials"]["action"]
    return Holdings(
        connector_id=connector["id"],
        connection_id=connector["connections"][0]["id"],
        version_id=connector["versions"][0]["id"],
        string_credential_id=links[0]["credential"]["id"],
        certificate_credential_id=links[1]["credential"]["id"],
        client_credential_id=connector["authSchemeConfigs"][2]["grant"]["credentialId"],
    )


@pytest.fixture
def holdings_of_b(other_tenant: Tenant) -> Holdings:
    return create_holdings(other_tenant, "B")


def counts(tenant: Tenant) -> tuple[int, int]:
    connectors = tenant.graphql(CONNECTORS_PAGE, {"organisationId": tenant.organisation_id})["connectors"]["totalCount"]
    credentials = tenant.graphql(CREDENTIALS_PAGE, {"organisationId": tenant.organisation_id})["credentials"]["totalCount"]
    return connectors, credentials


# ---------------------------------------------------------------- reads


def test_connector_of_other_tenant_is_null(tenant: Tenant, other_tenant: Tenant, holdings_of_b: Holdings) -> None:
    for organisation_id in (other_tenant.organisation_id, other_tenant.organisation_id.lower(), tenant.organisation_id):
        data = tenant.graphql(CONNECTOR_BY_ID, {"organisationId": organisation_id, "id": holdings_of_b.connector_id})

        assert data == {"connector": None}


def test_connectors_of_other_tenant_empty(tenant: Tenant, other_tenant: Tenant, holdings_of_b: Holdings) -> None:
    for organisation_id in (other_tenant.organisation_id, other_tenant.organisation_id.lower()):
        data = tenant.graphql(CONNECTORS_PAGE, {"organisationId": organisation_id, "first": 100})

        assert data == {"connectors": EMPTY_PAGE}
    assert other_tenant.graphql(CONNECTORS_PAGE, {"organisationId": other_tenant.organisation_id})["connectors"]["totalCount"] == 1


def test_credentials_of_other_tenant_empty(tenant: Tenant, other_tenant: Tenant, holdings_of_b: Holdings) -> None:
    data = tenant.graphql(CREDENTIALS_PAGE, {"organisationId": other_tenant.organisation_id, "first": 100})

    assert data == {"credentials": EMPTY_PAGE}
    assert other_tenant.graphql(CREDENTIALS_PAGE, {"organisationId": other_tenant.organisation_id})["credentials"]["totalCount"] == 3


def test_credential_of_other_tenant_is_null(tenant: Tenant, other_tenant: Tenant, holdings_of_b: Holdings) -> None:
    for credential_id in holdings_of_b.credential_ids():
        for organisation_id in (other_tenant.organisation_id, tenant.organisation_id):
            data = tenant.graphql(CREDENTIAL, {"organisationId": organisation_id, "id": credential_id})

            assert data == {"credential": None}


def test_node_of_other_tenant_is_null(tenant: Tenant, holdings_of_b: Holdings) -> None:
    for node_id in holdings_of_b.node_ids():
        assert tenant.graphql(NODE, {"id": node_id}) == {"node": None}
        assert tenant.graphql(NODE, {"id": node_id.lower()}) == {"node": None}


def test_nodes_mix_own_and_foreign(tenant: Tenant, holdings_of_b: Holdings) -> None:
    own = create_holdings(tenant, "A")
    ids = [own.connector_id, *holdings_of_b.node_ids(), own.string_credential_id]

    nodes = tenant.graphql(NODES, {"ids": ids})["nodes"]

    assert nodes[0] == {"__typename": "HTTPConnector", "id": own.connector_id}
    assert nodes[1:-1] == [None] * len(holdings_of_b.node_ids())
    assert nodes[-1] == {"__typename": "Credential", "id": own.string_credential_id}


def test_owner_still_sees_everything(other_tenant: Tenant, holdings_of_b: Holdings) -> None:
    """The reads above return null because of tenancy, not because the ids are wrong."""
    nodes = other_tenant.graphql(NODES, {"ids": holdings_of_b.node_ids()})["nodes"]

    assert [node["id"] for node in nodes] == holdings_of_b.node_ids()
    assert [node["__typename"] for node in nodes] == ["HTTPConnector", "Connection", "ConnectorVersion", "Credential", "Credential", "Credential"]


def link_credential_across_tenants(server: LiveServer, connection_id: str, credential_id: str) -> None:
    """Insert a link row from a connection to another tenant's credential, as no API request can."""

    async def run() -> None:
        database = Database(server.database_url)
        try:
            async with database.transaction() as session:
                session.add(
                    models.ConnectionCredential(
                        id=new_id(),
                        connection_id=connection_id,
                        purpose="trigger",
                        position=0,
                        auth_scheme_config_id="key",
                        credential_id=credential_id,
                    )
                )
        finally:
            await database.dispose()

    asyncio.run(run())


def test_usages_skip_other_tenants_connections(tenant: Tenant, other_tenant: Tenant, holdings_of_b: Holdings) -> None:
    own = create_holdings(tenant, "A")
    link_credential_across_tenants(tenant.server, holdings_of_b.connection_id, own.string_credential_id)

    credential = tenant.graphql(USAGES, {"organisationId": tenant.organisation_id, "id": own.string_credential_id})["credential"]

    assert credential["usages"] == [
        {"connection": {"id": own.connection_id, "name": "main", "connector": {"id": own.connector_id, "organisationId": tenant.organisation_id, "name": "A"}}}
    ]
    assert other_tenant.graphql(CREDENTIAL, {"organisationId": other_tenant.organisation_id, "id": own.string_credential_id}) == {"credential": None}


# ---------------------------------------------------------------- mutations


def create_result(tenant: Tenant, definition: dict[str, Any], organisation_id: str | None = None) -> dict[str, Any]:
    return tenant.graphql(CREATE_CONNECTOR, {"organisationId": organisation_id or tenant.organisation_id, "input": definition})["createHTTPConnector"]


def test_create_in_other_organisation_not_found(tenant: Tenant, other_tenant: Tenant, holdings_of_b: Holdings) -> None:
    result = create_result(tenant, connector_input("intruder"), other_tenant.organisation_id)
    unknown_organisation = new_id()
    absent = create_result(tenant, connector_input("intruder"), unknown_organisation)

    assert result == {
        "__typename": "Error",
        "code": "NOT_FOUND",
        "message": f"Organisation {other_tenant.organisation_id} was not found.",
        "details": "",
        "fields": [],
    }
    assert absent["message"] == f"Organisation {unknown_organisation} was not found."
    assert counts(other_tenant) == (1, 3)
    assert counts(tenant) == (0, 0)


def not_found_message(credential_id: str) -> str:
    return f"names no credential of this organisation: {credential_id}."


def reference_errors(tenant: Tenant, definition: dict[str, Any]) -> list[dict[str, str]]:
    result = create_result(tenant, definition)
    assert result["__typename"] == "Error", result
    assert result["code"] == "INVALID_ARGUMENT"
    return result["fields"]


def reuse_credential(credential_id: str) -> dict[str, Any]:
    definition = connector_input("A")
    definition["connections"][0]["credentials"]["action"][0] = {"authSchemeConfigId": "key", "credentialId": credential_id}
    return definition


def reuse_grant_client(credential_id: str, organisation_id: str) -> dict[str, Any]:
    definition = connector_input("A")
    definition["authSchemeConfigs"][2]["oauth2"]["grant"] = {"authorizationCode": {"credentialId": credential_id, "organisationId": organisation_id}}
    return definition


def use_mtls_credential(credential_id: str) -> dict[str, Any]:
    definition = connector_input("A")
    definition["authSchemeConfigs"][2]["oauth2"] |= {"mtlsEnabled": True, "mtlsCredentialId": credential_id}
    return definition


@pytest.mark.parametrize("absent", ["foreign", "unknown"])
def test_foreign_connection_credential_absent(tenant: Tenant, holdings_of_b: Holdings, absent: str) -> None:
    credential_id = holdings_of_b.string_credential_id if absent == "foreign" else new_id()

    fields = reference_errors(tenant, reuse_credential(credential_id.lower()))

    assert fields == [{"field": "connections[0].credentials.action[0].credentialId", "message": not_found_message(credential_id)}]
    assert counts(tenant) == (0, 0)


@pytest.mark.parametrize("absent", ["foreign", "unknown"])
def test_foreign_grant_client_absent(tenant: Tenant, other_tenant: Tenant, holdings_of_b: Holdings, absent: str) -> None:
    credential_id = holdings_of_b.client_credential_id if absent == "foreign" else new_id()

    fields = reference_errors(tenant, reuse_grant_client(credential_id, other_tenant.organisation_id))

    assert fields == [{"field": "authSchemeConfigs[2].oauth2.grant.authorizationCode.credentialId", "message": not_found_message(credential_id)}]
    assert counts(tenant) == (0, 0)


def test_grant_organisation_must_own_client(tenant: Tenant, other_tenant: Tenant) -> None:
    own = create_holdings(tenant, "A")

    fields = reference_errors(tenant, reuse_grant_client(own.client_credential_id, other_tenant.organisation_id))

    assert fields == [{"field": "authSchemeConfigs[2].oauth2.grant.authorizationCode.organisationId", "message": "is not the organisation that owns credentialId."}]
    assert counts(tenant) == (1, 3)


@pytest.mark.parametrize("absent", ["foreign", "unknown"])
def test_foreign_mtls_credential_absent(tenant: Tenant, holdings_of_b: Holdings, absent: str) -> None:
    credential_id = holdings_of_b.certificate_credential_id if absent == "foreign" else new_id()

    fields = reference_errors(tenant, use_mtls_credential(credential_id))

    assert fields == [{"field": "authSchemeConfigs[2].oauth2.mtlsCredentialId", "message": not_found_message(credential_id)}]
    assert counts(tenant) == (0, 0)


def test_own_references_accepted(tenant: Tenant) -> None:
    """The reference checks above reject foreign ids only: the caller's own ids of the same kinds pass."""
    own = create_holdings(tenant, "A")
    definition = reuse_credential(own.string_credential_id)
    definition["name"] = "A reuse"
    definition["authSchemeConfigs"][2]["oauth2"] |= {
        "mtlsEnabled": True,
        "mtlsCredentialId": own.certificate_credential_id,
        "grant": {"authorizationCode": {"credentialId": own.client_credential_id, "organisationId": tenant.organisation_id}},
    }

    result = create_result(tenant, definition)

    assert result["__typename"] == "HTTPConnector", result


def test_foreign_mtls_in_client_data_absent(tenant: Tenant, holdings_of_b: Holdings) -> None:
    definition = connector_input("A")
    definition["authSchemeConfigs"].append(
        {"oauth2": {"id": "machine", "description": "", "authorizeUrl": "", "tokenUrl": OAUTH2_URLS["tokenUrl"], "scopes": [], "defaultScopes": [], "grant": {"clientCredentials": {}}}}
    )
    client_data = {"clientId": "c", "clientSecret": "s", "authorizeUrl": "", "tokenUrl": OAUTH2_URLS["tokenUrl"], "mTLSEnabled": True}
    client_data["mTLSCredentialId"] = holdings_of_b.certificate_credential_id
    definition["connections"][0]["credentials"]["action"].append({"authSchemeConfigId": "machine", "credential": {"name": "client", "data": {"oauth2Client": client_data}}})

    fields = reference_errors(tenant, definition)

    assert fields == [
        {
            "field": "connections[0].credentials.action[2].credential.data.oauth2Client.mTLSCredentialId",
            "message": not_found_message(holdings_of_b.certificate_credential_id),
        }
    ]


# ---------------------------------------------------------------- authentication

UNAUTHENTICATED = {
    "errors": [{"message": "Authentication required: send Authorization: Bearer <API key>.", "extensions": {"code": "UNAUTHENTICATED"}}]
}


def authorization_headers(tenant: Tenant) -> dict[str, dict[str, str]]:
    return {
        "no header": {},
        "wrong key": {"Authorization": "Bearer cgw_" + "A" * 43},
        "key of no prefix": {"Authorization": "Bearer " + tenant.api_key.removeprefix("cgw_")},
        "truncated key": {"Authorization": "Bearer " + tenant.api_key[:-1]},
        "Basic scheme": {"Authorization": "Basic " + tenant.api_key},
        "bearer only": {"Authorization": "Bearer"},
        "over-long key": {"Authorization": "Bearer " + tenant.api_key + "x" * 4096},
    }


@pytest.mark.parametrize("case", ["no header", "wrong key", "key of no prefix", "truncated key", "Basic scheme", "bearer only", "over-long key"])
def test_bad_credentials_get_401(tenant: Tenant, case: str) -> None:
    headers = authorization_headers(tenant)[case] | {"Content-Type": "application/json"}
    body = {"query": CONNECTORS_PAGE, "variables": {"organisationId": tenant.organisation_id}}

    post = tenant.client.post(tenant.server.graphql_url, json=body, headers=headers)
    get = tenant.client.get(tenant.server.graphql_url, params={"query": "query Q { __typename }"}, headers=headers)
    malformed = tenant.client.post(tenant.server.graphql_url, content=b"{not json", headers=headers)

    for response in (post, get, malformed):
        assert response.status_code == 401
        assert response.json() == UNAUTHENTICATED
        assert response.headers["www-authenticate"] == 'Bearer realm="connect-gateway"'


def test_empty_bearer_gets_401(tenant: Tenant) -> None:
    # httpx rejects a header value with trailing whitespace, so this request is written by hand.
    body = json.dumps({"query": "query Q { __typename }"}).encode()
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    url = httpx.URL(tenant.server.url)

    with socket.create_connection((url.host, url.port), timeout=10) as connection:
        connection.sendall(request)
        response = b""
        while chunk := connection.recv(65536):
            response += chunk

    head, _, content = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ")
    assert json.loads(content) == UNAUTHENTICATED
