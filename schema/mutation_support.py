"""Helpers for the mutation resolvers: expected failures become the `Error` union member."""

from collections.abc import Awaitable
from typing import Any, TypeVar

from db import models
from resolvers.errors import DomainError
from schema.types.common import Error
from schema.types.connectors import ConnectorVersion, HTTPConnector, Info, connector_of, versions_of

Row = TypeVar("Row")


async def attempt(info: Info, call: Awaitable[Row]) -> Row | Error:
    """Await a resolver call; return its result, or an `Error` for a DomainError.

    After a successful write the request's loaders are reset, so the returned object and
    any later mutation in the same document read the new state.
    """
    try:
        result = await call
    except DomainError as error:
        return Error.from_domain(error)
    info.context.reset_loaders()
    return result


def connector_output(info: Info, row: models.Connector) -> HTTPConnector:
    info.context.loaders.prime_connectors([row])
    return connector_of(row)


async def version_output(info: Info, row: models.ConnectorVersion) -> ConnectorVersion:
    """Build a version with `isLatest` computed against its sibling versions."""
    siblings = versions_of(await info.context.loaders.versions_by_connector.load(row.connector_id))
    return next(item for item in siblings if str(item.id) == row.id)


def is_error(value: Any) -> bool:
    return isinstance(value, Error)
