"""JSON bodies of the REST façade: the create request in, the HTTPConnector response out.

The resolvers take the REST shape already, so the request side changes little:

- `tags` is a map from key to values (`{"category": ["crm"]}`) and becomes the resolvers'
  list of `{key, values}`. A key may have no values (`[]`).
- The create schema leaves the items of `connections` open, so they take the upstream
  ConnectionCreate shape: `{name, variables, credentials: {action: [...], trigger: [...]}}`.
  Each credential item names its auth scheme config either as `authSchemeConfigId: "<id>"`
  or, as upstream clients send it, as `authSchemeConfig: {id: "<id>", ...}`. Of that embedded
  config only `id` and `schemeType` are read, and `schemeType` must match the connector's
  config with that id. Its other AuthSchemeConfig fields are accepted and ignored, because
  the connector's own `authSchemeConfigs` define the config. The item then gives either
  `credential: {name, type, data, expiresAt?}` to create a credential or `credentialId` to
  reuse one.
- `documentationURL` and `imageURL` are accepted beside the create schema's own fields,
  because the connector returns them.
- Unknown fields are rejected at every level, as the typed GraphQL inputs are. This also
  rejects keys starting with `__`, which the resolvers reserve for adapter bookkeeping.
- `expiresAt` must be an RFC 3339 timestamp with a timezone.

Error paths are the client's own. Where the resolvers' path differs (a tag, an embedded
config id), `CreateBody.client_error` rewrites it.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from db import models
from db.loaders import CredentialUsageRow
from resolvers.credential_types import READ_TYPE, SHAPES
from resolvers.errors import DomainError, ErrorCode, FieldError, FieldErrors
from resolvers.trees import LoadedConnectorTree
from resolvers.validation import PURPOSES, SCHEME_TYPES, validate_connector
from schema.scalars import serialize_datetime

CONNECTOR_FIELDS = (
    "name",
    "baseUrl",
    "documentationURL",
    "imageURL",
    "public",
    "tags",
    "connectionVariables",
    "authSchemeConfigs",
    "connections",
)
_CONFIG_BASE_FIELDS = ("id", "description", "schemeType", "validationMessages")
CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "none": _CONFIG_BASE_FIELDS,
    "basic-auth": _CONFIG_BASE_FIELDS,
    "certificate": _CONFIG_BASE_FIELDS,
    "api-key": (*_CONFIG_BASE_FIELDS, "name", "in"),
    "hmac": (*_CONFIG_BASE_FIELDS, "name", "in", "algorithm", "digestInputs"),
    "oauth2": (
        *_CONFIG_BASE_FIELDS,
        "authorizeUrl",
        "tokenUrl",
        "scopes",
        "defaultScopes",
        "additionalAuthorizeParams",
        "additionalTokenParams",
        "mtlsEnabled",
        "mtlsCredentialId",
        "grant",
    ),
}
# For a config whose schemeType is missing or invalid, which the resolvers report.
ALL_CONFIG_FIELDS = tuple(dict.fromkeys(name for names in CONFIG_FIELDS.values() for name in names))
_GRANT_CREDENTIAL_FIELDS = ("grantType", "credentialId", "organisationId", "clientId", "clientSecret")
GRANT_FIELDS: dict[str, tuple[str, ...]] = {
    "authorization_code": _GRANT_CREDENTIAL_FIELDS,
    "password": _GRANT_CREDENTIAL_FIELDS,
    "client_credentials": ("grantType",),
}
SCOPE_FIELDS = ("name", "description")
VARIABLE_FIELDS = ("name", "value")
CONNECTION_FIELDS = ("name", "variables", "credentials")
CONNECTION_CREDENTIAL_FIELDS = ("authSchemeConfigId", "authSchemeConfig", "credentialId", "credential")
CREDENTIAL_FIELDS = ("name", "type", "data", "expiresAt")

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# The date-time of RFC 3339, section 5.6, which also allows a lower-case t and z and a space for the T.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
TIMESTAMP_HINT = "must be an RFC 3339 timestamp with a timezone, such as 2026-01-31T12:00:00Z."


def key_path(parent: str, key: str) -> str:
    """Return the path of `key` under `parent`, quoting keys that are not plain names."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{orjson.dumps(key).decode()}]"


