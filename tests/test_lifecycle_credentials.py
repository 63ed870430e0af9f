"""Credentials of an organisation: create, update as a merge patch, and delete."""

import json

from tests.conftest import FIXTURES, Tenant
from tests.lifecycle_helpers import (
    ERROR_FIELDS,
    assert_error,
    create_connector,
    error_fields,
    mutate,
    read_credential,
    stored_secret,
)

CREDENTIAL_FIELDS = """
  id name type expiresAt
  data {
    __typename
    ... on CredentialDataString { redactedFields }
    ... on CredentialDataBasicAuth { redactedFields username }
    ... on CredentialDataOAuth2Client { redactedFields clientId tokenUrl scopes }
  }
"""

CREATE = """
mutation($organisationId: ULID!, $input: CredentialInput!) {
  createCredential(organisationId: $organisationId, input: $input) {
    __typename ... on Credential {""" + CREDENTIAL_FIELDS + "} " + ERROR_FIELDS + """
  }
}
"""

UPDATE = """
mutation($organisationId: ULID!, $id: ULID!, $input: CredentialUpdateInput!) {
  updateCredential(organisationId: $organisationId, id: $id, input: $input) {
    __typename ... on Credential {""" + CREDENTIAL_FIELDS + "} " + ERROR_FIELDS + """
  }
}
"""

DELETE = """
mutation($organisationId: ULID!, $id: ULID!) {
  deleteCredential(organisationId: $organisationId, id: $id) {
    __typename ... on Deleted { id } """ + ERROR_FIELDS + """
  }
}
"""

BASIC = {"name": "service account", "data": {"basicAuth": {"username": "svc", "password": "first-password"}}}
CLIENT = {
    "name": "oauth client",
    "data": {"oauth2Client": {
        "clientId": "client-1", "clientSecret": "client-secret", "authorizeUrl": "",
        "tokenUrl": "https://auth.example.com/token", "scopes": ["read"],
    }},
}


def create(tenant: Tenant, spec: dict) -> dict:
    result = mutate(tenant, CREATE, {"input": spec})
    assert result["__typename"] == "Credential", result
    return result


def test_create_stores_secret_encrypted(tenant: Tenant) -> None:
    response = tenant.post(CREATE, {"organisationId": tenant.organisation_id, "input": BASIC})
    result = response.json()["data"]["createCredential"]

    assert result["type"] == "BASIC_AUTH"
    assert result["data"] == {"__typename": "CredentialDataBasicAuth", "redactedFields": ["password"], "username": "svc"}
    assert "first-password" not in response.text
    assert stored_secret(tenant, result["id"]) == {"password": "first-password"}
    assert read_credential(tenant, result["id"])["name"] == "service account"


def test_create_invalid_lists_paths(tenant: Tenant) -> None:
    spec = {"name": "", "data": {"oauth2Client": CLIENT["data"]["oauth2Client"] | {"tokenUrl": "not a url"}}}

    result = mutate(tenant, CREATE, {"input": spec})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.name", "input.data.oauth2Client.tokenUrl"}


def test_update_keeps_omitted_secret(tenant: Tenant) -> None:
    created = create(tenant, BASIC)

    result = mutate(tenant, UPDATE, {"id": created["id"], "input": {"name": "renamed", "data": {"basicAuth": {"username": "svc2"}}}})

    assert result["name"] == "renamed"
    assert result["data"] == {"__typename": "CredentialDataBasicAuth", "redactedFields": ["password"], "username": "svc2"}
    assert stored_secret(tenant, created["id"]) == {"password": "first-password"}


def test_update_rotates_secret(tenant: Tenant) -> None:
    created = create(tenant, CLIENT)

    response = tenant.post(UPDATE, {"organisationId": tenant.organisation_id, "id": created["id"], "input": {"data": {"oauth2Client": {"clientSecret": "rotated"}}}})
    result = response.json()["data"]["updateCredential"]

    assert result["data"]["clientId"] == "client-1"
    assert result["data"]["scopes"] == ["read"]
    assert result["name"] == "oauth client"
    assert "rotated" not in response.text
    assert stored_secret(tenant, created["id"]) == {"clientSecret": "rotated"}


