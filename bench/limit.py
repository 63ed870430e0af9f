"""The limit: the benchmark's responses built by hand, with a few SQL statements and orjson.

Each function returns the same `{"data": ...}` object that the gateway returns for one of the
documents in bench/documents.py, but without GraphQL. It runs one statement per relation over
the product's engine and session and selects columns by name. JSON columns are read as text for
orjson, SQLite timestamps are formatted from their stored text, and plain dicts are built in the
order of the document. The benchmark
checks that the result equals the GraphQL response, so any drift in the product fails the run
instead of flattering it.

The functions handle what the benchmark sends and nothing more: no field selection, no filters,
no backwards paging.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import String, Text, cast, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from db import models
from resolvers import reads
from resolvers.credential_types import READ_TYPE
from resolvers.pagination import DEFAULT_PAGE_SIZE, decode_cursor, encode_cursor, scope_of
from schema.enums import (
    AuthSchemeType,
    CredentialType,
    HMACAlgorithm,
    HMACDigestInput,
    MessageSeverity,
    OAuth2GrantType,
    ParameterLocation,
    Protocol,
)
from schema.scalars import serialize_datetime

Connector = models.Connector.__table__
Config = models.AuthSchemeConfig.__table__
Connection = models.Connection.__table__
Link = models.ConnectionCredential.__table__
Credential = models.Credential.__table__
Version = models.ConnectorVersion.__table__


def _names(enum: Any) -> dict[str, str]:
    """Map wire values to the GraphQL enum names that responses carry."""
    return {member.value: member.name for member in enum}


PROTOCOL = _names(Protocol)
SCHEME_TYPE = _names(AuthSchemeType)
LOCATION = _names(ParameterLocation)
ALGORITHM = _names(HMACAlgorithm)
DIGEST_INPUT = _names(HMACDigestInput)
GRANT_TYPE = _names(OAuth2GrantType)
CREDENTIAL_TYPE = _names(CredentialType)
SEVERITY = _names(MessageSeverity)

CONFIG_TYPENAME = {
    "none": "AuthSchemeConfigNone",
    "api-key": "AuthSchemeConfigAPIKey",
    "basic-auth": "AuthSchemeConfigBasicAuth",
    "oauth2": "AuthSchemeConfigOAuth2",
    "hmac": "AuthSchemeConfigHMAC",
    "certificate": "AuthSchemeConfigCertificate",
}
GRANT_TYPENAME = {
    "authorization_code": "AuthSchemeConfigOAuth2GrantAuthorizationCode",
    "client_credentials": "AuthSchemeConfigOAuth2GrantClientCredentials",
    "password": "AuthSchemeConfigOAuth2GrantPassword",
}


def _json_text(column: Any) -> Any:
    """Select a JSON column as text, which orjson parses faster than the drivers' json.loads."""
    return cast(column, Text)


def _raw_timestamp(column: Any) -> Any:
    """Select a timestamp without SQLAlchemy's conversion: text on SQLite, a datetime on PostgreSQL."""
    return type_coerce(column, String)


def _json(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def _timestamp(value: Any) -> str | None:
    """Format a timestamp as the DateTime scalar does.

    SQLite returns the stored text, naive UTC as "YYYY-MM-DD HH:MM:SS.ffffff" (SQLAlchemy always
    writes the microseconds), and PostgreSQL returns an aware datetime.
    """
    if value is None:
        return None
    if type(value) is str:
        return f"{value[:10]}T{value[11:]}Z"
    return serialize_datetime(value)


def _grouped(rows: Iterable[Any], key_index: int = 0) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row[key_index]].append(row)
    return grouped


def _messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"text": item["text"], "severity": SEVERITY[item["severity"]], "detail": list(item.get("detail") or [])} for item in items]


# --- SQL: one statement per relation --------------------------------------------------------


CONNECTOR_COLUMNS = (
    Connector.c.id,
    Connector.c.organisation_id,
    Connector.c.name,
    Connector.c.public,
    Connector.c.documentation_url,
    Connector.c.image_url,
    Connector.c.protocol,
    _raw_timestamp(Connector.c.created_at),
    Connector.c.updated_at,
    Connector.c.base_url,
    _json_text(Connector.c.tags),
    _json_text(Connector.c.connection_variables),
)


