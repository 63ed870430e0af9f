"""The REST façade of CreateHTTPConnector, with every response body checked against its OpenAPI schemas.

The schemas come from the endpoint's OpenAPI document, kept unchanged as Markdown in
tests/fixtures/seed. Three of them cannot hold for any correct response, so
`openapi_document` adjusts them and explains each adjustment where it makes it.
"""

import asyncio
import copy
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import event

from db.engine import Database
from resolvers.context import Caller, Services
from resolvers.secrets import SecretBox
from resolvers.trees import load_connector_tree
from tests.conftest import FIXTURES, TEST_SECRET_KEY, LiveServer, Tenant, make_tenant, sqlite_settings, start_server

OPENAPI_MARKDOWN = Path(__file__).parent / "fixtures" / "seed" / "create-http-connector.openapi.md"
OPENAPI_URI = "urn:openapi:create-http-connector"
PATH = "/api/connect/v1/o/{organisation_id}/protocols/http/connectors"
ERROR_STATUSES = {
    "INVALID_ARGUMENT": {400, 413, 415},
    "UNAUTHENTICATED": {401},
    "PERMISSION_DENIED": {403},
    "NOT_FOUND": {404},
    "ALREADY_EXISTS": {409},
    "FAILED_PRECONDITION": {409},
    "INTERNAL": {500},
}
COUNTS = """
query Counts($o: ULID!) {
  connectors(organisationId: $o) { totalCount }
  credentials(organisationId: $o) { totalCount }
}
"""

SCHEME_TYPES = {
    "none": "none",
    "apiKey": "api-key",
    "basicAuth": "basic-auth",
    "oauth2": "oauth2",
    "hmac": "hmac",
    "certificate": "certificate",
}
GRANT_TYPES = {"authorizationCode": "authorization_code", "clientCredentials": "client_credentials", "password": "password"}
CREDENTIAL_TYPES = {
    "none": "none",
    "string": "string",
    "binary": "binary",
    "basicAuth": "basic-auth",
    "oauth2Client": "oauth2-client",
    "oauth2Code": "oauth2-code",
    "oauth2Password": "oauth2-password",
    "oauth2Token": "oauth2-token",
    "certificate": "certificate",
}
# The OpenAPI schema of each credential type's data, and the fields it calls redacted in responses.
DATA_SCHEMAS = {
    "none": ("CredentialDataNone", ()),
    "string": ("CredentialDataString", ("value",)),
    "binary": ("CredentialDataBinary", ("valueBase64",)),
    "basic-auth": ("CredentialDataBasicAuth", ("password",)),
    "oauth2-client": ("CredentialDataOAuth2Client", ("clientSecret",)),
    "oauth2-password": ("CredentialDataOAuth2Password", ("password",)),
    "oauth2-token": ("CredentialDataOAuth2Token", ("accessToken", "refreshToken")),
    # The OpenAPI document does not call the private key redacted, but it is as secret as a password.
    "certificate": ("CredentialDataCertificate", ("key",)),
}
SECRET_FIELDS = {"value", "valueBase64", "password", "clientSecret", "accessToken", "refreshToken", "key", "code", "state"}
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))

ULID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("ulid")
def is_ulid(value: object) -> bool:
    return not isinstance(value, str) or bool(ULID_PATTERN.fullmatch(value))


@FORMATS.checks("date-time", raises=ValueError)
def is_utc_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value)
    return bool(UTC_TIMESTAMP.fullmatch(value))


