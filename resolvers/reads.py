"""Queries: single objects, pages and node lookups, always within the caller's organisations."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.snapshot import ReadRunner, new_session_reader
from resolvers.context import Caller, Services
from resolvers.errors import invalid
from resolvers.pagination import Page, PageRequest, paginate, scope_of

NODE_TABLES = (models.Connector, models.Connection, models.Credential, models.ConnectorVersion)


@dataclass(frozen=True)
class TagFilter:
    key: str
    value: str | None


@dataclass(frozen=True)
class ConnectorFilter:
    name: str | None = None
    protocol: str | None = None
    tags: tuple[TagFilter, ...] = ()
    public: bool | None = None
    # A connector matches when it has any of these categories.
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class CredentialFilter:
    name: str | None = None
    type: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_condition(table: Any, name: str) -> Any:
    return table.name_folded.like(f"%{_escape_like(name.casefold())}%", escape="\\")


def _connector_conditions(organisation_id: str, filters: ConnectorFilter) -> list[Any]:
    conditions = [models.Connector.organisation_id == organisation_id]
    if filters.public is not None:
        conditions.append(models.Connector.public == filters.public)
    return conditions + connector_filter_conditions(filters)


def check_filter_text(values: dict[str, str | None]) -> None:
    """Reject filter text with NUL bytes, which PostgreSQL refuses and SQLite never matches."""
    for path, value in values.items():
        if value is not None and "\x00" in value:
            raise invalid(path, "must not contain NUL bytes (U+0000).")


def connector_filter_conditions(filters: ConnectorFilter) -> list[Any]:
    """Return the conditions of every filter except `public` and the organisation."""
    check_filter_text(
        {"filter.name": filters.name}
        | {f"filter.tags[{index}].key": tag.key for index, tag in enumerate(filters.tags)}
        | {f"filter.tags[{index}].value": tag.value for index, tag in enumerate(filters.tags)}
    )
    table = models.Connector
    conditions = []
    if filters.name:
        conditions.append(_name_condition(table, filters.name))
    if filters.protocol:
        conditions.append(table.protocol == filters.protocol)
    if filters.categories:
        category = models.ConnectorCategory
        conditions.append(exists().where(category.connector_id == table.id, category.category.in_(filters.categories)))
    for tag in filters.tags:
        tag_table = models.ConnectorTag
        match = [tag_table.connector_id == table.id, tag_table.key == tag.key]
        if tag.value is not None:
            match.append(tag_table.value == tag.value)
        conditions.append(exists().where(*match))
    return conditions


async def list_connectors(
    services: Services,
    caller: Caller,
    organisation_id: str,
    request: PageRequest,
    filters: ConnectorFilter,
    read: ReadRunner | None = None,
) -> Page | None:
    """Return a page of the organisation's connectors, or None for an organisation out of reach.

    `read` runs the statements, such as in a request's shared snapshot. By default they run in
    a new read session.
    """
    if not caller.may_act_for(organisation_id):
        return None
    scope = scope_of("connectors", organisation_id, filters.__dict__)
    conditions = _connector_conditions(organisation_id, filters)
    return await paginate(read or new_session_reader(services.database), models.Connector, conditions, request, scope)


async def list_credentials(
    services: Services,
    caller: Caller,
    organisation_id: str,
    request: PageRequest,
    filters: CredentialFilter,
    read: ReadRunner | None = None,
) -> Page | None:
    if not caller.may_act_for(organisation_id):
        return None
    check_filter_text({"filter.name": filters.name})
    table = models.Credential
    conditions = [table.organisation_id == organisation_id]
    if filters.name:
        conditions.append(_name_condition(table, filters.name))
    if filters.type:
        conditions.append(table.type == filters.type)
    scope = scope_of("credentials", organisation_id, filters.__dict__)
    return await paginate(read or new_session_reader(services.database), table, conditions, request, scope)


async def find_nodes(services: Services, caller: Caller, ids: list[str], read: ReadRunner | None = None) -> dict[str, Any]:
    """Return the objects with these ids that belong to the caller's organisations, by id."""

    async def fetch(session: AsyncSession) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for table in NODE_TABLES:
            missing = [node_id for node_id in ids if node_id not in found]
            if not missing:
                break
            statement = select(table).where(table.id.in_(missing), table.organisation_id.in_(caller.organisation_ids))
            found |= {row.id: row for row in (await session.execute(statement)).scalars()}
        return found

    return await (read or new_session_reader(services.database))(fetch)