async def _page(connection: AsyncConnection, organisation_id: str, first: int, after: str | None) -> tuple[list[Any], bool, str]:
    """Run the keyset page query; return the rows, whether more follow, and the cursor scope."""
    scope = scope_of("connectors", organisation_id, reads.ConnectorFilter().__dict__)
    statement = select(*CONNECTOR_COLUMNS).where(Connector.c.organisation_id == organisation_id)
    if after:
        position = decode_cursor("after", after, scope)
        statement = statement.where(
            (Connector.c.updated_at < position.updated_at)
            | ((Connector.c.updated_at == position.updated_at) & (Connector.c.id < position.id))
        )
    statement = statement.order_by(Connector.c.updated_at.desc(), Connector.c.id.desc()).limit(first + 1)
    rows = list(await connection.execute(statement))
    return rows[:first], len(rows) > first, scope


async def _count(connection: AsyncConnection, organisation_id: str) -> int:
    statement = select(func.count()).select_from(Connector).where(Connector.c.organisation_id == organisation_id)
    return (await connection.execute(statement)).scalar_one()


async def _configs(connection: AsyncConnection, connector_ids: list[str]) -> dict[str, list[Any]]:
    statement = (
        select(Config.c.connector_id, Config.c.config_id, Config.c.scheme_type, Config.c.description, _json_text(Config.c.settings), _json_text(Config.c.validation_messages))
        .where(Config.c.connector_id.in_(connector_ids))
        .order_by(Config.c.connector_id, Config.c.position)
    )
    return _grouped(await connection.execute(statement))


async def _connections(connection: AsyncConnection, connector_ids: list[str]) -> dict[str, list[Any]]:
    statement = (
        select(Connection.c.connector_id, Connection.c.id, Connection.c.name, _json_text(Connection.c.variables), _raw_timestamp(Connection.c.created_at), _raw_timestamp(Connection.c.updated_at))
        .where(Connection.c.connector_id.in_(connector_ids))
        .order_by(Connection.c.connector_id, Connection.c.created_at, Connection.c.id)
    )
    return _grouped(await connection.execute(statement))


async def _links(connection: AsyncConnection, connection_ids: list[str], organisation_id: str) -> dict[str, list[Any]]:
    """Load each connection's credential links joined with their credential, in link order.

    The organisation is checked on the fetched rows: in SQL, SQLite without statistics would
    search ix_credential_org_updated, every credential of the organisation, before the links.
    """
    statement = (
        select(
            Link.c.connection_id,
            Link.c.id,
            Link.c.purpose,
            Link.c.auth_scheme_config_id,
            Credential.c.id,
            Credential.c.organisation_id,
            Credential.c.type,
            Credential.c.name,
            _json_text(Credential.c.errors),
            _raw_timestamp(Credential.c.expires_at),
            _json_text(Credential.c.public_data),
            _json_text(Credential.c.redacted_fields),
        )
        .join(Credential, Credential.c.id == Link.c.credential_id)
        .where(Link.c.connection_id.in_(connection_ids))
        .order_by(Link.c.connection_id, Link.c.purpose, Link.c.position)
    )
    return _grouped(row for row in await connection.execute(statement) if row[5] == organisation_id)


async def _usages(connection: AsyncConnection, credential_ids: list[str], organisation_id: str) -> dict[str, list[dict[str, Any]]]:
    """Build each credential's usages: one per connection that links it, oldest connection first.

    As in _links, the organisation is checked on the fetched rows, not in SQL.
    """
    statement = (
        select(
            Link.c.credential_id,
            Connection.c.id,
            Connection.c.name,
            _raw_timestamp(Connection.c.created_at),
            _raw_timestamp(Connection.c.updated_at),
            Connector.c.id,
            Connector.c.organisation_id,
            Connector.c.name,
            Connector.c.protocol,
            _raw_timestamp(Connector.c.created_at),
            _raw_timestamp(Connector.c.updated_at),
        )
        .join(Connection, Connection.c.id == Link.c.connection_id)
        .join(Connector, Connector.c.id == Connection.c.connector_id)
        .where(Link.c.credential_id.in_(credential_ids))
        .order_by(Link.c.credential_id, Connection.c.created_at, Connection.c.id)
    )
    usages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for credential_id, connection_id, name, created, updated, connector_id, organisation, connector_name, protocol, connector_created, connector_updated in await connection.execute(statement):
        if organisation != organisation_id or (credential_id, connection_id) in seen:
            continue
        seen.add((credential_id, connection_id))
        usages[credential_id].append(
            {
                "connection": {
                    "id": connection_id,
                    "name": name,
                    "createdAt": _timestamp(created),
                    "updatedAt": _timestamp(updated),
                    "connector": {
                        "id": connector_id,
                        "organisationId": organisation,
                        "name": connector_name,
                        "protocol": PROTOCOL[protocol],
                        "createdAt": _timestamp(connector_created),
                        "updatedAt": _timestamp(connector_updated),
                    },
                }
            }
        )
    return usages


