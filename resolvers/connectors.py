"""createHTTPConnector: validate a whole definition, then write its tree in one transaction."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from resolvers.checks import node_path
from resolvers.context import Caller, Services
from resolvers.credentials import build_credential, merge_credential
from resolvers.errors import DomainError, ErrorCode, FieldErrors, not_found
from resolvers.ids import new_id
from resolvers.validation import PURPOSES, check_credential_serves, validate_connector

logger = logging.getLogger(__name__)

# The draft version every new connector starts with.
FIRST_VERSION_NAME = "1"


@dataclass
class ConnectorTree:
    """The rows of one connector, collected before anything is written."""

    connector: models.Connector
    configs: list[models.AuthSchemeConfig] = field(default_factory=list)
    credentials: list[models.Credential] = field(default_factory=list)
    connections: list[models.Connection] = field(default_factory=list)
    links: list[models.ConnectionCredential] = field(default_factory=list)
    tags: list[models.ConnectorTag] = field(default_factory=list)
    versions: list[models.ConnectorVersion] = field(default_factory=list)


def require_organisation(caller: Caller, organisation_id: str) -> None:
    """Treat an organisation the caller may not act for as absent."""
    if not caller.may_act_for(organisation_id):
        raise not_found("Organisation", organisation_id)


async def create_http_connector(
    services: Services, caller: Caller, organisation_id: str, spec: dict[str, Any]
) -> models.Connector:
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    validate_connector(spec, errors)
    errors.raise_if_any()

    now = datetime.now(UTC)
    try:
        async with services.database.transaction() as session:
            existing = await load_referenced_credentials(session, caller, spec)
            check_references(spec, existing, errors)
            errors.raise_if_any()
            tree = _build_tree(services, organisation_id, spec, existing, now)
            session.add(tree.connector)
            await session.flush()
            session.add_all([*tree.credentials, *tree.configs, *tree.connections, *tree.versions, *tree.tags])
            await session.flush()
            session.add_all(tree.links)
    except IntegrityError as error:
        # Validation rules out every constraint a single request can break, so this is a
        # concurrent writer; the caller can retry.
        logger.info("connector create conflicted with a concurrent write", extra={"organisation_id": organisation_id})
        raise DomainError(ErrorCode.ALREADY_EXISTS, "A conflicting change was written at the same time; retry the request.") from error

    logger.info("connector created", extra={"organisation_id": organisation_id, "connector_id": tree.connector.id})
    return tree.connector


async def load_referenced_credentials(
    session: AsyncSession, caller: Caller, spec: dict[str, Any]
) -> dict[str, models.Credential]:
    ids = set(_referenced_credential_ids(spec))
    if not ids:
        return {}
    statement = select(models.Credential).where(
        models.Credential.id.in_(ids), models.Credential.organisation_id.in_(caller.organisation_ids)
    )
    return {row.id: row for row in (await session.execute(statement)).scalars()}


def _referenced_credential_ids(spec: dict[str, Any]) -> list[str]:
    ids = []
    for config in spec["authSchemeConfigs"]:
        grant = config.get("grant") or {}
        ids += [value for value in (config.get("mtlsCredentialId"), grant.get("credentialId")) if value]
    for connection in spec["connections"]:
        for purpose in PURPOSES:
            for item in (connection.get("credentials") or {}).get(purpose) or []:
                if item.get("credentialId"):
                    ids.append(item["credentialId"])
                mtls_id = mtls_certificate_id(item.get("credential"))
                if mtls_id:
                    ids.append(mtls_id)
    return ids


def mtls_certificate_id(credential: dict[str, Any] | None) -> str | None:
    """Return the certificate an inline oauth2-client credential names for mTLS, if any."""
    if not credential or credential.get("type") != "oauth2-client":
        return None
    value = (credential.get("data") or {}).get("mTLSCredentialId")
    return value if isinstance(value, str) and value else None


def check_mtls_certificate(
    existing: dict[str, models.Credential], credential: dict[str, Any] | None, path: str, errors: FieldErrors
) -> None:
    """Check that an oauth2-client credential's mTLSCredentialId names a certificate of the caller."""
    mtls_id = mtls_certificate_id(credential)
    if mtls_id and credential is not None:
        data_path = node_path(credential["data"], f"{path}.data")
        _check_reference(existing, mtls_id, ("certificate",), f"{data_path}.mTLSCredentialId", errors)


