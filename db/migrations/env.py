"""Alembic environment: runs migrations over the async engine of the configured URL.

A run is one write transaction (see db/engine.py), so replicas that all migrate at start-up
queue behind each other instead of creating the same tables twice. On SQLite, foreign keys
are off while migrating. Batch operations recreate tables, and dropping a parent table with
foreign keys on would delete its child rows through ON DELETE CASCADE. PRAGMA
foreign_key_check runs instead, before the commit.
"""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from db.engine import WRITE_OPTION, create_engine

target_metadata = SQLModel.metadata


class ForeignKeyViolation(Exception):
    """A migration left rows whose foreign key names no existing row."""


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run(connection: Connection) -> None:
    """Run the migrations on a connection that the caller passed in and manages."""
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _set_sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    # SQLite ignores this pragma inside a transaction, and any statement sent through
    # `connection` would begin one, so it goes to the DBAPI connection directly.
    cursor: Any = connection.connection.dbapi_connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    cursor.close()


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        tables = sorted({row[0] for row in violations})
        raise ForeignKeyViolation(
            f"the migration left {len(violations)} rows with dangling foreign keys in {', '.join(tables)}; "
            "nothing was committed"
        )


def _run_in_one_transaction(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _set_sqlite_foreign_keys(connection, enabled=False)
    try:
        # Alembic sees the transaction that is already open and leaves the commit to it,
        # so every revision in this run commits together or not at all.
        with connection.begin():
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                _check_sqlite_foreign_keys(connection)
    finally:
        if sqlite:
            _set_sqlite_foreign_keys(connection, enabled=True)


async def _run_async() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.execution_options(**{WRITE_OPTION: True}).connect() as connection:
            await connection.run_sync(_run_in_one_transaction)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run `connect-gateway migrate` against a database.")
run_migrations_online()
