"""Per-request batch loaders: one SQL statement per relation, whatever the page size.

A `Loaders` object is created for each request and scoped to the organisations the
caller may act for, so nothing cached here outlives the request or crosses tenants.
Each loader returns results in key order, with `None` or `[]` for misses.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from db import models

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Row = TypeVar("Row")

# Called with a loader's attribute name and its key count before each batch runs. app.metrics
# sets it, because this layer must not import the app layer.
batch_size_observer: Callable[[str, int], None] | None = None


@dataclass(frozen=True)
class CredentialUsageRow:
    credential_id: str
    connection: models.Connection
    connector: models.Connector


def _group(rows: Iterable[Row], key: Callable[[Row], str], keys: Sequence[str]) -> list[list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return [grouped.get(item, []) for item in keys]


def _index(rows: Iterable[Row], key: Callable[[Row], str], keys: Sequence[str]) -> list[Row | None]:
    by_key = {key(row): row for row in rows}
    return [by_key.get(item) for item in keys]


def _observed(name: str, load: Callable[[list[Any]], Awaitable[Any]]) -> Callable[[list[Any]], Awaitable[Any]]:
    async def load_batch(keys: list[Any]) -> Any:
        if batch_size_observer is not None:
            batch_size_observer(name, len(keys))
        return await load(keys)

    return load_batch


class Loaders:
    def __init__(self, session_factory: SessionFactory, organisation_ids: frozenset[str]) -> None:
        self._session_factory = session_factory
        self._organisation_ids = organisation_ids
        self.connector_by_id = DataLoader(self._load_connectors)
        self.auth_scheme_configs_by_connector = DataLoader(self._load_auth_scheme_configs)
        self.connections_by_connector = DataLoader(self._load_connections)
        self.connection_credentials_by_connection = DataLoader(self._load_connection_credentials)
        self.credential_by_id = DataLoader(self._load_credentials)
        self.usages_by_credential = DataLoader(self._load_usages)
        self.versions_by_connector = DataLoader(self._load_versions)
        self.categories_by_connector = DataLoader(self._load_categories)
        self.subscribers_by_version = DataLoader(self._load_subscribers)
        for name, loader in vars(self).items():
            if isinstance(loader, DataLoader):
                loader.load_fn = _observed(name, loader.load_fn)

    async def _all(self, statement: Any) -> list[Any]:
        async with self._session_factory() as session:
            return list((await session.execute(statement)).scalars())

    def prime_connectors(self, connectors: Iterable[models.Connector]) -> None:
        for connector in connectors:
            self.connector_by_id.prime(connector.id, connector)

    def _owned(self, rows: list[Row]) -> list[Row]:
        """Keep the rows of the caller's organisations.

        Loaders fetch by primary key and filter tenancy here rather than in SQL: with an
        extra `organisation_id IN (...)` term, SQLite without statistics may scan the whole
        organisation instead of using the primary key.
        """
        return [row for row in rows if row.organisation_id in self._organisation_ids]

    async def _load_connectors(self, ids: list[str]) -> list[models.Connector | None]:
        statement = select(models.Connector).where(models.Connector.id.in_(ids))
        return _index(self._owned(await self._all(statement)), lambda row: row.id, ids)

    async def _load_auth_scheme_configs(self, connector_ids: list[str]) -> list[list[models.AuthSchemeConfig]]:
        table = models.AuthSchemeConfig
        statement = select(table).where(table.connector_id.in_(connector_ids)).order_by(table.connector_id, table.position)
        return _group(await self._all(statement), lambda row: row.connector_id, connector_ids)

    async def _load_connections(self, connector_ids: list[str]) -> list[list[models.Connection]]:
        table = models.Connection
        statement = select(table).where(table.connector_id.in_(connector_ids)).order_by(table.connector_id, table.created_at, table.id)
        return _group(await self._all(statement), lambda row: row.connector_id, connector_ids)

    async def _load_connection_credentials(self, connection_ids: list[str]) -> list[list[models.ConnectionCredential]]:
        table = models.ConnectionCredential
        statement = select(table).where(table.connection_id.in_(connection_ids)).order_by(table.connection_id, table.purpose, table.position)
        return _group(await self._all(statement), lambda row: row.connection_id, connection_ids)

    async def _load_credentials(self, ids: list[str]) -> list[models.Credential | None]:
        table = models.Credential
        statement = select(table).where(table.id.in_(ids))
        return _index(self._owned(await self._all(statement)), lambda row: row.id, ids)

    async def _load_versions(self, connector_ids: list[str]) -> list[list[models.ConnectorVersion]]:
        table = models.ConnectorVersion
        statement = select(table).where(table.connector_id.in_(connector_ids)).order_by(table.connector_id, table.created_at, table.id)
        return _group(await self._all(statement), lambda row: row.connector_id, connector_ids)

    async def _load_categories(self, connector_ids: list[str]) -> list[list[models.ConnectorCategory]]:
        table = models.ConnectorCategory
        statement = select(table).where(table.connector_id.in_(connector_ids)).order_by(table.connector_id, table.position)
        return _group(await self._all(statement), lambda row: row.connector_id, connector_ids)

    async def _load_subscribers(self, version_ids: list[str]) -> list[list[models.ConnectorVersionSubscriber]]:
        table = models.ConnectorVersionSubscriber
        statement = (
            select(table)
            .where(table.version_id.in_(version_ids), table.organisation_id.in_(self._organisation_ids))
            .order_by(table.version_id, table.created_at, table.id)
        )
        return _group(await self._all(statement), lambda row: row.version_id, version_ids)

    async def _load_usages(self, credential_ids: list[str]) -> list[list[CredentialUsageRow]]:
        link, connection, connector = models.ConnectionCredential, models.Connection, models.Connector
        statement = (
            select(link.credential_id, connection, connector)
            .join(connection, connection.id == link.connection_id)
            .join(connector, connector.id == connection.connector_id)
            .where(link.credential_id.in_(credential_ids))
            .order_by(link.credential_id, connection.created_at, connection.id)
        )
        rows: list[CredentialUsageRow] = []
        seen: set[tuple[str, str]] = set()
        async with self._session_factory() as session:
            # A connection that uses one credential for both action and trigger is one usage.
            for credential_id, conn, owner in await session.execute(statement):
                if owner.organisation_id not in self._organisation_ids:
                    continue
                if (credential_id, conn.id) not in seen:
                    seen.add((credential_id, conn.id))
                    rows.append(CredentialUsageRow(credential_id, conn, owner))
        return _group(rows, lambda row: row.credential_id, credential_ids)
