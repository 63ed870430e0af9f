"""Connections of a connector: create, update and delete."""

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from resolvers import limits
from resolvers.checks import check_list, check_object, check_text, check_ulid
from resolvers.connector_access import config_view, is_unique_violation, load_configs, touch_connector
from resolvers.connector_updates import count_subscribers
from resolvers.connectors import (
    ConnectorTree,
    build_connection,
    check_connection_references,
    copy_variables,
    load_referenced_credentials,
    require_organisation,
)
from resolvers.context import Caller, Services
from resolvers.errors import DomainError, ErrorCode, FieldErrors, not_found
from resolvers.validation import PURPOSES, check_credential_serves, validate_connection, validate_variables

logger = logging.getLogger(__name__)


def _name_taken(name: str, connector_id: str, error: IntegrityError) -> DomainError:
    if is_unique_violation(error):
        return DomainError(
            ErrorCode.ALREADY_EXISTS,
            f"Connector {connector_id} already has a connection named {name!r}; choose another name.",
        )
    # A foreign key failed: a credential named by id was deleted at the same time.
    return DomainError(ErrorCode.FAILED_PRECONDITION, "A credential this connection names was deleted at the same time; retry the request.")


async def create_connection(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, spec: dict[str, Any]
) -> models.Connection:
    """Create a connection; each credential is either new (inline) or an existing one by id."""
    require_organisation(caller, organisation_id)
    now = datetime.now(UTC)
    errors = FieldErrors()
    try:
        async with services.database.transaction() as session:
            connector = await touch_connector(session, caller, organisation_id, connector_id, now)
            configs = {row.config_id: config_view(row) for row in await load_configs(session, connector_id)}
            validate_connection(spec, "input", configs, errors)
            existing = await load_referenced_credentials(session, caller, {"authSchemeConfigs": [], "connections": [spec]})
            check_connection_references(spec, "input", configs, existing, errors)
            errors.raise_if_any()

            tree = ConnectorTree(connector)
            build_connection(services, tree, spec, now)
            session.add_all([*tree.credentials, *tree.connections])
            await session.flush()
            session.add_all(tree.links)
            await session.flush()
    except IntegrityError as error:
        logger.info("connection create failed on a constraint", extra={"connector_id": connector_id, "error": type(error).__name__})
        raise _name_taken(spec["name"], connector_id, error) from error
    logger.info("connection created", extra={"connector_id": connector_id, "connection_id": tree.connections[0].id})
    return tree.connections[0]


async def _find_connection(session: AsyncSession, connector_id: str, connection_id: str) -> models.Connection:
    table = models.Connection
    statement = select(table).where(table.id == connection_id, table.connector_id == connector_id)
    connection = (await session.execute(statement)).scalar_one_or_none()
    if connection is None:
        raise not_found("Connection", f"{connection_id} of connector {connector_id}")
    return connection


async def update_connection(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, connection_id: str, spec: dict[str, Any]
) -> models.Connection:
    """Rename a connection, replace its variables, and reorder or retarget its credentials.

    Omitted `variables` keep their values and `[]` clears them. A credentials list names each
    of the connection's credentials of that purpose once, in the new order, and may move one
    to another config of the same scheme type that accepts its credential type.
    """
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    check_text(errors, "input.name", spec.get("name"), limits.MAX_NAME_LENGTH, required=True)
    if spec.get("variables") is not None:
        validate_variables(spec["variables"], "input.variables", errors)
    errors.raise_if_any()

    now = datetime.now(UTC)
    try:
        async with services.database.transaction() as session:
            await touch_connector(session, caller, organisation_id, connector_id, now)
            connection = await _find_connection(session, connector_id, connection_id)
            credentials = check_object(errors, "input.credentials", spec.get("credentials"), required=False) or {}
            if any(credentials.get(purpose) is not None for purpose in PURPOSES):
                await _rearrange_credentials(session, connector_id, connection_id, credentials, errors)
            errors.raise_if_any()
            connection.name = spec["name"]
            if spec.get("variables") is not None:
                connection.variables = copy_variables(spec["variables"])
            connection.updated_at = now
            await session.flush()
    except IntegrityError as error:
        raise _name_taken(spec["name"], connector_id, error) from error
    return connection


