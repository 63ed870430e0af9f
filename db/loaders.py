"""Per-request batch loaders: one SQL statement per relation, whatever the page size.

A `Loaders` object is created for each request and scoped to the organisations the
caller may act for, so nothing cached here outlives the request or crosses tenants.
Each loader returns results in key order, with `None` or `[]` for misses.

Loaders return named tuples of a table's columns rather than ORM instances. They carry the
same attribute names as the models, and building them skips the identity map and the
per-instance state of ORM loading, a large share of a page of trees in bench/profile.py.
"""

from collections import defaultdict, namedtuple
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Column, select
from sqlalchemy.ext.asyncio import AsyncSession
from db import models
from db.batch_loader import BatchLoader
from db.snapshot import ReadRunner

Row = TypeVar("Row")
Output = TypeVar("Output")

# Called with a loader's attribute name and its key count before each batch runs. app.metrics
# sets it, because this layer must not import the app layer.
batch_size_observer: Callable[[str, int], None] | None = None


@dataclass(frozen=True)
class RowShape:
    """The columns a loader selects from one table, and the named tuple each row becomes."""

    columns: tuple[Column[Any], ...]
    make: Callable[[Iterable[Any]], Any]


def _shape(model: Any, leave_out: tuple[str, ...] = ()) -> RowShape:
    columns = tuple(column for column in model.__table__.columns if column.name not in leave_out)
    row_class = namedtuple(f"{model.__name__}Row", [column.name for column in columns])  # type: ignore[misc]
    return RowShape(columns, row_class._make)


CONNECTOR = _shape(models.Connector)
AUTH_SCHEME_CONFIG = _shape(models.AuthSchemeConfig)
CONNECTION = _shape(models.Connection)
CONNECTION_CREDENTIAL = _shape(models.ConnectionCredential)
# No output reads the encrypted secret, so the loaders never fetch it.
CREDENTIAL = _shape(models.Credential, leave_out=("secret",))
CONNECTOR_VERSION = _shape(models.ConnectorVersion)
CONNECTOR_CATEGORY = _shape(models.ConnectorCategory)
CONNECTOR_VERSION_SUBSCRIBER = _shape(models.ConnectorVersionSubscriber)
_SHAPES = {
    models.Connector: CONNECTOR,
    models.AuthSchemeConfig: AUTH_SCHEME_CONFIG,
    models.Connection: CONNECTION,
    models.ConnectionCredential: CONNECTION_CREDENTIAL,
    models.Credential: CREDENTIAL,
    models.ConnectorVersion: CONNECTOR_VERSION,
    models.ConnectorCategory: CONNECTOR_CATEGORY,
    models.ConnectorVersionSubscriber: CONNECTOR_VERSION_SUBSCRIBER,
}


async def execute_core(session: AsyncSession, statement: Any) -> Any:
    """Execute a select of columns on the session's connection, in its transaction.

    Session.execute would run it through the ORM's result loading, which costs more per
    row than Core's and adds nothing for rows that are plain columns. Callers take the rows
    with `all()`, which fetches them in one call rather than one call per row.
    """
    connection = await session.connection()
    return await connection.execute(statement)


def row_shape(model: Any) -> RowShape:
    """Return the columns and row tuple that reads of `model` share with the loaders."""
    return _SHAPES[model]


class UsageConnection(NamedTuple):
    id: str
    name: str
    created_at: Any
    updated_at: Any


class UsageConnector(NamedTuple):
    id: str
    organisation_id: str
    name: str
    protocol: str
    created_at: Any
    updated_at: Any


