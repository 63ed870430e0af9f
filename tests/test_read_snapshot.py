"""The read session that a request's reads share: one snapshot, renewed after writes, closed once."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.engine import Database
from db.migrate import upgrade
from db.snapshot import ReadSnapshot, ReadSnapshotClosed
from resolvers.ids import new_id


async def count_keys(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(models.ApiKey))).scalar_one()


async def add_key(database: Database) -> None:
    async with database.transaction() as session:
        session.add(models.ApiKey(id=new_id(), organisation_id=new_id(), key_hash=new_id() * 2, created_at=datetime.now(UTC)))


def run_with_database(url: str, scenario: Callable[[Database], Awaitable[None]]) -> None:
    upgrade(url)

    async def main() -> None:
        database = Database(url)
        try:
            await scenario(database)
        finally:
            await database.dispose()

    asyncio.run(main())


def test_reads_share_one_snapshot(empty_database_url: str) -> None:
    async def scenario(database: Database) -> None:
        snapshot = ReadSnapshot(database)
        before = await snapshot.run(count_keys)
        await add_key(database)
        unchanged = await snapshot.run(count_keys)
        snapshot.expire()
        renewed = await snapshot.run(count_keys)
        await snapshot.close()

        assert unchanged == before
        assert renewed == before + 1

    run_with_database(empty_database_url, scenario)


def test_read_after_close_raises(empty_database_url: str) -> None:
    async def scenario(database: Database) -> None:
        snapshot = ReadSnapshot(database)
        await snapshot.run(count_keys)
        await snapshot.close()

        with pytest.raises(ReadSnapshotClosed):
            await snapshot.run(count_keys)

    run_with_database(empty_database_url, scenario)


def test_failed_read_starts_new_session(empty_database_url: str) -> None:
    async def failing(session: AsyncSession) -> None:
        await session.execute(select(func.count()).select_from(models.ApiKey).where(func.no_such_function()))

    async def scenario(database: Database) -> None:
        snapshot = ReadSnapshot(database)
        with pytest.raises(Exception, match="no_such_function"):
            await snapshot.run(failing)

        # On PostgreSQL the failed statement aborted the transaction, so this read needs a new one.
        assert await snapshot.run(count_keys) == 0
        await snapshot.close()

    run_with_database(empty_database_url, scenario)


def test_close_during_read_ends_after_it(empty_database_url: str) -> None:
    async def scenario(database: Database) -> None:
        snapshot = ReadSnapshot(database)
        started = asyncio.Event()

        async def slow(session: AsyncSession) -> int:
            started.set()
            await asyncio.sleep(0.2)
            return await count_keys(session)

        read = asyncio.ensure_future(snapshot.run(slow))
        await started.wait()
        await asyncio.wait_for(snapshot.close(), timeout=0.1)

        assert await read == 0
        with pytest.raises(ReadSnapshotClosed):
            await snapshot.run(count_keys)
        assert database.engine.pool.checkedout() == 0

    run_with_database(empty_database_url, scenario)
