"""Helpers for the mutation resolvers: expected failures become the `Error` union member."""

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

import strawberry

from db import models
from resolvers.context import Caller, Services
from resolvers.errors import DomainError
from schema.types.common import Error
from schema.types.connectors import Connection, ConnectorVersion, HTTPConnector, Info, connector_of, versions_of
from schema.types.credentials import Credential
from schema.types.lifecycle import Deleted

Arguments = ParamSpec("Arguments")
Row = TypeVar("Row")
Output = TypeVar("Output")


async def mutate(
    info: Info,
    output: Callable[[Info, Row], Awaitable[Output]],
    resolver: Callable[Concatenate[Services, Caller, Arguments], Awaitable[Row]],
    *arguments: Arguments.args,
    **keyword_arguments: Arguments.kwargs,
) -> Output | Error:
    """Run a resolver for the request's caller and build the GraphQL object with `output`, or return an `Error` for a DomainError.

    After a successful write the request's loaders are reset, so the returned object and
    any later mutation in the same document read the new state.
    """
    context = info.context
    try:
        row = await resolver(context.services, context.caller, *arguments, **keyword_arguments)
    except DomainError as error:
        return Error.from_domain(error)
    context.reset_loaders()
    return await output(info, row)


async def connector_output(info: Info, row: models.Connector) -> HTTPConnector:
    info.context.loaders.prime_connectors([row])
    return connector_of(row)


async def version_output(info: Info, row: models.ConnectorVersion) -> ConnectorVersion:
    """Build a version with `isLatest` computed against its sibling versions."""
    siblings = versions_of(await info.context.loaders.versions_by_connector.load(row.connector_id))
    return next(item for item in siblings if str(item.id) == row.id)


async def connection_output(info: Info, row: models.Connection) -> Connection:
    return Connection.from_row(row)


async def credential_output(info: Info, row: models.Credential) -> Credential:
    return Credential.from_row(row)


async def deleted_output(info: Info, deleted_id: str) -> Deleted:
    return Deleted(id=strawberry.ID(deleted_id))
