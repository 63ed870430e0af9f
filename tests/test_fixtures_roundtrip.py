"""Every real connector definition creates through GraphQL and reads back equal, secrets aside."""

import json
from typing import Any

import pytest

from tests.conftest import FIXTURES, Tenant
from tests.documents import CONNECTOR_BY_ID, CONNECTORS_PAGE, CREATE_CONNECTOR

SECRET_FIELDS = {"value", "valueBase64", "password", "clientSecret", "accessToken", "refreshToken", "key", "code", "state"}
SCHEME_KEYS = {
    "AuthSchemeConfigNone": "none",
    "AuthSchemeConfigAPIKey": "apiKey",
    "AuthSchemeConfigBasicAuth": "basicAuth",
    "AuthSchemeConfigOAuth2": "oauth2",
    "AuthSchemeConfigHMAC": "hmac",
    "AuthSchemeConfigCertificate": "certificate",
}
GRANT_KEYS = {"AUTHORIZATION_CODE": "authorizationCode", "CLIENT_CREDENTIALS": "clientCredentials", "PASSWORD": "password"}
DATA_KEYS = {
    "NONE": "none",
    "STRING": "string",
    "BINARY": "binary",
    "BASIC_AUTH": "basicAuth",
    "OAUTH2_CLIENT": "oauth2Client",
    "OAUTH2_TOKEN": "oauth2Token",
    "OAUTH2_PASSWORD": "oauth2Password",
    "CERTIFICATE": "certificate",
}
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))


def without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_secrets(item) for key, item in value.items() if key not in SECRET_FIELDS}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def as_input(connector: dict[str, Any]) -> dict[str, Any]:
    """Rebuild a create input from a connector read back, in the contract's input shape."""
    configs = []
    for config in connector["authSchemeConfigs"]:
        fields = {key: value for key, value in config.items() if key not in ("__typename", "schemeType", "validationMessages")}
        if "grant" in fields:
            grant = dict(fields["grant"])
            grant_key = GRANT_KEYS[grant.pop("grantType")]
            grant.pop("__typename")
            fields["grant"] = {grant_key: grant}
        configs.append({SCHEME_KEYS[config["__typename"]]: fields})
    connections = []
    for connection in connector["connections"]:
        credentials = {}
        for purpose in ("action", "trigger"):
            credentials[purpose] = [
                {
                    "authSchemeConfigId": link["authSchemeConfig"]["id"],
                    "credential": {
                        "name": link["credential"]["name"],
                        "data": {DATA_KEYS[link["credential"]["type"]]: {key: value for key, value in link["credential"]["data"].items() if key not in ("__typename", "redactedFields")}},
                    },
                }
                for link in connection["credentials"][purpose]
            ]
        connections.append({"name": connection["name"], "variables": connection["variables"], "credentials": credentials})
    return {
        "name": connector["name"],
        "baseUrl": connector["baseUrl"],
        "documentationURL": connector["documentationURL"],
        "imageURL": connector["imageURL"],
        "public": connector["public"],
        "tags": connector["tags"],
        "connectionVariables": connector["connectionVariables"],
        "authSchemeConfigs": configs,
        "connections": connections,
    }


def assert_contains(expected: Any, actual: Any, path: str = "input") -> None:
    """Assert every field the input gave reads back with the same value."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, read {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key}: missing on read"
            assert_contains(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: expected {expected!r}, read {actual!r}"
        for index, (item, read) in enumerate(zip(expected, actual, strict=True)):
            assert_contains(item, read, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: expected {expected!r}, read {actual!r}"


def create(tenant: Tenant, definition: dict[str, Any]) -> dict[str, Any]:
    result = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})["createHTTPConnector"]
    assert result["__typename"] == "HTTPConnector", result
    return result


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_round_trips(tenant: Tenant, path: Any) -> None:
    definition = json.loads(path.read_text())
    created = create(tenant, definition)

    connector = tenant.graphql(CONNECTOR_BY_ID, {"organisationId": tenant.organisation_id, "id": created["id"]})["connector"]

    assert_contains(without_secrets(definition), as_input(connector))
    assert [version["name"] for version in connector["versions"]] == ["1"]
    assert connector["versions"][0]["publishedAt"] is None


def test_fixture_secrets_are_redacted(tenant: Tenant) -> None:
    definition = json.loads((FIXTURES / "github.json").read_text())
    created = create(tenant, definition)

    connector = tenant.graphql(CONNECTOR_BY_ID, {"organisationId": tenant.organisation_id, "id": created["id"]})["connector"]

    token = connector["connections"][0]["credentials"]["action"][0]["credential"]
    assert token["type"] == "OAUTH2_TOKEN"
    assert token["data"]["redactedFields"] == ["accessToken", "refreshToken"]
    assert "FAKE" not in json.dumps(token)


def test_grant_client_becomes_credential(tenant: Tenant) -> None:
    definition = json.loads((FIXTURES / "github.json").read_text())
    created = create(tenant, definition)

    connector = tenant.graphql(CONNECTOR_BY_ID, {"organisationId": tenant.organisation_id, "id": created["id"]})["connector"]
    grant = connector["authSchemeConfigs"][0]["grant"]
    client = tenant.graphql(
        "query($o: ULID!, $id: ULID!) { credential(organisationId: $o, id: $id) { type data { ... on CredentialDataOAuth2Client { clientId tokenUrl redactedFields } } } }",
        {"o": tenant.organisation_id, "id": grant["credentialId"]},
    )["credential"]

    assert grant["organisationId"] == tenant.organisation_id
    assert grant["clientId"] == "Iv1.FAKE0000000000"
    assert client == {
        "type": "OAUTH2_CLIENT",
        "data": {"clientId": "Iv1.FAKE0000000000", "tokenUrl": "https://github.com/login/oauth/access_token", "redactedFields": ["clientSecret"]},
    }


def test_all_fixtures_in_one_tree_query(tenant: Tenant) -> None:
    names = {create(tenant, json.loads(path.read_text()))["name"] for path in FIXTURE_FILES}

    page = tenant.graphql(CONNECTORS_PAGE, {"organisationId": tenant.organisation_id, "first": 100})["connectors"]

    assert page["totalCount"] == len(FIXTURE_FILES)
    assert {node["name"] for node in page["nodes"]} == names
    assert page["pageInfo"]["hasNextPage"] is False
    assert all(node["connections"] for node in page["nodes"])