def parse_timestamp(value: Any) -> datetime | None:
    """Return an RFC 3339 timestamp as an aware UTC datetime, or None when it is not one."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    text = value[:10] + "T" + value[11:]
    text = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        # Out-of-range fields, or an offset that moves the instant outside years 1 to 9999.
        return None


@dataclass
class CreateBody:
    """A create body in the resolvers' shape, with the problems found while converting it.

    `client_paths` maps a resolver path prefix to the client's path for the same node.
    """

    spec: dict[str, Any]
    errors: FieldErrors = field(default_factory=FieldErrors)
    client_paths: dict[str, str] = field(default_factory=dict)

    def client_path(self, path: str) -> str:
        matches = [prefix for prefix in self.client_paths if _is_within(path, prefix)]
        if not matches:
            return path
        prefix = max(matches, key=len)
        return self.client_paths[prefix] + path[len(prefix) :]

    def client_error(self, error: DomainError) -> DomainError:
        """Return the resolvers' error with client paths, after this body's own problems.

        A resolver problem at or under a path that the conversion already reported is
        dropped, since it restates the same problem.
        """
        reported = [item.field for item in self.errors.items]
        fields = list(self.errors.items)
        for item in error.fields:
            path = self.client_path(item.field)
            if any(_is_within(path, other) for other in reported):
                continue
            fields.append(FieldError(path, item.message))
            reported.append(path)
        return DomainError(error.code, error.message, fields, error.details)

    def raise_if_invalid(self) -> None:
        """Raise every problem at once: the conversion's and the resolvers' validation."""
        if not self.errors:
            return
        others = FieldErrors()
        validate_connector(self.spec, others)
        message = "The input is invalid; see `fields` for each problem."
        raise self.client_error(DomainError(ErrorCode.INVALID_ARGUMENT, message, list(others.items)))


def _is_within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith((ancestor + ".", ancestor + "["))


def read_create_body(raw: dict[str, Any]) -> CreateBody:
    """Convert a parsed create body to the resolvers' shape, recording every problem found."""
    body = CreateBody(spec={})
    spec = _known_fields(body, raw, "", CONNECTOR_FIELDS, "HTTPConnectorCreate")
    body.spec = spec
    if "tags" in spec:
        spec["tags"] = _tag_list(body, spec["tags"])

    configs = spec.get("authSchemeConfigs")
    if isinstance(configs, list):
        spec["authSchemeConfigs"] = [_config(body, item, f"authSchemeConfigs[{index}]") for index, item in enumerate(configs)]
        scheme_by_id = {
            item["id"]: item.get("schemeType") for item in spec["authSchemeConfigs"] if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
    else:
        scheme_by_id = {}

    variables = spec.get("connectionVariables")
    if isinstance(variables, list):
        spec["connectionVariables"] = _objects(body, variables, "connectionVariables", VARIABLE_FIELDS, "a connection variable")
    connections = spec.get("connections")
    if isinstance(connections, list):
        spec["connections"] = [
            _connection(body, item, f"connections[{index}]", scheme_by_id) for index, item in enumerate(connections)
        ]
    return body


def _known_fields(body: CreateBody, value: dict[str, Any], path: str, allowed: tuple[str, ...], kind: str) -> dict[str, Any]:
    """Return a copy of `value` with only the allowed fields, reporting each other field."""
    for key in value:
        if key not in allowed:
            body.errors.add(key_path(path, key), f"is not a field of {kind}; the fields are: {', '.join(allowed)}.")
    return {key: item for key, item in value.items() if key in allowed}


def _objects(body: CreateBody, items: list[Any], path: str, allowed: tuple[str, ...], kind: str) -> list[Any]:
    return [
        _known_fields(body, item, f"{path}[{index}]", allowed, kind) if isinstance(item, dict) else item
        for index, item in enumerate(items)
    ]


def _string_or_none(body: CreateBody, node: dict[str, Any], key: str, path: str) -> None:
    """Report and clear a non-string discriminator or id, which the resolvers look up in dicts."""
    value = node.get(key)
    if value is not None and not isinstance(value, str):
        body.errors.add(key_path(path, key), "must be a string.")
        node[key] = None


def _tag_list(body: CreateBody, tags: Any) -> list[dict[str, Any]] | None:
    if tags is None:
        return None
    if not isinstance(tags, dict):
        body.errors.add("tags", 'must be an object that maps each tag key to a list of values, such as {"category": ["crm"]}.')
        return None
    listed = []
    for index, (key, values) in enumerate(tags.items()):
        client = key_path("tags", key)
        for suffix in ("", ".key", ".values"):
            body.client_paths[f"tags[{index}]{suffix}"] = client
        listed.append({"key": key, "values": values})
    return listed


def _config(body: CreateBody, config: Any, path: str) -> Any:
    if not isinstance(config, dict):
        return config
    config = dict(config)
    _string_or_none(body, config, "schemeType", path)
    _string_or_none(body, config, "id", path)
    scheme_type = config.get("schemeType")
    if scheme_type in CONFIG_FIELDS:
        config = _known_fields(body, config, path, CONFIG_FIELDS[scheme_type], f"a {scheme_type} auth scheme config")
    else:
        config = _known_fields(body, config, path, ALL_CONFIG_FIELDS, "an auth scheme config")
    # validationMessages is output only; the API documents it as ignored on input.
    config.pop("validationMessages", None)

    if isinstance(config.get("scopes"), list):
        config["scopes"] = _objects(body, config["scopes"], f"{path}.scopes", SCOPE_FIELDS, "an OAuth 2.0 scope")
    if isinstance(config.get("grant"), dict):
        config["grant"] = _grant(body, config["grant"], f"{path}.grant")
    return config


def _grant(body: CreateBody, grant: dict[str, Any], path: str) -> dict[str, Any]:
    grant = dict(grant)
    _string_or_none(body, grant, "grantType", path)
    grant_type = grant.get("grantType")
    if grant_type in GRANT_FIELDS:
        return _known_fields(body, grant, path, GRANT_FIELDS[grant_type], f"an OAuth 2.0 {grant_type} grant")
    return _known_fields(body, grant, path, _GRANT_CREDENTIAL_FIELDS, "an OAuth 2.0 grant")


def _connection(body: CreateBody, connection: Any, path: str, scheme_by_id: dict[str, Any]) -> Any:
    if not isinstance(connection, dict):
        return connection
    connection = _known_fields(body, connection, path, CONNECTION_FIELDS, "a connection")
    if isinstance(connection.get("variables"), list):
        connection["variables"] = _objects(body, connection["variables"], f"{path}.variables", VARIABLE_FIELDS, "a connection variable")
    credentials = connection.get("credentials")
    if not isinstance(credentials, dict):
        return connection

    credentials = _known_fields(body, credentials, f"{path}.credentials", PURPOSES, "the connection's credentials")
    for purpose in PURPOSES:
        items = credentials.get(purpose)
        if isinstance(items, list):
            credentials[purpose] = [
                _connection_credential(body, item, f"{path}.credentials.{purpose}[{index}]", scheme_by_id)
                for index, item in enumerate(items)
            ]
    connection["credentials"] = credentials
    return connection


def _connection_credential(body: CreateBody, item: Any, path: str, scheme_by_id: dict[str, Any]) -> Any:
    if not isinstance(item, dict):
        return item
    item = _known_fields(body, item, path, CONNECTION_CREDENTIAL_FIELDS, "a connection credential")
    if "authSchemeConfig" in item:
        _embedded_config_reference(body, item, path, scheme_by_id)
    credential = item.get("credential")
    if isinstance(credential, dict):
        item["credential"] = _credential(body, credential, f"{path}.credential")
    return item


def _embedded_config_reference(body: CreateBody, item: dict[str, Any], path: str, scheme_by_id: dict[str, Any]) -> None:
    """Replace the upstream `authSchemeConfig: {id, ...}` form by `authSchemeConfigId`."""
    reference = item.pop("authSchemeConfig")
    reference_path = f"{path}.authSchemeConfig"
    if "authSchemeConfigId" in item:
        body.errors.add(path, "must set only one of authSchemeConfigId and authSchemeConfig.")
        return
    body.client_paths[f"{path}.authSchemeConfigId"] = f"{reference_path}.id"
    if not isinstance(reference, dict):
        body.errors.add(reference_path, "must be an object whose id names one of the connector's authSchemeConfigs.")
        return

    reference = dict(reference)
    _string_or_none(body, reference, "schemeType", reference_path)
    _string_or_none(body, reference, "id", reference_path)
    scheme_type = reference.get("schemeType")
    allowed = CONFIG_FIELDS.get(scheme_type, ALL_CONFIG_FIELDS) if isinstance(scheme_type, str) else ALL_CONFIG_FIELDS
    # Only the errors matter here: the embedded fields other than id and schemeType are ignored.
    _known_fields(body, reference, reference_path, allowed, "an auth scheme config")
    item["authSchemeConfigId"] = reference.get("id")

    defined = scheme_by_id.get(reference.get("id"))
    if isinstance(scheme_type, str) and scheme_type in SCHEME_TYPES and isinstance(defined, str) and defined != scheme_type:
        body.errors.add(
            f"{reference_path}.schemeType",
            f"is {scheme_type}, but the connector's auth scheme config {reference.get('id')!r} is {defined}.",
        )


def _credential(body: CreateBody, credential: dict[str, Any], path: str) -> dict[str, Any]:
    credential = _known_fields(body, credential, path, CREDENTIAL_FIELDS, "a credential")
    _string_or_none(body, credential, "type", path)
    data = credential.get("data")
    if isinstance(data, dict):
        for key in data:
            if key.startswith("__"):
                body.errors.add(key_path(f"{path}.data", key), "is not a field of credential data.")
        credential["data"] = {key: value for key, value in data.items() if not key.startswith("__")}

    expires_at = credential.get("expiresAt")
    if expires_at is not None:
        parsed = parse_timestamp(expires_at)
        if parsed is None:
            body.errors.add(f"{path}.expiresAt", TIMESTAMP_HINT)
        credential["expiresAt"] = parsed
    return credential


def connector_json(tree: LoadedConnectorTree) -> dict[str, Any]:
    """Build the HTTPConnector response body. Secret credential fields are never part of it."""
    connector = tree.connector
    configs = {row.config_id: _config_json(row) for row in tree.configs}
    return {
        "id": connector.id,
        "organisationId": connector.organisation_id,
        "name": connector.name,
        "public": connector.public,
        "documentationURL": connector.documentation_url,
        "imageURL": connector.image_url,
        "tags": _tag_map(connector.tags),
        "protocol": connector.protocol,
        "baseUrl": connector.base_url,
        "authSchemeConfigs": list(configs.values()),
        "connectionVariables": _variables_json(connector.connection_variables),
        "connections": [_connection_json(item.connection, item.links, configs, tree) for item in tree.connections],
        "versions": _versions_json(tree.versions),
        "createdAt": serialize_datetime(connector.created_at),
        "updatedAt": serialize_datetime(connector.updated_at),
    }


def _tag_map(tags: list[dict[str, Any]]) -> dict[str, list[str]]:
    # The GraphQL input may repeat a key; the map form merges its values.
    mapped: dict[str, list[str]] = {}
    for tag in tags:
        mapped.setdefault(tag["key"], []).extend(tag["values"])
    return mapped


def _variables_json(variables: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"name": item["name"], "value": item["value"]} for item in variables]


