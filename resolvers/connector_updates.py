"""Changes to a connector itself: full update, tags, categories, auth scheme configs and delete."""

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from resolvers.checks import check_list
from resolvers.connector_access import config_view, load_configs, touch_connector
from resolvers.connectors import (
    ConnectorTree,
    build_config,
    check_references,
    copy_variables,
    load_referenced_credentials,
    require_organisation,
    tag_rows,
)
from resolvers.context import Caller, Services
from resolvers.errors import DomainError, ErrorCode, FieldErrors, not_found
from resolvers.validation import check_credential_serves, validate_auth_scheme_config, validate_connector_fields, validate_tags

logger = logging.getLogger(__name__)

# The REST API's Category values, in its order.
CATEGORIES = (
    "Development & IT",
    "ERP",
    "Supply Chain & Logistics",
    "Communication",
    "Accounting",
    "Hospitality",
    "Productivity",
    "HR",
    "CRM",
    "AI/LLMs",
    "eCommerce",
    "Business Operations",
)


async def update_http_connector(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, spec: dict[str, Any]
) -> models.Connector:
    """Replace the connector's own fields as the REST PUT does: omitted optional fields reset.

    `authSchemeConfigIds`, when given, only reorders the configs and must list each existing
    id once. `connectionVariables` replaces the list; connections read it through, apart from
    the variables they set themselves.
    """
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    validate_connector_fields(spec, "input.", errors)
    errors.raise_if_any()

    now = datetime.now(UTC)
    async with services.database.transaction() as session:
        connector = await touch_connector(session, caller, organisation_id, connector_id, now)
        order = spec.get("authSchemeConfigIds")
        if order is not None:
            await _reorder_configs(session, connector_id, order, errors)
            errors.raise_if_any()
        connector.name = spec["name"]
        connector.name_folded = spec["name"].casefold()
        connector.base_url = spec["baseUrl"]
        connector.public = bool(spec.get("public"))
        connector.documentation_url = spec.get("documentationURL") or ""
        connector.image_url = spec.get("imageURL") or ""
        connector.connection_variables = copy_variables(spec.get("connectionVariables"))
        await _replace_tags(session, connector, spec.get("tags") or [])
        connector.updated_at = now
    logger.info("connector updated", extra={"organisation_id": organisation_id, "connector_id": connector_id})
    return connector


async def _reorder_configs(session: AsyncSession, connector_id: str, order: list[str], errors: FieldErrors) -> None:
    rows = await load_configs(session, connector_id)
    by_id = {row.config_id: row for row in rows}
    if len(set(order)) != len(order):
        errors.add("input.authSchemeConfigIds", "lists an id more than once.")
    unknown = [config_id for config_id in order if config_id not in by_id]
    if unknown:
        errors.add("input.authSchemeConfigIds", f"names configs this connector does not have: {', '.join(unknown)}.")
    missing = [config_id for config_id in by_id if config_id not in order]
    if missing:
        errors.add("input.authSchemeConfigIds", f"must list every config of the connector to reorder them; missing: {', '.join(missing)}.")
    if errors:
        return
    for position, config_id in enumerate(order):
        by_id[config_id].position = position


async def _replace_tags(session: AsyncSession, connector: models.Connector, tags: list[dict[str, Any]]) -> None:
    connector.tags = [{"key": tag["key"], "values": list(tag["values"])} for tag in tags]
    await session.execute(delete(models.ConnectorTag).where(models.ConnectorTag.connector_id == connector.id))
    session.add_all(tag_rows(connector))


async def update_connector_tags(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, tags: list[dict[str, Any]]
) -> models.Connector:
    """Replace all tags of the connector."""
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    validate_tags(tags, errors)
    errors.raise_if_any()

    async with services.database.transaction() as session:
        connector = await touch_connector(session, caller, organisation_id, connector_id, datetime.now(UTC))
        await _replace_tags(session, connector, tags)
    return connector