async def _rearrange_credentials(
    session: AsyncSession, connector_id: str, connection_id: str, credentials: dict[str, Any], errors: FieldErrors
) -> None:
    configs = {row.config_id: config_view(row) for row in await load_configs(session, connector_id)}
    link = models.ConnectionCredential
    statement = (
        select(link, models.Credential.type)
        .join(models.Credential, models.Credential.id == link.credential_id)
        .where(link.connection_id == connection_id)
    )
    rows = (await session.execute(statement)).all()
    for purpose in PURPOSES:
        items = credentials.get(purpose)
        if items is None:
            continue
        path = f"input.credentials.{purpose}"
        current = {row.id: (row, credential_type) for row, credential_type in rows if row.purpose == purpose}
        items = check_list(errors, path, items, limits.MAX_CREDENTIALS_PER_PURPOSE)
        listed = [check_ulid(errors, f"{path}[{index}].id", item.get("id")) for index, item in enumerate(items)]
        missing = [link_id for link_id in current if link_id not in listed]
        if missing:
            errors.add(path, f"must list every {purpose} credential of the connection once; missing: {', '.join(missing)}.")
        for index, (item, link_id) in enumerate(zip(items, listed, strict=True)):
            item_path = f"{path}[{index}]"
            if link_id in listed[:index]:
                errors.add(f"{item_path}.id", "repeats an earlier credential.")
            elif link_id is not None and link_id not in current:
                errors.add(f"{item_path}.id", f"names no {purpose} credential of this connection.")
            else:
                _retarget(current.get(link_id), item, index, item_path, configs, errors)


def _retarget(
    entry: tuple[models.ConnectionCredential, str] | None,
    item: dict[str, Any],
    position: int,
    path: str,
    configs: dict[str, dict[str, Any]],
    errors: FieldErrors,
) -> None:
    if entry is None:
        return
    row, credential_type = entry
    config_id = item.get("authSchemeConfigId")
    config = configs.get(config_id)
    if config is None:
        errors.add(f"{path}.authSchemeConfigId", f"names no auth scheme config of this connector; use one of: {', '.join(configs) or 'none defined'}.")
        return
    previous = configs.get(row.auth_scheme_config_id, {}).get("schemeType")
    if config["schemeType"] != previous:
        errors.add(
            f"{path}.authSchemeConfigId",
            f"would change the credential's scheme type from {previous} to {config['schemeType']}, which is not allowed; "
            "create a connection with a new credential instead.",
        )
        return
    check_credential_serves(config, credential_type, path, errors)
    row.position = position
    row.auth_scheme_config_id = config_id


async def delete_connection(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, connection_id: str, force: bool
) -> str:
    """Delete a connection; its credentials stay in the organisation.

    A connection counts as in use while any version of its connector has subscribers, so
    the delete then needs `force`.
    """
    require_organisation(caller, organisation_id)
    async with services.database.transaction() as session:
        await touch_connector(session, caller, organisation_id, connector_id, datetime.now(UTC))
        await _find_connection(session, connector_id, connection_id)
        subscribers = await count_subscribers(session, connector_id)
        if subscribers and not force:
            raise DomainError(
                ErrorCode.FAILED_PRECONDITION,
                f"Connection {connection_id} is in use: connector {connector_id} has {subscribers} version subscriber(s); "
                "unsubscribe them first, or pass force: true.",
            )
        table = models.Connection
        await session.execute(
            delete(table).where(table.id == connection_id).execution_options(synchronize_session=False)
        )
    logger.info("connection deleted", extra={"connector_id": connector_id, "connection_id": connection_id, "force": force})
    return connection_id