def _messages_json(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"text": item["text"], "severity": item["severity"], "detail": list(item.get("detail") or [])} for item in messages]


def _config_json(row: models.AuthSchemeConfig) -> dict[str, Any]:
    config: dict[str, Any] = {
        "id": row.config_id,
        "description": row.description,
        "schemeType": row.scheme_type,
        "validationMessages": _messages_json(row.validation_messages),
    }
    settings = row.settings
    if row.scheme_type in ("api-key", "hmac"):
        config |= {"name": settings["name"], "in": settings["in"]}
    if row.scheme_type == "hmac":
        config |= {"algorithm": settings["algorithm"], "digestInputs": list(settings["digestInputs"])}
    if row.scheme_type == "oauth2":
        config |= {
            "authorizeUrl": settings["authorizeUrl"],
            "tokenUrl": settings["tokenUrl"],
            "scopes": [{"name": scope["name"], "description": scope["description"]} for scope in settings["scopes"]],
            "defaultScopes": list(settings["defaultScopes"]),
            "additionalAuthorizeParams": settings["additionalAuthorizeParams"],
            "additionalTokenParams": settings["additionalTokenParams"],
            "mtlsEnabled": settings["mtlsEnabled"],
            "grant": _grant_json(settings["grant"]),
        }
        if settings.get("mtlsCredentialId"):
            config["mtlsCredentialId"] = settings["mtlsCredentialId"]
    return config