def test_update_null_removes_optional_field(tenant: Tenant) -> None:
    created = create(tenant, CLIENT)

    result = mutate(tenant, UPDATE, {"id": created["id"], "input": {"data": {"oauth2Client": {"scopes": None}}, "expiresAt": "2030-01-01T00:00:00Z"}})

    assert result["data"]["scopes"] == []
    assert result["expiresAt"] == "2030-01-01T00:00:00.000000Z"

    cleared = mutate(tenant, UPDATE, {"id": created["id"], "input": {"expiresAt": None}})

    assert cleared["expiresAt"] is None


def test_update_null_required_field_rejected(tenant: Tenant) -> None:
    created = create(tenant, BASIC)

    result = mutate(tenant, UPDATE, {"id": created["id"], "input": {"name": "changed", "data": {"basicAuth": {"password": None}}}})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.data.basicAuth.password"}
    assert read_credential(tenant, created["id"])["name"] == "service account"
    assert stored_secret(tenant, created["id"]) == {"password": "first-password"}


def test_update_cannot_change_type(tenant: Tenant) -> None:
    created = create(tenant, BASIC)

    result = mutate(tenant, UPDATE, {"id": created["id"], "input": {"data": {"string": {"value": "x"}}}})

    assert_error(result, "INVALID_ARGUMENT")
    assert error_fields(result) == {"input.data.string"}
    assert read_credential(tenant, created["id"])["type"] == "BASIC_AUTH"


def test_delete_unused_credential(tenant: Tenant) -> None:
    created = create(tenant, BASIC)

    result = mutate(tenant, DELETE, {"id": created["id"]})

    assert result == {"__typename": "Deleted", "id": created["id"]}
    assert read_credential(tenant, created["id"]) is None
    assert_error(mutate(tenant, DELETE, {"id": created["id"]}), "NOT_FOUND")


def test_delete_used_credential_lists_usages(tenant: Tenant) -> None:
    connector = create_connector(tenant)
    credential_id = connector["connections"][0]["credentials"]["action"][0]["credential"]["id"]

    result = mutate(tenant, DELETE, {"id": credential_id})

    assert_error(result, "FAILED_PRECONDITION")
    assert f"connection 'prod' ({connector['connections'][0]['id']})" in result["details"]
    assert f"connector 'Lifecycle API' ({connector['id']})" in result["details"]
    assert read_credential(tenant, credential_id)["usages"][0]["connection"]["name"] == "prod"


def test_delete_grant_client_refused(tenant: Tenant) -> None:
    definition = json.loads((FIXTURES / "github.json").read_text())
    created = tenant.graphql(
        "mutation($o: ULID!, $i: HTTPConnectorCreateInput!) { createHTTPConnector(organisationId: $o, input: $i) { "
        "... on HTTPConnector { authSchemeConfigs { ... on AuthSchemeConfigOAuth2 { grant { ... on AuthSchemeConfigOAuth2GrantAuthorizationCode { credentialId } } } } } } }",
        {"o": tenant.organisation_id, "i": definition},
    )["createHTTPConnector"]
    client_id = created["authSchemeConfigs"][0]["grant"]["credentialId"]

    result = mutate(tenant, DELETE, {"id": client_id})

    assert_error(result, "FAILED_PRECONDITION")
    assert "auth scheme config" in result["details"]
    assert read_credential(tenant, client_id) is not None


def test_other_organisation_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    created = create(tenant, BASIC)

    assert_error(mutate(other_tenant, UPDATE, {"id": created["id"], "input": {"name": "stolen"}}), "NOT_FOUND")
    assert_error(mutate(other_tenant, DELETE, {"id": created["id"]}), "NOT_FOUND")
    wrong_owner = other_tenant.graphql(CREATE, {"organisationId": tenant.organisation_id, "input": BASIC})["createCredential"]
    assert_error(wrong_owner, "NOT_FOUND")
    assert read_credential(tenant, created["id"])["name"] == "service account"
    assert stored_secret(tenant, created["id"]) == {"password": "first-password"}
