"""Turn GraphQL inputs into the REST (seed) shape that the resolvers validate and store.

GraphQL one-of keys become the REST discriminators (`schemeType`, `grantType`, `type`),
enum members become wire values, and each node whose GraphQL path differs from its REST
path records `__path__`, so error paths name the fields as the client sent them.
"""

from enum import Enum
from typing import Any

import strawberry
from strawberry.types.base import has_object_definition
from strawberry.utils.str_converters import to_camel_case

SCHEME_KEYS = {
    "none": "none",
    "apiKey": "api-key",
    "basicAuth": "basic-auth",
    "oauth2": "oauth2",
    "hmac": "hmac",
    "certificate": "certificate",
}
GRANT_KEYS = {
    "authorizationCode": "authorization_code",
    "clientCredentials": "client_credentials",
    "password": "password",
}
CREDENTIAL_KEYS = {
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


def to_plain(value: Any) -> Any:
    """Convert a Strawberry input object to dicts keyed by GraphQL field names."""
    if value is None or value is strawberry.UNSET:
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if has_object_definition(value):
        plain = {}
        for field in value.__strawberry_definition__.fields:
            item = getattr(value, field.python_name)
            if item is not strawberry.UNSET:
                plain[field.graphql_name or to_camel_case(field.python_name)] = to_plain(item)
        plain.pop("unused", None)
        return plain
    return value


def _unwrap_one_of(value: dict[str, Any], keys: dict[str, str], path: str) -> tuple[str, dict[str, Any], str]:
    (key, inner), *_ = ((key, inner) for key, inner in value.items() if inner is not None)
    return keys[key], dict(inner), f"{path}.{key}"


def connector_spec(input_value: Any) -> dict[str, Any]:
    spec = to_plain(input_value)
    spec["authSchemeConfigs"] = [
        _config_spec(config, f"authSchemeConfigs[{index}]") for index, config in enumerate(spec["authSchemeConfigs"])
    ]
    for index, connection in enumerate(spec["connections"]):
        _connection_spec(connection, f"connections[{index}]")
    return spec


def _config_spec(config: dict[str, Any], path: str) -> dict[str, Any]:
    scheme_type, inner, inner_path = _unwrap_one_of(config, SCHEME_KEYS, path)
    inner |= {"schemeType": scheme_type, "__path__": inner_path}
    if inner.get("grant"):
        grant_type, grant, grant_path = _unwrap_one_of(inner["grant"], GRANT_KEYS, f"{inner_path}.grant")
        inner["grant"] = grant | {"grantType": grant_type, "__path__": grant_path}
    return inner


def _connection_spec(connection: dict[str, Any], path: str) -> None:
    credentials = connection.get("credentials") or {}
    for purpose in ("action", "trigger"):
        for index, item in enumerate(credentials.get(purpose) or []):
            if item.get("credential"):
                item["credential"] = credential_spec(item["credential"], f"{path}.credentials.{purpose}[{index}].credential")


def credential_spec(credential: dict[str, Any], path: str) -> dict[str, Any]:
    credential_type, data, data_path = _unwrap_one_of(credential["data"], CREDENTIAL_KEYS, f"{path}.data")
    return {**credential, "type": credential_type, "data": data | {"__path__": data_path}}


def auth_scheme_config_spec(input_value: Any, path: str) -> dict[str, Any]:
    """Convert one AuthSchemeConfigInput sent as the argument `path`."""
    return _config_spec(to_plain(input_value), path)


def connection_create_spec(input_value: Any, path: str) -> dict[str, Any]:
    """Convert a ConnectionCreateInput sent as the argument `path`."""
    connection = to_plain(input_value)
    _connection_spec(connection, path)
    return connection


def credential_create_spec(input_value: Any, path: str) -> dict[str, Any]:
    return credential_spec(to_plain(input_value), path)


def credential_patch_spec(input_value: Any, path: str) -> dict[str, Any]:
    """Convert a CredentialUpdateInput; only the fields the client sent appear, nulls included."""
    patch = to_plain(input_value)
    if patch.get("data") is not None:
        credential_type, data, data_path = _unwrap_one_of(patch["data"], CREDENTIAL_KEYS, f"{path}.data")
        patch["type"] = credential_type
        patch["data"] = data | {"__path__": data_path}
    return patch
