"""Helpers that every connector mutation uses: locking the connector, reading its configs, classifying constraint violations."""

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from resolvers.connectors import require_organisation
from resolvers.context import Caller
from resolvers.errors import not_found

# SQLSTATE codes that PostgreSQL reports for constraint violations.
_UNIQUE_VIOLATION = "23505"
_FOREIGN_KEY_VIOLATION = "23503"


async def touch_connector(
    session: AsyncSession, caller: Caller, organisation_id: str, connector_id: str, now: datetime
) -> models.Connector:
    """Set the connector's updatedAt to `now` and return it; raise NOT_FOUND if the caller cannot see it.

    Every transaction that changes a connector or one of its children runs this UPDATE
    first. On PostgreSQL it takes the connector's row lock, so writers of one connector
    queue here, and each later statement in READ COMMITTED reads the rows that the previous
    writer committed. On SQLite, BEGIN IMMEDIATE already runs one writer at a time.
    """
    require_organisation(caller, organisation_id)
    table = models.Connector
    result = await session.execute(
        update(table)
        .where(table.id == connector_id, table.organisation_id == organisation_id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise not_found("Connector", connector_id)
    return (await session.execute(select(table).where(table.id == connector_id))).scalar_one()


def config_view(row: models.AuthSchemeConfig) -> dict[str, Any]:
    """Return a stored config in the REST shape that the validation functions read."""
    # A deep copy, because validation writes canonical ids back into the dicts it checks.
    return {"id": row.config_id, "schemeType": row.scheme_type, "description": row.description, **copy.deepcopy(row.settings)}


async def load_configs(session: AsyncSession, connector_id: str) -> list[models.AuthSchemeConfig]:
    table = models.AuthSchemeConfig
    statement = select(table).where(table.connector_id == connector_id).order_by(table.position)
    return list((await session.execute(statement)).scalars())


def _sqlstate(error: IntegrityError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def is_unique_violation(error: IntegrityError) -> bool:
    message = str(error.orig)
    return _sqlstate(error) == _UNIQUE_VIOLATION or "UNIQUE constraint failed" in message


def is_foreign_key_violation(error: IntegrityError) -> bool:
    message = str(error.orig)
    return _sqlstate(error) == _FOREIGN_KEY_VIOLATION or "FOREIGN KEY constraint failed" in message