def check_references(spec: dict[str, Any], existing: dict[str, models.Credential], errors: FieldErrors) -> None:
    """Check that every referenced credential exists in a caller's organisation and fits."""
    configs = {config["id"]: config for config in spec["authSchemeConfigs"]}
    for index, config in enumerate(spec["authSchemeConfigs"]):
        path = node_path(config, f"authSchemeConfigs[{index}]")
        _check_reference(existing, config.get("mtlsCredentialId"), ("certificate",), f"{path}.mtlsCredentialId", errors)
        grant = config.get("grant") or {}
        if grant.get("credentialId"):
            grant_path = node_path(grant, f"{path}.grant")
            credential = _check_reference(existing, grant["credentialId"], ("oauth2-client",), f"{grant_path}.credentialId", errors)
            if credential is not None and credential.organisation_id != grant.get("organisationId"):
                errors.add(f"{grant_path}.organisationId", "is not the organisation that owns credentialId.")

    for index, connection in enumerate(spec["connections"]):
        check_connection_references(connection, f"connections[{index}]", configs, existing, errors)


def check_connection_references(
    connection: dict[str, Any],
    path: str,
    configs: dict[str, dict[str, Any]],
    existing: dict[str, models.Credential],
    errors: FieldErrors,
) -> None:
    """Check that each credentialId of a connection names a caller's credential that fits its config."""
    for purpose in PURPOSES:
        for position, item in enumerate((connection.get("credentials") or {}).get(purpose) or []):
            item_path = f"{path}.credentials.{purpose}[{position}]"
            check_mtls_certificate(existing, item.get("credential"), f"{item_path}.credential", errors)
            if not item.get("credentialId"):
                continue
            credential = _check_reference(existing, item["credentialId"], None, f"{item_path}.credentialId", errors)
            config = configs.get(item["authSchemeConfigId"])
            if credential is not None and config is not None:
                check_credential_serves(config, credential.type, f"{item_path}.credentialId", errors)


def _check_reference(
    existing: dict[str, models.Credential],
    credential_id: str | None,
    types: tuple[str, ...] | None,
    path: str,
    errors: FieldErrors,
) -> models.Credential | None:
    if not credential_id:
        return None
    credential = existing.get(credential_id)
    if credential is None:
        errors.add(path, f"names no credential of this organisation: {credential_id}.")
        return None
    if types is not None and credential.type not in types:
        errors.add(path, f"names a {credential.type} credential; it must be of type {' or '.join(types)}.")
        return None
    return credential


def _build_tree(
    services: Services,
    organisation_id: str,
    spec: dict[str, Any],
    existing: dict[str, models.Credential],
    now: datetime,
) -> ConnectorTree:
    connector = models.Connector(
        id=new_id(),
        organisation_id=organisation_id,
        name=spec["name"],
        name_folded=spec["name"].casefold(),
        protocol="http",
        base_url=spec["baseUrl"],
        public=bool(spec.get("public")),
        documentation_url=spec.get("documentationURL") or "",
        image_url=spec.get("imageURL") or "",
        tags=[{"key": tag["key"], "values": list(tag["values"])} for tag in spec.get("tags") or []],
        connection_variables=copy_variables(spec.get("connectionVariables")),
        created_at=now,
        updated_at=now,
    )
    tree = ConnectorTree(connector)
    tree.tags = tag_rows(connector)
    for position, config in enumerate(spec["authSchemeConfigs"]):
        tree.configs.append(build_config(services, tree, config, position, existing, now))
    for connection in spec["connections"]:
        build_connection(services, tree, connection, now)
    tree.versions.append(
        models.ConnectorVersion(
            id=new_id(),
            organisation_id=organisation_id,
            connector_id=connector.id,
            name=FIRST_VERSION_NAME,
            description="",
            messages=[],
            created_at=now,
            updated_at=now,
        )
    )
    return tree


def tag_rows(connector: models.Connector) -> list[models.ConnectorTag]:
    rows = []
    for tag in connector.tags:
        values = tag["values"] or [None]
        rows += [models.ConnectorTag(connector_id=connector.id, key=tag["key"], value=value) for value in values]
    return rows