async def update_connector_categories(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, categories: list[str]
) -> models.Connector:
    """Replace all categories of the connector, keeping the given order."""
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    check_list(errors, "categories", categories, len(CATEGORIES))
    for index, category in enumerate(categories):
        if category not in CATEGORIES:
            errors.add(f"categories[{index}]", f"must be one of: {', '.join(CATEGORIES)}.")
        elif category in categories[:index]:
            errors.add(f"categories[{index}]", "repeats an earlier category.")
    errors.raise_if_any()

    async with services.database.transaction() as session:
        connector = await touch_connector(session, caller, organisation_id, connector_id, datetime.now(UTC))
        await session.execute(delete(models.ConnectorCategory).where(models.ConnectorCategory.connector_id == connector_id))
        session.add_all(
            models.ConnectorCategory(connector_id=connector_id, category=category, position=position)
            for position, category in enumerate(categories)
        )
    return connector


async def upsert_auth_scheme_config(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, config: dict[str, Any]
) -> models.Connector:
    """Add a config, or replace the one with the same client-chosen id.

    A replaced config must still accept the credentials that connections apply for it.
    """
    require_organisation(caller, organisation_id)
    now = datetime.now(UTC)
    errors = FieldErrors()
    async with services.database.transaction() as session:
        connector = await touch_connector(session, caller, organisation_id, connector_id, now)
        rows = await load_configs(session, connector_id)
        current = next((row for row in rows if row.config_id == config.get("id")), None)
        others = [config_view(row) for row in rows if row is not current]
        validate_auth_scheme_config(config, "config", [*others, config], errors)
        errors.raise_if_any()

        spec = {"authSchemeConfigs": [config], "connections": []}
        existing = await load_referenced_credentials(session, caller, spec)
        check_references(spec, existing, errors)
        errors.raise_if_any()
        if current is not None:
            await _check_connections_still_served(session, connector_id, config)

        tree = ConnectorTree(connector)
        position = current.position if current is not None else max((row.position for row in rows), default=-1) + 1
        row = build_config(services, tree, config, position, existing, now)
        session.add_all(tree.credentials)
        if current is None:
            session.add(row)
        else:
            current.scheme_type = row.scheme_type
            current.description = row.description
            current.settings = row.settings
            current.validation_messages = []
    logger.info("auth scheme config written", extra={"connector_id": connector_id, "config_id": config["id"]})
    return connector


async def _check_connections_still_served(session: AsyncSession, connector_id: str, config: dict[str, Any]) -> None:
    link, connection, credential = models.ConnectionCredential, models.Connection, models.Credential
    statement = (
        select(connection.name, credential.name, credential.type)
        .join(link, link.connection_id == connection.id)
        .join(credential, credential.id == link.credential_id)
        .where(connection.connector_id == connector_id, link.auth_scheme_config_id == config["id"])
    )
    problems = []
    for connection_name, credential_name, credential_type in await session.execute(statement):
        errors = FieldErrors()
        check_credential_serves(config, credential_type, "config", errors)
        if errors:
            problems.append(f"connection {connection_name!r} applies the {credential_type} credential {credential_name!r}")
    if problems:
        raise DomainError(
            ErrorCode.FAILED_PRECONDITION,
            f"The new config {config['id']!r} cannot serve credentials that connections apply for it; "
            "update or delete those connections first.",
            details="\n".join(problems),
        )


async def delete_auth_scheme_config(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, config_id: str
) -> models.Connector:
    """Delete a config. Connections stay, but lose the credentials they applied for it.

    Each such credential stays in the organisation and gets an error naming the connection,
    since it is no longer applied (or refreshed) there.
    """
    require_organisation(caller, organisation_id)
    now = datetime.now(UTC)
    async with services.database.transaction() as session:
        connector = await touch_connector(session, caller, organisation_id, connector_id, now)
        config = await session.get(models.AuthSchemeConfig, (connector_id, config_id))
        if config is None:
            raise not_found("Auth scheme config", f"{config_id!r} of connector {connector_id}")

        link, connection = models.ConnectionCredential, models.Connection
        statement = (
            select(link, connection.name, models.Credential)
            .join(connection, connection.id == link.connection_id)
            .join(models.Credential, models.Credential.id == link.credential_id)
            .where(connection.connector_id == connector_id, link.auth_scheme_config_id == config_id)
        )
        for row, connection_name, credential in (await session.execute(statement)).all():
            message = (
                f"The auth scheme config {config_id!r} of connector {connector.name!r} was deleted, "
                f"so connection {connection_name!r} no longer applies or refreshes this credential."
            )
            credential.errors = [*(credential.errors or []), message]
            credential.updated_at = now
            await session.delete(row)
        await session.delete(config)
    logger.info("auth scheme config deleted", extra={"connector_id": connector_id, "config_id": config_id})
    return connector