def openapi_document() -> dict[str, Any]:
    """Load the endpoint's OpenAPI document, adjusted where no correct response could match it."""
    text = OPENAPI_MARKDOWN.read_text()
    start = text.index("````yaml")
    yaml_text = text[text.index("\n", start) + 1 : text.index("````", start + 4)]
    document = yaml.safe_load(yaml_text)
    schemas = document["components"]["schemas"]

    # OpenAPI 3.1 dropped 3.0's `nullable: true`, so read literally, `publishedAt` must be a
    # string even on a draft version, where it is null. Read it as the 3.0 keyword meant.
    def allow_null(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("nullable") is True and isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            for child in node.values():
                allow_null(child)
        elif isinstance(node, list):
            for child in node:
                allow_null(child)

    allow_null(document)

    # The description of an auth scheme config id calls it client-generated and only unique
    # within the connector, and the fixtures use names such as "oauth-app", not ULIDs.
    del schemas["AuthSchemeConfigBase"]["properties"]["id"]["format"]

    # Credential.data is a oneOf that no response can satisfy: basic-auth and
    # oauth2-password data have the same shape, and redaction drops required fields such as
    # `password`. The credential's `type` picks the variant instead, without its redacted fields.
    credential = schemas["Credential"]
    credential["properties"]["data"] = {"type": "object"}
    credential["allOf"] = [
        {
            "if": {"properties": {"type": {"const": credential_type}}, "required": ["type"]},
            "then": {"properties": {"data": {"$ref": f"#/components/schemas/{name}"}}},
        }
        for credential_type, (name, _) in DATA_SCHEMAS.items()
    ]
    for name, redacted in DATA_SCHEMAS.values():
        schema = schemas[name]
        if "required" in schema:
            schema["required"] = [field for field in schema["required"] if field not in redacted]
    return document


def openapi_validator(document: dict[str, Any], schema_name: str) -> Draft202012Validator:
    registry = Registry().with_resource(OPENAPI_URI, DRAFT202012.create_resource(document))
    schema = {"$ref": f"{OPENAPI_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=FORMATS)


DOCUMENT = openapi_document()
VALIDATORS = {name: openapi_validator(DOCUMENT, name) for name in ("HTTPConnector", "Error")}


def schema_problems(schema_name: str, body: Any) -> list[str]:
    errors = VALIDATORS[schema_name].iter_errors(body)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


def rest_config(config: dict[str, Any]) -> dict[str, Any]:
    """Convert one GraphQL AuthSchemeConfigInput to the REST AuthSchemeConfig."""
    ((key, fields),) = config.items()
    rest = {"schemeType": SCHEME_TYPES[key], **fields}
    for name in ("in", "algorithm"):
        if name in rest:
            rest[name] = rest[name].lower()
    if "digestInputs" in rest:
        rest["digestInputs"] = [item.lower() for item in rest["digestInputs"]]
    if "grant" in rest:
        ((grant_key, grant_fields),) = rest["grant"].items()
        rest["grant"] = {"grantType": GRANT_TYPES[grant_key], **grant_fields}
    return rest


def rest_link(link: dict[str, Any], schemes: dict[str, str], embedded: bool) -> dict[str, Any]:
    config_id = link["authSchemeConfigId"]
    rest: dict[str, Any] = (
        {"authSchemeConfig": {"id": config_id, "schemeType": schemes[config_id]}} if embedded else {"authSchemeConfigId": config_id}
    )
    if "credentialId" in link:
        rest["credentialId"] = link["credentialId"]
    if "credential" in link:
        credential = dict(link["credential"])
        ((data_key, data),) = credential.pop("data").items()
        rest["credential"] = {**credential, "type": CREDENTIAL_TYPES[data_key], "data": data}
    return rest


def rest_body(definition: dict[str, Any], *, embedded_config_refs: bool = False) -> dict[str, Any]:
    """Convert a GraphQL HTTPConnectorCreateInput fixture to the REST create body."""
    body = copy.deepcopy(definition)
    body["authSchemeConfigs"] = [rest_config(config) for config in body["authSchemeConfigs"]]
    schemes = {config["id"]: config["schemeType"] for config in body["authSchemeConfigs"]}
    if "tags" in body:
        body["tags"] = {tag["key"]: tag["values"] for tag in body["tags"]}
    for connection in body["connections"]:
        credentials = connection.get("credentials") or {}
        for purpose in ("action", "trigger"):
            if purpose in credentials:
                credentials[purpose] = [rest_link(link, schemes, embedded_config_refs) for link in credentials[purpose]]
    return body


def fixture_body(name: str, **options: Any) -> dict[str, Any]:
    return rest_body(json.loads((FIXTURES / f"{name}.json").read_text()), **options)


def secret_values(value: Any) -> list[str]:
    """Return every string that a body gives under a secret field name, variables aside."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_FIELDS and isinstance(item, str) and item:
                found.append(item)
            elif key not in ("connectionVariables", "variables"):
                found += secret_values(item)
    elif isinstance(value, list):
        for item in value:
            found += secret_values(item)
    return found


def url_of(tenant: Tenant, organisation_id: str | None = None) -> str:
    return tenant.server.url + PATH.format(organisation_id=organisation_id or tenant.organisation_id)


def check_against_openapi(response: httpx.Response) -> None:
    """Assert the response is an HTTPConnector (201), or an Error whose status matches its code."""
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    if response.status_code == 201:
        assert schema_problems("HTTPConnector", body) == []
    else:
        assert schema_problems("Error", body) == []
        assert response.status_code in ERROR_STATUSES[body["code"]], body


def post(
    tenant: Tenant,
    body: Any = None,
    *,
    organisation_id: str | None = None,
    content: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a create body as the tenant, and check the response against the OpenAPI schemas."""
    sent_headers = {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"} | (headers or {})
    if content is None:
        content = json.dumps(body).encode()
    response = tenant.client.post(url_of(tenant, organisation_id), content=content, headers=sent_headers)
    check_against_openapi(response)
    return response


def created(tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = post(tenant, body)
    assert response.status_code == 201, response.text
    return response.json()


def field_paths(response: httpx.Response) -> list[str]:
    return [item["field"] for item in response.json()["fields"]]


def counts(tenant: Tenant) -> tuple[int, int]:
    data = tenant.graphql(COUNTS, {"o": tenant.organisation_id})
    return data["connectors"]["totalCount"], data["credentials"]["totalCount"]


def link_at(body: dict[str, Any], purpose: str = "action", connection: int = 0, position: int = 0) -> dict[str, Any]:
    return body["connections"][connection]["credentials"][purpose][position]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_creates_connector(tenant: Tenant, path: Path) -> None:
    body = rest_body(json.loads(path.read_text()))

    response = post(tenant, body)

    assert response.status_code == 201, response.text
    connector = response.json()
    assert connector["organisationId"] == tenant.organisation_id
    assert connector["protocol"] == "http"
    assert connector["name"] == body["name"]
    assert connector["baseUrl"] == body["baseUrl"]
    assert connector["public"] == body.get("public", False)
    assert connector["tags"] == body.get("tags", {})
    assert connector["connectionVariables"] == body.get("connectionVariables", [])
    assert [config["id"] for config in connector["authSchemeConfigs"]] == [config["id"] for config in body["authSchemeConfigs"]]
    assert [config["schemeType"] for config in connector["authSchemeConfigs"]] == [config["schemeType"] for config in body["authSchemeConfigs"]]
    assert [connection["name"] for connection in connector["connections"]] == [connection["name"] for connection in body["connections"]]
    for sent, read in zip(body["connections"], connector["connections"], strict=True):
        for purpose in ("action", "trigger"):
            sent_links = (sent.get("credentials") or {}).get(purpose) or []
            read_links = read["credentials"][purpose]
            assert [link["authSchemeConfig"]["id"] for link in read_links] == [link["authSchemeConfigId"] for link in sent_links]
            assert [link["credential"]["type"] for link in read_links] == [link["credential"]["type"] for link in sent_links]
            assert [link["credential"]["name"] for link in read_links] == [link["credential"]["name"] for link in sent_links]
    assert [(version["name"], version["publishedAt"]) for version in connector["versions"]] == [("1", None)]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture_secrets_absent(tenant: Tenant, path: Path) -> None:
    body = rest_body(json.loads(path.read_text()))
    secrets = secret_values(body)

    response = post(tenant, body)

    assert response.status_code == 201, response.text
    for secret in secrets:
        assert secret not in response.text
    for connection in response.json()["connections"]:
        for link in connection["credentials"]["action"] + connection["credentials"]["trigger"]:
            assert SECRET_FIELDS.isdisjoint(link["credential"]["data"])


def test_wire_enums_lower_case(tenant: Tenant) -> None:
    connector = created(tenant, fixture_body("stripe"))

    api_key, hmac = connector["authSchemeConfigs"]
    assert (api_key["schemeType"], api_key["in"]) == ("api-key", "header")
    assert (hmac["schemeType"], hmac["in"], hmac["algorithm"], hmac["digestInputs"]) == ("hmac", "header", "sha256", ["body"])


def test_grant_reads_back_without_secret(tenant: Tenant) -> None:
    connector = created(tenant, fixture_body("github"))

    grant = connector["authSchemeConfigs"][0]["grant"]
    assert grant["grantType"] == "authorization_code"
    assert grant["organisationId"] == tenant.organisation_id
    assert grant["clientId"] == "Iv1.FAKE0000000000"
    assert ULID_PATTERN.fullmatch(grant["credentialId"])
    assert "clientSecret" not in grant


def test_credential_data_public_fields(tenant: Tenant) -> None:
    token = link_at(created(tenant, fixture_body("github")))["credential"]
    basic = link_at(created(tenant, fixture_body("twilio")))["credential"]
    client = link_at(created(tenant, fixture_body("auth0")))["credential"]

    assert (token["type"], token["data"]) == ("oauth2-token", {"scopes": ["read:user", "repo"]})
    assert basic["type"] == "basic-auth"
    assert list(basic["data"]) == ["username"]
    assert client["type"] == "oauth2-client"
    assert "clientSecret" not in client["data"]
    assert client["data"]["authorizeUrl"] == ""


def test_oauth2_code_reads_as_token(tenant: Tenant) -> None:
    body = fixture_body("github")
    link_at(body)["credential"] = {"name": "code", "type": "oauth2-code", "data": {"code": "FAKE-code-1", "state": "FAKE-state-1"}}

    response = post(tenant, body)

    assert response.status_code == 201, response.text
    credential = link_at(response.json())["credential"]
    assert (credential["type"], credential["data"]) == ("oauth2-token", {"scopes": []})
    assert "FAKE-code-1" not in response.text
    assert "FAKE-state-1" not in response.text


def test_tags_map_round_trips(tenant: Tenant) -> None:
    body = fixture_body("sendgrid") | {"tags": {"category": ["email", "marketing"], "beta": [], "region name": ["eu"]}}

    connector = created(tenant, body)

    assert connector["tags"] == {"category": ["email", "marketing"], "beta": [], "region name": ["eu"]}


def test_expires_at_stored_in_utc(tenant: Tenant) -> None:
    body = fixture_body("sendgrid")
    link_at(body)["credential"]["expiresAt"] = "2030-01-31T13:00:00+01:00"

    connector = created(tenant, body)

    assert link_at(connector)["credential"]["expiresAt"] == "2030-01-31T12:00:00.000000Z"


def test_lower_case_organisation_id(tenant: Tenant) -> None:
    response = post(tenant, fixture_body("sendgrid"), organisation_id=tenant.organisation_id.lower())

    assert response.status_code == 201, response.text
    assert response.json()["organisationId"] == tenant.organisation_id


def test_embedded_config_reference(tenant: Tenant) -> None:
    body = fixture_body("stripe", embedded_config_refs=True)

    connector = created(tenant, body)

    assert link_at(connector)["authSchemeConfig"]["id"] == "secret-key"
    assert link_at(connector, "trigger")["authSchemeConfig"]["schemeType"] == "hmac"


def test_embedded_config_scheme_mismatch(tenant: Tenant) -> None:
    body = fixture_body("stripe", embedded_config_refs=True)
    link_at(body)["authSchemeConfig"]["schemeType"] = "basic-auth"

    response = post(tenant, body)

    assert response.status_code == 400
    assert field_paths(response) == ["connections[0].credentials.action[0].authSchemeConfig.schemeType"]


def test_embedded_config_unknown_id(tenant: Tenant) -> None:
    body = fixture_body("stripe", embedded_config_refs=True)
    link_at(body)["authSchemeConfig"]["id"] = "missing"

    response = post(tenant, body)

    assert response.status_code == 400
    assert field_paths(response) == ["connections[0].credentials.action[0].authSchemeConfig.id"]


def test_both_config_reference_forms(tenant: Tenant) -> None:
    body = fixture_body("stripe", embedded_config_refs=True)
    link_at(body)["authSchemeConfigId"] = "secret-key"

    response = post(tenant, body)

    assert response.status_code == 400
    assert field_paths(response) == ["connections[0].credentials.action[0]"]


def test_credential_reuse_lists_usages(tenant: Tenant) -> None:
    first = created(tenant, fixture_body("sendgrid"))
    credential_id = link_at(first)["credential"]["id"]
    body = fixture_body("sendgrid") | {"name": "SendGrid again"}
    link_at(body).pop("credential")
    link_at(body)["credentialId"] = credential_id.lower()

    second = created(tenant, body)

    credential = link_at(second)["credential"]
    assert credential["id"] == credential_id
    assert [usage["connection"]["connector"]["id"] for usage in credential["usages"]] == [first["id"], second["id"]]


def test_invalid_urls_report_paths(tenant: Tenant) -> None:
    body = fixture_body("github") | {"baseUrl": "ftp://api.github.com"}
    body["authSchemeConfigs"][0]["tokenUrl"] = "not a url"

    response = post(tenant, body)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert field_paths(response) == ["baseUrl", "authSchemeConfigs[0].tokenUrl"]


def test_userinfo_in_url_rejected(tenant: Tenant) -> None:
    body = fixture_body("github") | {"baseUrl": "https://octocat:rest-password-canary@api.github.com"}

    response = post(tenant, body)

    assert response.status_code == 400
    assert response.json()["fields"] == [
        {"field": "baseUrl", "message": "must not contain a user name or password before the host (user:password@); store them in a credential instead."}
    ]
    assert "rest-password-canary" not in response.text
    assert counts(tenant) == (0, 0)


@pytest.mark.parametrize(
    "fixture,index,name,kind",
    [("stripe", 0, "Authorization:", "HTTP header name"), ("github", 1, "X Hub Signature", "HTTP header name"), ("legacy-erp", 0, "ERP=SESSION", "cookie name")],
)
def test_invalid_header_name_rejected(tenant: Tenant, fixture: str, index: int, name: str, kind: str) -> None:
    body = fixture_body(fixture)
    body["authSchemeConfigs"][index]["name"] = name

    response = post(tenant, body)

    assert response.status_code == 400
    assert response.json()["fields"] == [
        {
            "field": f"authSchemeConfigs[{index}].name",
            "message": f"is not a valid {kind}: use only ASCII letters, digits and the characters !#$%&'*+-.^_`|~, "
            "without spaces, colons or other separators.",
        }
    ]
    assert counts(tenant) == (0, 0)


def test_duplicate_config_ids_report_path(tenant: Tenant) -> None:
    body = fixture_body("stripe")
    body["authSchemeConfigs"][1]["id"] = body["authSchemeConfigs"][0]["id"]

    response = post(tenant, body)

    assert response.status_code == 400
    assert "authSchemeConfigs[1].id" in field_paths(response)


def test_unknown_config_id_reports_path(tenant: Tenant) -> None:
    body = fixture_body("sendgrid")
    link_at(body)["authSchemeConfigId"] = "nope"

    response = post(tenant, body)

    assert response.status_code == 400
    assert field_paths(response) == ["connections[0].credentials.action[0].authSchemeConfigId"]


def test_unknown_credential_id_reports_path(tenant: Tenant) -> None:
    body = fixture_body("sendgrid")
    link_at(body).pop("credential")
    link_at(body)["credentialId"] = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

    response = post(tenant, body)

    assert response.status_code == 400
    assert field_paths(response) == ["connections[0].credentials.action[0].credentialId"]


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b'{"name": NaN}', b"\xff\xfe{}", b'{"name": "a"}}', b"[" * 5000 + b"]" * 5000],
    ids=["empty", "truncated", "nan", "not-utf8", "trailing", "deep"],
)
def test_malformed_json_is_400(tenant: Tenant, content: bytes) -> None:
    response = post(tenant, content=content)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert response.json()["message"] == "The request body is not valid JSON."


@pytest.mark.parametrize("content", [b"[]", b'"connector"', b"42", b"null"], ids=["array", "string", "number", "null"])
def test_non_object_body_is_400(tenant: Tenant, content: bytes) -> None:
    response = post(tenant, content=content)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"


def set_in(*keys: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    """Return a change that sets the value at a path of keys and indexes."""

    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


ACTION = ("connections", 0, "credentials", "action", 0)
WRONG_TYPES = [
    ("stripe", set_in("name", value=5), "name"),
    ("stripe", set_in("baseUrl", value=["https://api.stripe.com"]), "baseUrl"),
    ("stripe", set_in("public", value="yes"), "public"),
    ("stripe", set_in("tags", value=["payments"]), "tags"),
    ("stripe", set_in("tags", value={"category": "payments"}), "tags.category"),
    ("stripe", set_in("tags", value={"category": [1]}), "tags.category[0]"),
    ("stripe", set_in("tags", value={"": ["x"]}), 'tags[""]'),
    ("stripe", set_in("connectionVariables", value="x"), "connectionVariables"),
    ("stripe", set_in("connectionVariables", value=[{"name": 1, "value": "v"}]), "connectionVariables[0].name"),
    ("stripe", set_in("authSchemeConfigs", value={"id": "x"}), "authSchemeConfigs"),
    ("stripe", set_in("authSchemeConfigs", 0, value="api-key"), "authSchemeConfigs[0]"),
    ("stripe", set_in("authSchemeConfigs", 0, "id", value=["secret-key"]), "authSchemeConfigs[0].id"),
    ("stripe", set_in("authSchemeConfigs", 0, "schemeType", value=["api-key"]), "authSchemeConfigs[0].schemeType"),
    ("stripe", set_in("authSchemeConfigs", 1, "digestInputs", value="body"), "authSchemeConfigs[1].digestInputs"),
    ("github", set_in("authSchemeConfigs", 0, "grant", "grantType", value={}), "authSchemeConfigs[0].grant.grantType"),
    ("github", set_in("authSchemeConfigs", 0, "scopes", value="repo"), "authSchemeConfigs[0].scopes"),
    ("github", set_in("authSchemeConfigs", 0, "mtlsEnabled", value="true"), "authSchemeConfigs[0].mtlsEnabled"),
    ("stripe", set_in("connections", value={}), "connections"),
    ("stripe", set_in("connections", 0, "credentials", value=[]), "connections[0].credentials"),
    ("stripe", set_in("connections", 0, "credentials", "action", value={}), "connections[0].credentials.action"),
    ("stripe", set_in(*ACTION, "credential", "type", value=["string"]), "connections[0].credentials.action[0].credential.type"),
    ("stripe", set_in(*ACTION, "credential", "data", value="sk_FAKE"), "connections[0].credentials.action[0].credential.data"),
    ("stripe", set_in(*ACTION, "credential", "data", "value", value=42), "connections[0].credentials.action[0].credential.data.value"),
    ("stripe", set_in(*ACTION, "credential", "expiresAt", value="tomorrow"), "connections[0].credentials.action[0].credential.expiresAt"),
    ("stripe", set_in(*ACTION, "credential", "expiresAt", value=1767225600), "connections[0].credentials.action[0].credential.expiresAt"),
    ("stripe", set_in(*ACTION, "credential", "expiresAt", value="2030-01-31T12:00:00"), "connections[0].credentials.action[0].credential.expiresAt"),
    ("stripe", set_in(*ACTION, "credential", "expiresAt", value="0001-01-01T00:00:00+01:00"), "connections[0].credentials.action[0].credential.expiresAt"),
    ("stripe", set_in(*ACTION, "credentialId", value=12), "connections[0].credentials.action[0].credentialId"),
    ("stripe", set_in(*ACTION, "authSchemeConfigId", value={"id": "secret-key"}), "connections[0].credentials.action[0].authSchemeConfigId"),
]


@pytest.mark.parametrize(("fixture", "change", "path"), WRONG_TYPES, ids=[case[2] + f"#{index}" for index, case in enumerate(WRONG_TYPES)])
def test_wrong_type_reports_path(tenant: Tenant, fixture: str, change: Callable[[dict[str, Any]], None], path: str) -> None:
    body = fixture_body(fixture)
    change(body)

    response = post(tenant, body)

    assert response.status_code == 400, response.text
    assert path in field_paths(response)


def test_errors_listed_together(tenant: Tenant) -> None:
    body = fixture_body("stripe") | {"name": 5, "extra": True}
    link_at(body)["credential"]["expiresAt"] = "tomorrow"
    body["authSchemeConfigs"][1]["algorithm"] = "md5"

    response = post(tenant, body)

    assert response.status_code == 400
    assert sorted(field_paths(response)) == sorted(
        ["extra", "connections[0].credentials.action[0].credential.expiresAt", "name", "authSchemeConfigs[1].algorithm"]
    )


def test_unknown_fields_rejected(tenant: Tenant) -> None:
    body = fixture_body("github") | {"protocol": "http", "connectors": []}
    body["authSchemeConfigs"][0]["tokenURL"] = "https://github.com/login/oauth/access_token"
    body["authSchemeConfigs"][1]["__path__"] = "name"
    link_at(body)["credential"]["data"]["__path__"] = "x"
    body["connections"][0]["enabled"] = True

    response = post(tenant, body)

    assert response.status_code == 400
    assert field_paths(response) == [
        "protocol",
        "connectors",
        "authSchemeConfigs[0].tokenURL",
        "authSchemeConfigs[1].__path__",
        "connections[0].enabled",
        "connections[0].credentials.action[0].credential.data.__path__",
    ]


def test_missing_api_key_is_401(tenant: Tenant) -> None:
    response = tenant.client.post(url_of(tenant), json=fixture_body("sendgrid"))

    check_against_openapi(response)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_api_key_is_401(tenant: Tenant) -> None:
    response = post(tenant, fixture_body("sendgrid"), headers={"Authorization": "Bearer cgw_not-a-key"})

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_other_organisation_is_404(tenant: Tenant, other_tenant: Tenant) -> None:
    response = post(tenant, fixture_body("sendgrid"), organisation_id=other_tenant.organisation_id)

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert counts(other_tenant) == (0, 0)
    assert counts(tenant) == (0, 0)


def test_invalid_organisation_id_is_400(tenant: Tenant) -> None:
    response = post(tenant, fixture_body("sendgrid"), organisation_id="not-a-ulid")

    assert response.status_code == 400
    assert field_paths(response) == ["organisation_id"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", ""],
    ids=["text", "form", "latin-1", "missing"],
)
def test_wrong_content_type_is_415(tenant: Tenant, content_type: str) -> None:
    response = post(tenant, fixture_body("sendgrid"), headers={"Content-Type": content_type})

    assert response.status_code == 415
    assert counts(tenant) == (0, 0)


def test_charset_utf8_accepted(tenant: Tenant) -> None:
    response = post(tenant, fixture_body("sendgrid"), headers={"Content-Type": "application/json; charset=UTF-8"})

    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def small_body_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(sqlite_settings(tmp_path_factory.mktemp("small-body"), max_body_bytes=2048))
    yield live
    live.stop()


def test_oversized_body_is_413(small_body_server: LiveServer, http: httpx.Client) -> None:
    small = make_tenant(small_body_server, http)
    body = fixture_body("sendgrid") | {"documentationURL": "https://docs.sendgrid.com/" + "a" * 3000}

    declared = post(small, body)
    streamed = post(small, content=iter([json.dumps(body).encode()]))

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert "transfer-encoding" not in declared.request.headers
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    assert counts(small) == (0, 0)


def test_failed_requests_write_nothing(tenant: Tenant) -> None:
    invalid = fixture_body("github")
    invalid["authSchemeConfigs"][0]["tokenUrl"] = "nope"
    missing_credential = fixture_body("stripe")
    link_at(missing_credential, "trigger").pop("credential")
    link_at(missing_credential, "trigger")["credentialId"] = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

    statuses = [
        post(tenant, invalid).status_code,
        post(tenant, missing_credential).status_code,
        post(tenant, content=b"{").status_code,
    ]

    assert statuses == [400, 400, 400]
    assert counts(tenant) == (0, 0)


def test_unexpected_error_is_masked(tenant: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def fail(*_args: Any) -> None:
        raise RuntimeError("SELECT secret FROM credential WHERE value = 'sk_FAKE'")

    monkeypatch.setattr("app.rest.create_http_connector", fail)

    with caplog.at_level(logging.ERROR, logger="app.rest"):
        response = post(tenant, fixture_body("sendgrid"))

    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "INTERNAL"
    assert "SELECT" not in response.text
    assert "sk_FAKE" not in response.text
    records = [record for record in caplog.records if record.levelno == logging.ERROR and record.name == "app.rest"]
    assert len(records) == 1
    assert records[0].error_id in body["message"]
    assert records[0].error_id in body["details"]


def tree_statements(server: LiveServer, organisation_id: str, connector_id: str) -> int:
    """Load a connector's tree through a second engine on the same database and count its SQL."""

    async def run() -> int:
        database = Database(server.database_url)
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                statements.append(statement)

        event.listen(database.engine.sync_engine, "before_cursor_execute", record)
        try:
            services = Services(database=database, secret_box=SecretBox([TEST_SECRET_KEY]))
            tree = await load_connector_tree(services, Caller("test", frozenset({organisation_id})), connector_id)
        finally:
            await database.dispose()
        assert tree is not None
        return len(statements)

    return asyncio.run(run())


def test_tree_load_statement_count_fixed(tenant: Tenant) -> None:
    small = created(tenant, fixture_body("sendgrid"))
    large_body = fixture_body("stripe") | {"name": "Stripe, three accounts"}
    large_body["connections"] = [dict(large_body["connections"][0], name=f"account {index}") for index in range(3)]
    large = created(tenant, large_body)

    small_count = tree_statements(tenant.server, tenant.organisation_id, small["id"])
    large_count = tree_statements(tenant.server, tenant.organisation_id, large["id"])

    assert len(large["connections"]) == 3
    assert small_count == large_count == 7


def test_tree_of_other_organisation_is_none(tenant: Tenant, other_tenant: Tenant) -> None:
    connector = created(tenant, fixture_body("sendgrid"))

    async def run() -> Any:
        database = Database(tenant.server.database_url)
        try:
            services = Services(database=database, secret_box=SecretBox([TEST_SECRET_KEY]))
            return await load_connector_tree(services, Caller("test", frozenset({other_tenant.organisation_id})), connector["id"])
        finally:
            await database.dispose()

    assert asyncio.run(run()) is None


def node_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the key path of every object member and list item under `value`."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        yield (*prefix, key)
        yield from node_paths(child, (*prefix, key))


# One value of each JSON type that a field can wrongly have.
WRONG_VALUES = [None, 7, "text", [1], {"x": 1}]


@pytest.mark.parametrize(("fixture", "embedded_config_refs"), [("github", True), ("open-banking", False)])
def test_wrong_types_never_500(tenant: Tenant, fixture: str, embedded_config_refs: bool) -> None:
    original = fixture_body(fixture, embedded_config_refs=embedded_config_refs)
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    statuses: dict[tuple[Any, ...], set[int]] = {}

    for path in node_paths(original):
        for value in WRONG_VALUES:
            body = copy.deepcopy(original)
            set_in(*path, value=value)(body)
            # The schema check is left out here to keep this sweep of several hundred requests fast.
            response = tenant.client.post(url_of(tenant), json=body, headers=headers)
            statuses.setdefault(path, set()).add(response.status_code)

    unexpected = {path: codes for path, codes in statuses.items() if not codes <= {201, 400}}
    assert unexpected == {}
