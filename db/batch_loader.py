"""A DataLoader with the batching schedule of Strawberry's, for the hot path of large trees."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

from db.snapshot import ReadSnapshotClosed

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class BatchLoader(Generic[Key, Value]):
    """Collect the keys loaded in one event-loop iteration and load them in one call of `load_fn`.

    It dispatches as strawberry.dataloader.DataLoader (0.341) does: the first load of a batch
    schedules a callback, which starts a task, and the task takes every key loaded until it
    runs. So graphql-core's executor and the compiled path batch the same keys with either
    loader. Results are cached per key for the loader's lifetime.

    Strawberry's loader also registers a done callback per key, so that a batch whose futures
    are all cancelled cancels its query. A page of trees loads about a thousand keys, and
    those callbacks were a visible share of its time. Here a batch skips its query only when
    all its futures are already cancelled when it starts, as Strawberry's also does.
    """

    def __init__(self, load_fn: Callable[[list[Key]], Awaitable[Sequence[Value | BaseException]]]) -> None:
        self.load_fn = load_fn
        self._cache: dict[Key, asyncio.Future[Value]] = {}
        self._pending: list[tuple[Key, asyncio.Future[Value]]] | None = None

    def load(self, key: Key) -> "asyncio.Future[Value]":
        future = self._cache.get(key)
        if future is not None and not future.cancelled():
            return future
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._cache[key] = future
        pending = self._pending
        if pending is None:
            pending = self._pending = []
            loop.call_soon(self._start_dispatch, pending)
        pending.append((key, future))
        return future

    def load_many(self, keys: Iterable[Key]) -> "asyncio.Future[list[Value]]":
        return asyncio.gather(*map(self.load, keys))

    def prime(self, key: Key, value: Value) -> None:
        """Cache `value` for `key`, unless the key already has a result or a batch that has started."""
        cached = self._cache.get(key)
        if cached is not None and not cached.cancelled():
            # As in Strawberry's prime, a load still waiting for its batch takes the value
            # and leaves the batch.
            pending = self._pending
            if pending is not None and not cached.done() and any(future is cached for _key, future in pending):
                cached.set_result(value)
                pending[:] = [(item, future) for item, future in pending if future is not cached]
            return
        future: asyncio.Future[Value] = asyncio.get_running_loop().create_future()
        future.set_result(value)
        self._cache[key] = future

    def _start_dispatch(self, batch: list[tuple[Key, "asyncio.Future[Value]"]]) -> None:
        asyncio.ensure_future(self._dispatch(batch))

    async def _dispatch(self, batch: list[tuple[Key, "asyncio.Future[Value]"]]) -> None:
        # Keys loaded from now on go to the next batch.
        if self._pending is batch:
            self._pending = None
        if all(future.cancelled() for _key, future in batch):
            return
        try:
            values = list(await self.load_fn([key for key, _future in batch]))
            if len(values) != len(batch):
                raise ValueError(f"load_fn returned {len(values)} values for {len(batch)} keys; it must return one per key")
        except Exception as error:  # noqa: BLE001 - every waiting load receives the batch's error
            for _key, future in batch:
                if not future.done():
                    future.set_exception(error)
                    if isinstance(error, ReadSnapshotClosed):
                        # The request ended before the batch ran, so no load awaits this
                        # future any more; retrieving the error keeps asyncio from logging it.
                        future.exception()
            return
        for (_key, future), value in zip(batch, values, strict=True):
            if future.done():
                continue
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)