async def count_subscribers(session: AsyncSession, connector_id: str) -> int:
    table = models.ConnectorVersionSubscriber
    return (await session.execute(select(func.count()).select_from(table).where(table.connector_id == connector_id))).scalar_one()


async def delete_connector(services: Services, caller: Caller, organisation_id: str, connector_id: str, force: bool) -> str:
    """Delete a connector with its configs, connections and versions, and the credentials only it used.

    Raises FAILED_PRECONDITION while any version has subscribers, unless `force` is set.
    """
    require_organisation(caller, organisation_id)
    try:
        async with services.database.transaction() as session:
            await touch_connector(session, caller, organisation_id, connector_id, datetime.now(UTC))
            subscribers = await count_subscribers(session, connector_id)
            if subscribers and not force:
                raise DomainError(
                    ErrorCode.FAILED_PRECONDITION,
                    f"Connector {connector_id} has {subscribers} version subscriber(s), such as live integrations; "
                    "unsubscribe them first, or pass force: true.",
                )
            candidates = await _credentials_used_by(session, connector_id, organisation_id)
            await session.execute(delete(models.Connector).where(models.Connector.id == connector_id))
            candidates -= await _credentials_named_by_configs(session, organisation_id)
            await _delete_unused_credentials(session, organisation_id, candidates)
    except IntegrityError as error:
        # A concurrent createConnection linked one of the credentials that were about to go.
        logger.info("connector delete conflicted with a concurrent write", extra={"connector_id": connector_id})
        raise DomainError(ErrorCode.FAILED_PRECONDITION, "A credential of this connector was put in use at the same time; retry the request.") from error
    logger.info("connector deleted", extra={"organisation_id": organisation_id, "connector_id": connector_id, "force": force})
    return connector_id


async def _credentials_used_by(session: AsyncSession, connector_id: str, organisation_id: str) -> set[str]:
    """Return the credentials the connector's connections apply and its configs name in this organisation."""
    link, connection = models.ConnectionCredential, models.Connection
    statement = select(link.credential_id).join(connection, connection.id == link.connection_id).where(connection.connector_id == connector_id)
    ids = set((await session.execute(statement)).scalars())
    for row in await load_configs(session, connector_id):
        ids |= _credentials_named_by(row, organisation_id)
    return ids


def _credentials_named_by(row: models.AuthSchemeConfig, organisation_id: str) -> set[str]:
    grant = row.settings.get("grant") or {}
    ids = {row.settings["mtlsCredentialId"]} if row.settings.get("mtlsCredentialId") else set()
    # A grant may name another organisation's client credential (an imported public
    # connector); that credential is never this connector's to delete.
    if grant.get("credentialId") and grant.get("organisationId") == organisation_id:
        ids.add(grant["credentialId"])
    return ids


async def _credentials_named_by_configs(session: AsyncSession, organisation_id: str) -> set[str]:
    config, connector = models.AuthSchemeConfig, models.Connector
    statement = (
        select(config)
        .join(connector, connector.id == config.connector_id)
        .where(connector.organisation_id == organisation_id, config.scheme_type == "oauth2")
    )
    ids: set[str] = set()
    for row in (await session.execute(statement)).scalars():
        ids |= _credentials_named_by(row, organisation_id)
    return ids


async def _delete_unused_credentials(session: AsyncSession, organisation_id: str, candidates: set[str]) -> None:
    if not candidates:
        return
    table, link = models.Credential, models.ConnectionCredential
    await session.execute(
        delete(table)
        .where(table.id.in_(candidates), table.organisation_id == organisation_id)
        .where(~exists().where(link.credential_id == table.id))
        .execution_options(synchronize_session=False)
    )
