"""Running reads in one session that all the reads of a request share."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database

logger = logging.getLogger(__name__)

Result = TypeVar("Result")
# Statements to run in a read session. A ReadRunner calls it with the session and returns its result.
ReadWork = Callable[[AsyncSession], Awaitable[Result]]
ReadRunner = Callable[[ReadWork[Any]], Awaitable[Any]]


class ReadSnapshotClosed(RuntimeError):
    """A read was attempted after the request closed its snapshot."""


def _retrieve_orphaned_error(task: "asyncio.Task[Any]") -> None:
    """Retrieve a read task's error, so asyncio does not log it as never retrieved.

    A caller that still awaits the task receives the error anyway. A task whose caller is
    gone belongs to a request that ended, such as one that timed out, and its error (most
    often ReadSnapshotClosed) no longer reaches anyone, so it is logged at DEBUG only.
    """
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, ReadSnapshotClosed):
        logger.debug("a read failed", exc_info=error)


def new_session_reader(database: Database) -> ReadRunner:
    """Return a runner that opens a new read session for each piece of work."""

    async def run(work: ReadWork[Result]) -> Result:
        async with database.read() as session:
            return await work(session)

    return run


class ReadSnapshot:
    """A read session opened on the first read of a request and shared by the later ones.

    All statements then see one snapshot (Database.read describes why), and the request pays
    for one pool checkout, BEGIN and ROLLBACK instead of one per DataLoader batch. An
    AsyncSession runs one statement at a time, so reads take turns through a lock.

    The owner of the snapshot must call `close()` when the request ends. After a write,
    `expire()` makes the next read start a new snapshot that includes the write.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = asyncio.Lock()
        self._scope: AbstractAsyncContextManager[AsyncSession] | None = None
        self._session: AsyncSession | None = None
        self._expired = False
        self._closed = False

    async def run(self, work: ReadWork[Result]) -> Result:
        """Run `work` with the shared session in a task of its own, and return its result.

        The task, not the caller, holds the lock. The compiled executor resumes the resolver
        coroutines of a level in a fixed order (schema/compiled/levels.py), so a resolver that
        held the lock while it waited for the database could block, forever, a resolver that
        the executor waits on first.
        """
        task = asyncio.ensure_future(self._run_locked(work))
        task.add_done_callback(_retrieve_orphaned_error)
        return await task

    async def _run_locked(self, work: ReadWork[Result]) -> Result:
        async with self._lock:
            if self._closed:
                raise ReadSnapshotClosed("the request's read snapshot is closed; reads must finish before the request ends")
            if self._expired:
                await self._end()
            if self._session is None:
                scope = self._database.read()
                self._session = await scope.__aenter__()
                self._scope = scope
            try:
                return await work(self._session)
            except BaseException:
                # A failed or cancelled statement can leave the transaction unusable (PostgreSQL
                # rejects every later statement of an aborted transaction), so the next read
                # starts a new session, as it would have without sharing.
                self._expired = True
                raise
            finally:
                if self._closed:
                    await self._end_quietly()

    def expire(self) -> None:
        """Make the next read end the current snapshot and start a new one that includes writes committed since."""
        self._expired = True

    async def close(self) -> None:
        """End the snapshot and return its connection to the pool. Later reads raise ReadSnapshotClosed.

        A read still running, such as one that outlived a timed-out request, ends the snapshot
        when it finishes, so closing never waits for a slow statement.
        """
        self._closed = True
        if not self._lock.locked():
            await self._end_quietly()

    async def _end_quietly(self) -> None:
        # A failure is logged, not raised, because the request's response is complete by now
        # and the pool discards a connection that failed.
        try:
            await self._end()
        except Exception:
            logger.warning("closing a read snapshot failed", exc_info=True)

    async def _end(self) -> None:
        scope, self._scope, self._session, self._expired = self._scope, None, None, False
        if scope is not None:
            await scope.__aexit__(None, None, None)
