"""Generated databases for the benchmark: a cached SQLite file, or a fresh PostgreSQL database.

A SQLite file is kept in bench/data/ (git-ignored) with a JSON description beside it, and is
used again while the connector count, seed, generator version and migration head all match.
PostgreSQL gets the database `cg_bench`, dropped and created again on every run; its description
is written to bench/data/postgresql.json while the database exists.
"""

import asyncio
import json
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.generate import GENERATOR_VERSION, Dataset, generate
from db.migrate import head_revision, upgrade

DATA_DIRECTORY = Path(__file__).resolve().parent / "data"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/cg_bench"
# Description of the last PostgreSQL dataset, for bench.profile when the database was kept.
POSTGRES_DESCRIPTION = DATA_DIRECTORY / "postgresql.json"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sqlite_dataset(connectors: int, seed: int) -> Dataset:
    """Return the cached SQLite dataset, generating it first if it is missing or stale."""
    head = head_revision()
    stem = f"sqlite-{connectors}-seed{seed}-g{GENERATOR_VERSION}-m{head}"
    path = DATA_DIRECTORY / f"{stem}.db"
    description = DATA_DIRECTORY / f"{stem}.json"
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists() and description.exists():
        _log(f"sqlite: using the cached {path.name}")
        upgrade(url)
        return Dataset(**json.loads(description.read_text()))

    DATA_DIRECTORY.mkdir(parents=True, exist_ok=True)
    for stale in (path, description, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    _log(f"sqlite: generating {connectors} connectors into {path}")
    dataset = generate(url, connectors, seed)
    description.write_text(json.dumps(dataset.to_json(), indent=2) + "\n")
    _log(f"sqlite: generated in {dataset.seconds} s")
    return dataset


async def _admin(url: str, *statements: str) -> None:
    """Run statements outside a transaction in the server's `postgres` maintenance database."""
    admin_url = make_url(url).set(database="postgres")
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _database_name(url: str) -> str:
    name = make_url(url).database or ""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"the PostgreSQL database name must be letters, digits and underscores; got {name!r}")
    return name


def postgres_dataset(url: str, connectors: int, seed: int) -> Dataset:
    """Create the database at `url` again (dropping any old one), fill it and analyze it."""
    name = _database_name(url)
    _log(f"postgresql: creating database {name}")
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    _log(f"postgresql: generating {connectors} connectors")
    dataset = generate(url, connectors, seed)
    # Autovacuum would get to these tables eventually; analyzed statistics and a fresh visibility
    # map give the planner the steady state of a long-running database.
    asyncio.run(_vacuum_analyze(url))
    DATA_DIRECTORY.mkdir(parents=True, exist_ok=True)
    POSTGRES_DESCRIPTION.write_text(json.dumps(dataset.to_json(), indent=2) + "\n")
    _log(f"postgresql: generated in {dataset.seconds} s")
    return dataset


async def _vacuum_analyze(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


def drop_postgres(url: str) -> None:
    name = _database_name(url)
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    POSTGRES_DESCRIPTION.unlink(missing_ok=True)
    _log(f"postgresql: dropped database {name}")