@dataclass(frozen=True)
class CredentialUsageRow:
    credential_id: str
    connection: UsageConnection
    connector: UsageConnector


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
    def __init__(self, read: ReadRunner, organisation_ids: frozenset[str]) -> None:
        """Create the loaders of one request; `read` runs each batch's statement, such as in the request's snapshot."""
        self._read = read
        self._organisation_ids = organisation_ids
        self.connector_by_id = BatchLoader(self._load_connectors)
        self.auth_scheme_configs_by_connector = BatchLoader(self._load_auth_scheme_configs)
        self.connections_by_connector = BatchLoader(self._load_connections)
        self.connection_credentials_by_connection = BatchLoader(self._load_connection_credentials)
        self.credential_by_id = BatchLoader(self._load_credentials)
        self.usages_by_credential = BatchLoader(self._load_usages)
        self.versions_by_connector = BatchLoader(self._load_versions)
        self.categories_by_connector = BatchLoader(self._load_categories)
        self.subscribers_by_version = BatchLoader(self._load_subscribers)
        for name, loader in vars(self).items():
            if isinstance(loader, BatchLoader):
                loader.load_fn = _observed(name, loader.load_fn)
        self._outputs: dict[Hashable, Any] = {}

    def output(self, key: Hashable, build: Callable[[], Output]) -> Output:
        """Return the object built for `key`, calling `build` the first time.

        Resolvers use it for output objects built from these loaders' rows, such as a
        connector that each of its connections returns, so each is built once. The objects
        are dropped with the loaders, after every write.
        """
        if key in self._outputs:
            return self._outputs[key]
        value = self._outputs[key] = build()
        return value

    async def _all(self, statement: Any, shape: RowShape) -> list[Any]:
        make = shape.make

        async def fetch(session: AsyncSession) -> list[Any]:
            return [make(row) for row in (await execute_core(session, statement)).all()]

        return await self._read(fetch)

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

    async def _load_connectors(self, ids: list[str]) -> list[Any]:
        statement = select(*CONNECTOR.columns).where(models.Connector.id.in_(ids))
        return _index(self._owned(await self._all(statement, CONNECTOR)), lambda row: row.id, ids)

    async def _load_auth_scheme_configs(self, connector_ids: list[str]) -> list[list[Any]]:
        table = models.AuthSchemeConfig
        statement = select(*AUTH_SCHEME_CONFIG.columns).where(table.connector_id.in_(connector_ids)).order_by(table.connector_id, table.position)
        return _group(await self._all(statement, AUTH_SCHEME_CONFIG), lambda row: row.connector_id, connector_ids)

    async def _load_connections(self, connector_ids: list[str]) -> list[list[Any]]:
        table = models.Connection
        statement = (
            select(*CONNECTION.columns).where(table.connector_id.in_(connector_ids)).order_by(table.connector_id, table.created_at, table.id)
        )
        return _group(await self._all(statement, CONNECTION), lambda row: row.connector_id, connector_ids)

    async def _load_connection_credentials(self, connection_ids: list[str]) -> list[list[Any]]:
        table = models.ConnectionCredential
        statement = (
            select(*CONNECTION_CREDENTIAL.columns)
            .where(table.connection_id.in_(connection_ids))
            .order_by(table.connection_id, table.purpose, table.position)
        )
        return _group(await self._all(statement, CONNECTION_CREDENTIAL), lambda row: row.connection_id, connection_ids)

    async def _load_credentials(self, ids: list[str]) -> list[Any]:
        statement = select(*CREDENTIAL.columns).where(models.Credential.id.in_(ids))
        return _index(self._owned(await self._all(statement, CREDENTIAL)), lambda row: row.id, ids)

    async def _load_versions(self, connector_ids: list[str]) -> list[list[Any]]:
        table = models.ConnectorVersion
        statement = (
            select(*CONNECTOR_VERSION.columns)
            .where(table.connector_id.in_(connector_ids))
            .order_by(table.connector_id, table.created_at, table.id)
        )
        return _group(await self._all(statement, CONNECTOR_VERSION), lambda row: row.connector_id, connector_ids)

    async def _load_categories(self, connector_ids: list[str]) -> list[list[Any]]:
        table = models.ConnectorCategory
        statement = select(*CONNECTOR_CATEGORY.columns).where(table.connector_id.in_(connector_ids)).order_by(table.connector_id, table.position)
        return _group(await self._all(statement, CONNECTOR_CATEGORY), lambda row: row.connector_id, connector_ids)

    async def _load_subscribers(self, version_ids: list[str]) -> list[list[Any]]:
        table = models.ConnectorVersionSubscriber
        statement = (
            select(*CONNECTOR_VERSION_SUBSCRIBER.columns)
            .where(table.version_id.in_(version_ids), table.organisation_id.in_(self._organisation_ids))
            .order_by(table.version_id, table.created_at, table.id)
        )
        return _group(await self._all(statement, CONNECTOR_VERSION_SUBSCRIBER), lambda row: row.version_id, version_ids)

    async def _load_usages(self, credential_ids: list[str]) -> list[list[CredentialUsageRow]]:
        link, connection, connector = models.ConnectionCredential, models.Connection, models.Connector
        statement = (
            select(
                link.credential_id,
                connection.id,
                connection.name,
                connection.created_at,
                connection.updated_at,
                connector.id,
                connector.organisation_id,
                connector.name,
                connector.protocol,
                connector.created_at,
                connector.updated_at,
            )
            .join(connection, connection.id == link.connection_id)
            .join(connector, connector.id == connection.connector_id)
            .where(link.credential_id.in_(credential_ids))
            .order_by(link.credential_id, connection.created_at, connection.id)
        )
        rows: list[CredentialUsageRow] = []
        seen: set[tuple[str, str]] = set()

        async def fetch(session: AsyncSession) -> list[Any]:
            return (await execute_core(session, statement)).all()

        for credential_id, *columns in await self._read(fetch):
            usage_connection, usage_connector = UsageConnection(*columns[:4]), UsageConnector(*columns[4:])
            if usage_connector.organisation_id not in self._organisation_ids:
                continue
            # A connection that uses one credential for both action and trigger is one usage.
            if (credential_id, usage_connection.id) not in seen:
                seen.add((credential_id, usage_connection.id))
                rows.append(CredentialUsageRow(credential_id, usage_connection, usage_connector))
        return _group(rows, lambda row: row.credential_id, credential_ids)