async def _versions(connection: AsyncConnection, connector_ids: list[str]) -> dict[str, list[Any]]:
    statement = (
        select(
            Version.c.connector_id,
            Version.c.id,
            Version.c.name,
            Version.c.description,
            Version.c.is_default,
            _raw_timestamp(Version.c.created_at),
            _raw_timestamp(Version.c.updated_at),
            _raw_timestamp(Version.c.published_at),
            _json_text(Version.c.messages),
        )
        .where(Version.c.connector_id.in_(connector_ids))
        .order_by(Version.c.connector_id, Version.c.created_at, Version.c.id)
    )
    return _grouped(await connection.execute(statement))


# --- Objects of the full tree (tests/documents.py CONNECTOR_TREE_FIELDS) ----------------------


def _config(row: Any) -> dict[str, Any]:
    _, config_id, scheme_type, description, settings_text, messages_text = row
    settings = orjson.loads(settings_text)
    config: dict[str, Any] = {
        "__typename": CONFIG_TYPENAME.get(scheme_type, "AuthSchemeConfigNone"),
        "id": config_id,
        "description": description,
        "schemeType": SCHEME_TYPE[scheme_type],
        "validationMessages": _messages(orjson.loads(messages_text)),
    }
    if scheme_type in ("api-key", "hmac"):
        config["name"] = settings["name"]
        config["in"] = LOCATION[settings["in"]]
    if scheme_type == "hmac":
        config["algorithm"] = ALGORITHM[settings["algorithm"]]
        config["digestInputs"] = [DIGEST_INPUT[item] for item in settings["digestInputs"]]
    if scheme_type == "oauth2":
        stored_grant = settings["grant"]
        grant_type = stored_grant["grantType"]
        grant: dict[str, Any] = {"__typename": GRANT_TYPENAME[grant_type], "grantType": GRANT_TYPE[grant_type]}
        if grant_type != "client_credentials":
            grant |= {
                "credentialId": stored_grant.get("credentialId"),
                "organisationId": stored_grant.get("organisationId"),
                "clientId": stored_grant.get("clientId"),
            }
        config |= {
            "authorizeUrl": settings["authorizeUrl"],
            "tokenUrl": settings["tokenUrl"],
            "scopes": [{"name": scope["name"], "description": scope["description"]} for scope in settings["scopes"]],
            "defaultScopes": list(settings["defaultScopes"]),
            "additionalAuthorizeParams": settings["additionalAuthorizeParams"],
            "additionalTokenParams": settings["additionalTokenParams"],
            "mtlsEnabled": settings["mtlsEnabled"],
            "mtlsCredentialId": settings.get("mtlsCredentialId"),
            "grant": grant,
        }
    return config


def _credential_data(credential_type: str, public: dict[str, Any], redacted: list[str]) -> dict[str, Any]:
    match credential_type:
        case "string":
            return {"__typename": "CredentialDataString", "redactedFields": redacted}
        case "binary":
            return {"__typename": "CredentialDataBinary", "redactedFields": redacted}
        case "basic-auth":
            return {"__typename": "CredentialDataBasicAuth", "redactedFields": redacted, "username": public.get("username", "")}
        case "oauth2-client":
            return {
                "__typename": "CredentialDataOAuth2Client",
                "redactedFields": redacted,
                "clientId": public.get("clientId", ""),
                "authorizeUrl": public.get("authorizeUrl", ""),
                "tokenUrl": public.get("tokenUrl", ""),
                "scopes": list(public.get("scopes") or []),
                "additionalParams": public.get("additionalParams", ""),
                "mTLSEnabled": bool(public.get("mTLSEnabled")),
                "mTLSCredentialId": public.get("mTLSCredentialId") or "",
            }
        case "oauth2-token" | "oauth2-code":
            return {"__typename": "CredentialDataOAuth2Token", "redactedFields": redacted, "scopes": list(public.get("scopes") or [])}
        case "oauth2-password":
            return {"__typename": "CredentialDataOAuth2Password", "redactedFields": redacted, "username": public.get("username", "")}
        case "certificate":
            return {"__typename": "CredentialDataCertificate", "redactedFields": redacted, "certificate": public.get("certificate", ""), "ca": public.get("ca", "")}
        case _:
            return {"__typename": "CredentialDataNone", "redactedFields": redacted}


