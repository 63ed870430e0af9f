"""BatchLoader batches and caches as Strawberry's DataLoader does."""

import asyncio

import pytest

from db.batch_loader import BatchLoader


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def load(self, keys: list[str]) -> list[str]:
        self.batches.append(keys)
        return [key.upper() for key in keys]


def test_loads_of_one_iteration_batch() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        loader = BatchLoader(recorder.load)

        values = await asyncio.gather(loader.load("a"), loader.load("b"), loader.load("a"))
        again = await loader.load("b")

        assert values == ["A", "B", "A"]
        assert again == "B"
        assert recorder.batches == [["a", "b"]]

    asyncio.run(scenario())


def test_later_load_gets_new_batch() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        loader = BatchLoader(recorder.load)

        first = await loader.load("a")
        second = await loader.load_many(["b", "c"])

        assert first == "A"
        assert second == ["B", "C"]
        assert recorder.batches == [["a"], ["b", "c"]]

    asyncio.run(scenario())


def test_prime_skips_query() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        loader = BatchLoader(recorder.load)

        loader.prime("a", "primed")
        pending = loader.load("b")
        loader.prime("b", "primed b")

        assert await loader.load("a") == "primed"
        assert await pending == "primed b"
        assert recorder.batches == []

    asyncio.run(scenario())


def test_batch_error_reaches_every_load() -> None:
    async def failing(keys: list[str]) -> list[str]:
        raise RuntimeError("database unavailable")

    async def scenario() -> None:
        loader = BatchLoader(failing)
        results = await asyncio.gather(loader.load("a"), loader.load("b"), return_exceptions=True)

        assert [str(result) for result in results] == ["database unavailable", "database unavailable"]

    asyncio.run(scenario())


def test_exception_value_fails_its_key() -> None:
    async def partial(keys: list[str]) -> list[object]:
        return [KeyError(key) if key == "b" else key for key in keys]

    async def scenario() -> None:
        loader = BatchLoader(partial)
        first, second = await asyncio.gather(loader.load("a"), loader.load("b"), return_exceptions=True)

        assert first == "a"
        assert isinstance(second, KeyError)

    asyncio.run(scenario())


def test_wrong_result_count_fails() -> None:
    async def short(keys: list[str]) -> list[str]:
        return keys[:1]

    async def scenario() -> None:
        loader = BatchLoader(short)
        with pytest.raises(ValueError, match="one per key"):
            await asyncio.gather(loader.load("a"), loader.load("b"))

    asyncio.run(scenario())