def copy_variables(variables: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    return [{"name": item["name"], "value": item["value"]} for item in variables or []]


def build_config(
    services: Services,
    tree: ConnectorTree,
    config: dict[str, Any],
    position: int,
    existing: dict[str, models.Credential],
    now: datetime,
) -> models.AuthSchemeConfig:
    scheme_type = config["schemeType"]
    settings: dict[str, Any] = {}
    if scheme_type in ("api-key", "hmac"):
        settings = {"name": config["name"], "in": config["in"]}
    if scheme_type == "hmac":
        settings |= {"algorithm": config["algorithm"], "digestInputs": list(config["digestInputs"])}
    if scheme_type == "oauth2":
        settings = _oauth2_settings(services, tree, config, existing, now)
    return models.AuthSchemeConfig(
        connector_id=tree.connector.id,
        config_id=config["id"],
        position=position,
        scheme_type=scheme_type,
        description=config.get("description") or "",
        settings=settings,
        validation_messages=[],
    )


def _oauth2_settings(
    services: Services, tree: ConnectorTree, config: dict[str, Any], existing: dict[str, models.Credential], now: datetime
) -> dict[str, Any]:
    grant = config["grant"]
    stored_grant: dict[str, Any] = {"grantType": grant["grantType"]}
    if grant["grantType"] != "client_credentials":
        client = _grant_client_credential(services, tree, config, existing, now)
        stored_grant |= {
            "credentialId": client.id,
            "organisationId": client.organisation_id,
            "clientId": client.public_data.get("clientId"),
        }
    return {
        "authorizeUrl": config["authorizeUrl"],
        "tokenUrl": config["tokenUrl"],
        "scopes": [{"name": scope["name"], "description": scope.get("description") or ""} for scope in config["scopes"]],
        "defaultScopes": list(config["defaultScopes"]),
        "additionalAuthorizeParams": config.get("additionalAuthorizeParams") or "",
        "additionalTokenParams": config.get("additionalTokenParams") or "",
        "mtlsEnabled": bool(config.get("mtlsEnabled")),
        "mtlsCredentialId": config.get("mtlsCredentialId"),
        "grant": stored_grant,
    }


def _grant_client_credential(
    services: Services, tree: ConnectorTree, config: dict[str, Any], existing: dict[str, models.Credential], now: datetime
) -> models.Credential:
    """Return the oauth2-client credential that contains a grant's client id and secret.

    A grant that names an existing credential has it merge-patched with any client id or
    secret given; otherwise a new credential is created, so the secret never sits in the
    connector's own row.
    """
    grant = config["grant"]
    patch = {key: grant[key] for key in ("clientId", "clientSecret") if grant.get(key) is not None}
    if grant.get("credentialId"):
        credential = existing[grant["credentialId"]]
        if patch:
            merge_credential(services.secret_box, credential, patch, now)
        return credential

    data = {
        "clientId": grant.get("clientId") or "",
        "clientSecret": grant.get("clientSecret"),
        "authorizeUrl": config["authorizeUrl"],
        "tokenUrl": config["tokenUrl"],
        "scopes": list(config["defaultScopes"]),
        "additionalParams": config.get("additionalTokenParams") or "",
        "mTLSEnabled": bool(config.get("mtlsEnabled")),
    }
    name = f"{tree.connector.name}: {config['id']} OAuth 2.0 client"[:255]
    credential = build_credential(services.secret_box, tree.connector.organisation_id, "oauth2-client", name, data, None, now)
    tree.credentials.append(credential)
    return credential


def build_connection(services: Services, tree: ConnectorTree, spec: dict[str, Any], now: datetime) -> None:
    connection = models.Connection(
        id=new_id(),
        organisation_id=tree.connector.organisation_id,
        connector_id=tree.connector.id,
        name=spec["name"],
        variables=copy_variables(spec.get("variables")),
        created_at=now,
        updated_at=now,
    )
    tree.connections.append(connection)
    created: list[models.Credential] = []
    for purpose in PURPOSES:
        for position, item in enumerate((spec.get("credentials") or {}).get(purpose) or []):
            credential_id = item.get("credentialId")
            if credential_id is None:
                new = item["credential"]
                credential = build_credential(
                    services.secret_box, connection.organisation_id, new["type"], new["name"], new["data"], new.get("expiresAt"), now
                )
                tree.credentials.append(credential)
                created.append(credential)
                credential_id = credential.id
            tree.links.append(
                models.ConnectionCredential(
                    id=new_id(),
                    connection_id=connection.id,
                    purpose=purpose,
                    position=position,
                    auth_scheme_config_id=item["authSchemeConfigId"],
                    credential_id=credential_id,
                )
            )
    _link_mtls_certificates(created)


def _link_mtls_certificates(created: list[models.Credential]) -> None:
    """Point mTLS-enabled client credentials at the connection's certificate credential."""
    certificates = [credential for credential in created if credential.type == "certificate"]
    if not certificates:
        return
    for credential in created:
        data = credential.public_data
        if credential.type == "oauth2-client" and data.get("mTLSEnabled") and not data.get("mTLSCredentialId"):
            credential.public_data = {**data, "mTLSCredentialId": certificates[0].id}