def _credential(row: Any, usages: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    credential_id, organisation_id, credential_type, name, errors, expires_at, public, redacted = row[4:]
    return {
        "id": credential_id,
        "organisationId": organisation_id,
        "type": CREDENTIAL_TYPE[READ_TYPE.get(credential_type, credential_type)],
        "name": name,
        "errors": _json(errors),
        "expiresAt": _timestamp(expires_at),
        "data": _credential_data(credential_type, orjson.loads(public), orjson.loads(redacted)),
        "usages": usages.get(credential_id, []),
    }


def _latest(rows: list[Any]) -> Any:
    """Return the published version row with the newest publishedAt (then the highest id), if any."""
    published = [row for row in rows if row[7] is not None]
    return max(published, key=lambda row: (row[7], row[1]), default=None)


def _versions_of(rows: list[Any]) -> list[dict[str, Any]]:
    latest = _latest(rows)
    versions = []
    for row in rows:
        _, version_id, name, description, is_default, created, updated, published_at, messages = row
        versions.append(
            {
                "id": version_id,
                "name": name,
                "description": description,
                "isLatest": row is latest,
                "isDefault": bool(is_default),
                "createdAt": _timestamp(created),
                "updatedAt": _timestamp(updated),
                "publishedAt": _timestamp(published_at),
                "messages": _messages(orjson.loads(messages)),
            }
        )
    return versions


def _connector_head(row: Any) -> dict[str, Any]:
    connector_id, organisation_id, name, public, documentation_url, image_url, protocol, created, updated, base_url, tags, variables = row
    return {
        "__typename": "HTTPConnector",
        "id": connector_id,
        "organisationId": organisation_id,
        "name": name,
        "public": bool(public),
        "documentationURL": documentation_url,
        "imageURL": image_url,
        "protocol": PROTOCOL[protocol],
        "createdAt": _timestamp(created),
        "updatedAt": serialize_datetime(updated),
        "baseUrl": base_url,
        "tags": [{"key": tag["key"], "values": list(tag["values"])} for tag in orjson.loads(tags)],
        "connectionVariables": [{"name": item["name"], "value": item["value"]} for item in orjson.loads(variables)],
    }


async def _full_trees(connection: AsyncConnection, organisation_id: str, rows: list[Any]) -> list[dict[str, Any]]:
    """Build the full tree of each connector row: five more statements, whatever the page size."""
    connector_ids = [row[0] for row in rows]
    configs = await _configs(connection, connector_ids)
    connections = await _connections(connection, connector_ids)
    links = await _links(connection, [row[1] for group in connections.values() for row in group], organisation_id)
    usages = await _usages(connection, list({row[4] for group in links.values() for row in group}), organisation_id)
    versions = await _versions(connection, connector_ids)

    trees = []
    for row in rows:
        connector_id = row[0]
        config_rows = configs.get(connector_id, [])
        scheme_types = {config[1]: SCHEME_TYPE[config[2]] for config in config_rows}
        tree = _connector_head(row)
        tree["authSchemeConfigs"] = [_config(config) for config in config_rows]
        tree["connections"] = []
        for connection_row in connections.get(connector_id, []):
            _, connection_id, name, variables, created, updated = connection_row
            by_purpose: dict[str, list[dict[str, Any]]] = {"action": [], "trigger": []}
            for link in links.get(connection_id, []):
                config_id = link[3]
                by_purpose[link[2]].append(
                    {
                        "id": link[1],
                        "authSchemeConfig": {"id": config_id, "schemeType": scheme_types[config_id]},
                        "credential": _credential(link, usages),
                    }
                )
            tree["connections"].append(
                {
                    "id": connection_id,
                    "name": name,
                    "createdAt": _timestamp(created),
                    "updatedAt": _timestamp(updated),
                    "variables": [{"name": item["name"], "value": item["value"]} for item in orjson.loads(variables)],
                    "connector": {"id": connector_id},
                    "credentials": by_purpose,
                }
            )
        tree["versions"] = _versions_of(versions.get(connector_id, []))
        trees.append(tree)
    return trees


def _page_info(rows: list[Any], cursors: list[str], has_next_page: bool, after: str | None) -> dict[str, Any]:
    return {
        "hasNextPage": has_next_page,
        "hasPreviousPage": after is not None,
        "startCursor": cursors[0] if rows else None,
        "endCursor": cursors[-1] if rows else None,
    }


async def full_tree_page(connection: AsyncConnection, variables: dict[str, Any]) -> dict[str, Any]:
    """Build the response of tests/documents.py CONNECTORS_PAGE (forward paging only)."""
    organisation_id = variables["organisationId"]
    first = variables.get("first") or DEFAULT_PAGE_SIZE
    after = variables.get("after")
    rows, has_next_page, scope = await _page(connection, organisation_id, first, after)
    total = await _count(connection, organisation_id)
    cursors = [encode_cursor(scope, row[8], row[0]) for row in rows]
    return {
        "data": {
            "connectors": {
                "totalCount": total,
                "pageInfo": _page_info(rows, cursors, has_next_page, after),
                "edges": [{"cursor": cursor, "node": {"id": row[0]}} for cursor, row in zip(cursors, rows, strict=True)],
                "nodes": await _full_trees(connection, organisation_id, rows),
            }
        }
    }


async def full_tree_connector(connection: AsyncConnection, variables: dict[str, Any]) -> dict[str, Any]:
    """Build the response of tests/documents.py CONNECTOR_BY_ID."""
    organisation_id = variables["organisationId"]
    statement = select(*CONNECTOR_COLUMNS).where(Connector.c.id == variables["id"])
    rows = [row for row in await connection.execute(statement) if row[1] == organisation_id]
    trees = await _full_trees(connection, organisation_id, rows) if rows else [None]
    return {"data": {"connector": trees[0]}}


def _light_versions(rows: list[Any]) -> list[dict[str, Any]]:
    latest = _latest(rows)
    return [{"id": row[1], "name": row[2], "isLatest": row is latest, "publishedAt": _timestamp(row[7])} for row in rows]


async def tree_20_page(connection: AsyncConnection, variables: dict[str, Any]) -> dict[str, Any]:
    """Build the response of bench/documents.py TREE_20_PAGE."""
    organisation_id = variables["organisationId"]
    first = variables.get("first") or DEFAULT_PAGE_SIZE
    after = variables.get("after")
    rows, has_next_page, scope = await _page(connection, organisation_id, first, after)
    total = await _count(connection, organisation_id)
    connector_ids = [row[0] for row in rows]
    configs = await _configs(connection, connector_ids)
    connections = await _connections(connection, connector_ids)
    links = await _links(connection, [row[1] for group in connections.values() for row in group], organisation_id)
    versions = await _versions(connection, connector_ids)

    nodes = []
    for row in rows:
        connector_id = row[0]
        node = {
            "__typename": "HTTPConnector",
            "id": connector_id,
            "name": row[2],
            "protocol": PROTOCOL[row[6]],
            "createdAt": _timestamp(row[7]),
            "updatedAt": serialize_datetime(row[8]),
            "baseUrl": row[9],
            "authSchemeConfigs": [
                {"__typename": CONFIG_TYPENAME.get(config[2], "AuthSchemeConfigNone"), "id": config[1], "schemeType": SCHEME_TYPE[config[2]], "description": config[3]}
                for config in configs.get(connector_id, [])
            ],
            "versions": _light_versions(versions.get(connector_id, [])),
            "connections": [],
        }
        for connection_row in connections.get(connector_id, []):
            by_purpose: dict[str, list[dict[str, Any]]] = {"action": [], "trigger": []}
            for link in links.get(connection_row[1], []):
                credential_type = link[6]
                by_purpose[link[2]].append(
                    {
                        "id": link[1],
                        "credential": {
                            "id": link[4],
                            "name": link[7],
                            "type": CREDENTIAL_TYPE[READ_TYPE.get(credential_type, credential_type)],
                            "expiresAt": _timestamp(link[9]),
                        },
                    }
                )
            node["connections"].append({"id": connection_row[1], "name": connection_row[2], "credentials": by_purpose})
        nodes.append(node)
    cursors = [encode_cursor(scope, row[8], row[0]) for row in rows]
    return {
        "data": {
            "connectors": {
                "totalCount": total,
                "pageInfo": {"hasNextPage": has_next_page, "endCursor": cursors[-1] if rows else None},
                "nodes": nodes,
            }
        }
    }


BUILDERS = {"tree": full_tree_page, "tree-20": tree_20_page, "by-id": full_tree_connector}
