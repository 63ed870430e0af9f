"""Engine and sessions for SQLite (embedded default) and PostgreSQL (production).

Both backends give the resolvers the same guarantees:

- Write transactions (`Database.transaction`) run one at a time. SQLite takes the
  database write lock at BEGIN IMMEDIATE, and PostgreSQL takes one transaction-scoped
  advisory lock. A read-modify-write inside a write transaction therefore cannot
  overwrite a concurrent update (tests/test_concurrency.py checks this on both).
- A read session (`Database.read`) reads one snapshot in all its statements, because
  SQLite WAL readers keep the snapshot of their first read and PostgreSQL reads run in
  REPEATABLE READ. A GraphQL request shares one read session (db/snapshot.py), so its
  page, total count and loaded trees come from the same snapshot.
"""

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

logger = logging.getLogger(__name__)

# Seconds a SQLite writer waits for the lock before it fails; writes are short, so
# reaching this means something is wrong rather than busy.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

# Execution option that marks the connections of write transactions.
WRITE_OPTION = "gateway_write"

# Key of the PostgreSQL advisory lock that write transactions hold until they end. Any
# constant works as long as nothing else in the database uses the same key.
POSTGRES_WRITE_LOCK_KEY = int.from_bytes(hashlib.sha256(b"connect-gateway writes").digest()[:8], "big", signed=True)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _is_write(connection: Any) -> bool:
    return bool(connection.get_execution_options().get(WRITE_OPTION))


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Use WAL, enforce foreign keys and let the session decide how to BEGIN.

    pysqlite opens transactions lazily and only before DML, which lets two writers
    read the same state and then collide; writes instead start with BEGIN IMMEDIATE
    so they queue on the busy timeout.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite's adapter runs this setter on its worker thread, so pysqlite's
        # implicit transactions are off and the "begin" listener below issues BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        if _is_write(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _configure_postgresql(engine: AsyncEngine) -> None:
    """Serialize write transactions on one advisory lock, as SQLite's write lock does.

    Under READ COMMITTED, two transactions that read a row and then update it would both
    succeed, and the second would overwrite the first one's change. Row locks in each
    resolver would allow more parallel writes, but every write path would have to take them.
    """

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        if _is_write(connection):
            # NOTE: this waits without a time limit unless the role or database sets
            # lock_timeout, whereas a SQLite writer gives up after SQLITE_BUSY_TIMEOUT_SECONDS.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({POSTGRES_WRITE_LOCK_KEY})")


def load_json(text: str | bytes) -> Any:
    """Parse a JSON column value with orjson, falling back to json.loads for what orjson rejects.

    orjson parses the tree columns several times faster than json.loads. The columns are
    written with json.dumps, which also writes NaN and Infinity. orjson rejects those, so
    json.loads reads them. NOTE: orjson 3.13 reads integers beyond 64 bits as floats, which is
    exact only because no input type stores numbers in these columns.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, json_deserializer=load_json)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, json_deserializer=load_json)
    if engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


class Database:
    """The engine plus the two kinds of session the resolvers use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        read_engine = self.engine
        if self.dialect == "postgresql":
            read_engine = self.engine.execution_options(isolation_level="REPEATABLE READ")
        self._reads = async_sessionmaker(read_engine, expire_on_commit=False)
        write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self._writes = async_sessionmaker(write_engine, expire_on_commit=False)
        # PostgreSQL row-lock transactions run in READ COMMITTED without the global write
        # lock; SQLite has one writer anyway, so they are its ordinary write transactions.
        self._row_lock_engine = write_engine if self.dialect == "sqlite" else self.engine

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reads() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Open a write transaction that commits on success and rolls back on any error."""
        async with self._writes() as session, session.begin():
            yield session

    @asynccontextmanager
    async def row_lock_transaction(self) -> AsyncIterator[AsyncConnection]:
        """Open a short write transaction that locks only the rows it selects FOR UPDATE.

        For counters that every request touches, such as rate-limit buckets: on PostgreSQL
        they must not queue behind the global write lock of `transaction`, and they lock
        their own rows instead. The caller must lock every row it changes. It is a Core
        connection rather than a session, because these few statements run on every request.
        """
        async with self._row_lock_engine.begin() as connection:
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()
