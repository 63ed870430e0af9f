"""Credentials of an organisation: create, update (a JSON merge patch of the data) and delete."""

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from resolvers import limits
from resolvers.checks import check_text, node_path
from resolvers.connectors import check_mtls_certificate, mtls_certificate_id, require_organisation
from resolvers.context import Caller, Services
from resolvers.credentials import build_credential, merged_credential_data, store_credential_data
from resolvers.errors import DomainError, ErrorCode, FieldErrors, not_found
from resolvers.validation import validate_credential, validate_credential_data

logger = logging.getLogger(__name__)


async def create_credential(services: Services, caller: Caller, organisation_id: str, spec: dict[str, Any]) -> models.Credential:
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    validate_credential(spec, "input", errors)
    errors.raise_if_any()

    credential = build_credential(
        services.secret_box, organisation_id, spec["type"], spec["name"], spec["data"], spec.get("expiresAt"), datetime.now(UTC)
    )
    async with services.database.transaction() as session:
        await _check_mtls_reference(session, organisation_id, spec, "input", errors)
        session.add(credential)
    logger.info("credential created", extra={"organisation_id": organisation_id, "credential_id": credential.id})
    return credential


async def _check_mtls_reference(
    session: AsyncSession, organisation_id: str, credential: dict[str, Any], path: str, errors: FieldErrors
) -> None:
    """Reject an mTLSCredentialId that names no certificate credential of this organisation."""
    mtls_id = mtls_certificate_id(credential)
    if not mtls_id:
        return
    table = models.Credential
    statement = select(table).where(table.id == mtls_id, table.organisation_id == organisation_id)
    existing = {row.id: row for row in (await session.execute(statement)).scalars()}
    check_mtls_certificate(existing, credential, path, errors)
    errors.raise_if_any()


async def _find_credential(session: AsyncSession, organisation_id: str, credential_id: str) -> models.Credential:
    table = models.Credential
    statement = select(table).where(table.id == credential_id, table.organisation_id == organisation_id)
    credential = (await session.execute(statement)).scalar_one_or_none()
    if credential is None:
        raise not_found("Credential", credential_id)
    return credential


async def update_credential(
    services: Services, caller: Caller, organisation_id: str, credential_id: str, spec: dict[str, Any]
) -> models.Credential:
    """Update a credential; `data` is a JSON merge patch, so omitted fields (secrets too) keep their value.

    A field set to null is removed, which fails validation for a required field. The data
    must be of the credential's stored type, because a credential's type never changes.
    """
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    if "name" in spec:
        check_text(errors, "input.name", spec["name"], limits.MAX_NAME_LENGTH, required=True)
    errors.raise_if_any()

    now = datetime.now(UTC)
    async with services.database.transaction() as session:
        credential = await _find_credential(session, organisation_id, credential_id)
        patch = spec.get("data")
        if patch is not None:
            path = node_path(patch, "input.data")
            if spec["type"] != credential.type:
                errors.add(path, f"is {spec['type']} data, but the credential is of type {credential.type}; a credential's type cannot change.")
                errors.raise_if_any()
            merged = merged_credential_data(services.secret_box, credential, patch)
            validate_credential_data(credential.type, merged, path, errors)
            if patch.get("mTLSCredentialId"):
                await _check_mtls_reference(session, organisation_id, {"type": credential.type, "data": patch}, "input", errors)
            errors.raise_if_any()
            store_credential_data(services.secret_box, credential, merged, now)
        if "name" in spec:
            credential.name = spec["name"]
            credential.name_folded = spec["name"].casefold()
        if "expiresAt" in spec:
            credential.expires_at = spec["expiresAt"]
        credential.updated_at = now
    logger.info("credential updated", extra={"organisation_id": organisation_id, "credential_id": credential_id})
    return credential


async def _usages(session: AsyncSession, credential_id: str) -> list[str]:
    link, connection, connector = models.ConnectionCredential, models.Connection, models.Connector
    statement = (
        select(connection.id, connection.name, connector.id, connector.name)
        .distinct()
        .join(link, link.connection_id == connection.id)
        .join(connector, connector.id == connection.connector_id)
        .where(link.credential_id == credential_id)
        .order_by(connector.id, connection.id)
    )
    return [
        f"connection {connection_name!r} ({connection_id}) of connector {connector_name!r} ({connector_id})"
        for connection_id, connection_name, connector_id, connector_name in await session.execute(statement)
    ]


async def _config_references(session: AsyncSession, organisation_id: str, credential_id: str) -> list[str]:
    config, connector = models.AuthSchemeConfig, models.Connector
    statement = (
        select(config, connector.name)
        .join(connector, connector.id == config.connector_id)
        .where(connector.organisation_id == organisation_id, config.scheme_type == "oauth2")
    )
    found = []
    for row, connector_name in await session.execute(statement):
        grant = row.settings.get("grant") or {}
        if credential_id in (grant.get("credentialId"), row.settings.get("mtlsCredentialId")):
            found.append(f"auth scheme config {row.config_id!r} of connector {connector_name!r} ({row.connector_id})")
    return found


async def delete_credential(services: Services, caller: Caller, organisation_id: str, credential_id: str) -> str:
    """Delete a credential that no connection applies and no auth scheme config names.

    Otherwise raise FAILED_PRECONDITION whose `details` lists each usage, one per line.
    """
    require_organisation(caller, organisation_id)
    try:
        async with services.database.transaction() as session:
            await _find_credential(session, organisation_id, credential_id)
            usages = await _usages(session, credential_id) + await _config_references(session, organisation_id, credential_id)
            if usages:
                raise DomainError(
                    ErrorCode.FAILED_PRECONDITION,
                    f"Credential {credential_id} is in use {len(usages)} time(s); remove it from each usage in `details` first.",
                    details="\n".join(usages),
                )
            table = models.Credential
            await session.execute(delete(table).where(table.id == credential_id).execution_options(synchronize_session=False))
    except IntegrityError as error:
        # The foreign key from connection_credential caught a connection created meanwhile.
        raise DomainError(ErrorCode.FAILED_PRECONDITION, f"Credential {credential_id} was put in use at the same time; it was not deleted.") from error
    logger.info("credential deleted", extra={"organisation_id": organisation_id, "credential_id": credential_id})
    return credential_id