def _grant_json(stored: dict[str, Any]) -> dict[str, Any]:
    # The stored grant never holds the client secret; it lives in the referenced credential.
    grant = {"grantType": stored["grantType"]}
    for key in ("credentialId", "organisationId", "clientId"):
        if stored.get(key) is not None:
            grant[key] = stored[key]
    return grant


def _connection_json(
    connection: models.Connection,
    links: list[models.ConnectionCredential],
    configs: dict[str, dict[str, Any]],
    tree: LoadedConnectorTree,
) -> dict[str, Any]:
    credentials: dict[str, list[dict[str, Any]]] = {purpose: [] for purpose in PURPOSES}
    for link in links:
        credential = tree.credentials[link.credential_id]
        credentials[link.purpose].append(
            {
                "id": link.id,
                "authSchemeConfig": configs[link.auth_scheme_config_id],
                "credential": _credential_json(credential, tree.usages.get(credential.id, [])),
            }
        )
    return {
        "id": connection.id,
        "name": connection.name,
        "credentials": credentials,
        "variables": _variables_json(connection.variables),
        "createdAt": serialize_datetime(connection.created_at),
        "updatedAt": serialize_datetime(connection.updated_at),
    }


def _credential_json(row: models.Credential, usages: list[CredentialUsageRow]) -> dict[str, Any]:
    read_type = READ_TYPE.get(row.type, row.type)
    public_fields = SHAPES[read_type].public
    data = {key: row.public_data[key] for key in public_fields if key in row.public_data}
    if read_type == "oauth2-token":
        # An oauth2-code credential has no scopes until its code is exchanged.
        data.setdefault("scopes", [])
    credential: dict[str, Any] = {
        "id": row.id,
        "organisationId": row.organisation_id,
        "type": read_type,
        "name": row.name,
        "data": data,
        "usages": [_usage_json(usage) for usage in usages],
    }
    # Absent errors mean "not validated"; an empty list means valid.
    if row.errors is not None:
        credential["errors"] = list(row.errors)
    if row.expires_at is not None:
        credential["expiresAt"] = serialize_datetime(row.expires_at)
    return credential


def _usage_json(usage: CredentialUsageRow) -> dict[str, Any]:
    connector, connection = usage.connector, usage.connection
    return {
        "connection": {
            "id": connection.id,
            "name": connection.name,
            "connector": {
                "id": connector.id,
                "organisationId": connector.organisation_id,
                "name": connector.name,
                "protocol": connector.protocol,
                "createdAt": serialize_datetime(connector.created_at),
                "updatedAt": serialize_datetime(connector.updated_at),
            },
            "createdAt": serialize_datetime(connection.created_at),
            "updatedAt": serialize_datetime(connection.updated_at),
        }
    }


def _versions_json(rows: list[models.ConnectorVersion]) -> list[dict[str, Any]]:
    published = [row for row in rows if row.published_at is not None]
    latest = max(published, key=lambda row: (row.published_at, row.id), default=None)
    return [
        {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "isLatest": row is latest,
            "isDefault": row.is_default,
            "createdAt": serialize_datetime(row.created_at),
            "updatedAt": serialize_datetime(row.updated_at),
            "publishedAt": serialize_datetime(row.published_at) if row.published_at is not None else None,
            "messages": _messages_json(row.messages),
        }
        for row in rows
    ]
