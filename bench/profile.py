"""Profile one benchmark scenario in-process and print where a request's time goes.

    .venv/bin/pip install pyinstrument        # into the venv only; not a project dependency
    .venv/bin/python -m bench.profile --connectors 100000 --scenario tree-100

The app is bench.server:create_bench_app, called through httpx's ASGI transport, so a request
runs the same code as over a socket minus uvicorn and the network. Two measurements follow:

1. A breakdown over --requests requests: the whole request, schema.execute alone, the SQL
   statements (from sending each one to having all its rows), and orjson.dumps of the response.
2. A pyinstrument sampling profile of the same requests, with the sampled time summed by the
   package whose code was running (graphql-core, strawberry, sqlalchemy, the project, ...).

The SQLite dataset is the cached one of bench.run; PostgreSQL needs the database of
`bench.run --backends postgresql --keep-postgres` and its description in bench/data/.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.datasets import POSTGRES_DESCRIPTION, sqlite_dataset
from bench.generate import BENCH_SECRET_KEY, Dataset
from bench.serve import UNTHROTTLED_RATE_LIMITS

# Package names by a path fragment of their files, checked in this order.
PACKAGES = (
    ("/graphql/", "graphql-core (executor, validation, parser)"),
    ("/strawberry/", "strawberry (schema, field resolvers, scalars)"),
    ("/sqlalchemy/", "sqlalchemy (statements, result rows, ORM objects)"),
    ("/sqlmodel/", "sqlmodel and pydantic"),
    ("/pydantic", "sqlmodel and pydantic"),
    ("/aiosqlite/", "database driver"),
    ("/asyncpg/", "database driver"),
    ("/starlette/", "starlette, httpx, asyncio"),
    ("/httpx/", "starlette, httpx, asyncio"),
    ("/httpcore/", "starlette, httpx, asyncio"),
    ("/asyncio/", "starlette, httpx, asyncio"),
)
REPOSITORY = Path(__file__).resolve().parent.parent
TOP_FUNCTIONS = 25


def _package(file_path: str | None) -> str:
    if not file_path:
        return "built-in functions (orjson, dict and list operations)"
    for fragment, name in PACKAGES:
        if fragment in file_path:
            return name
    if "site-packages" in file_path:
        return "other installed packages"
    if file_path.startswith(str(REPOSITORY)):
        return "project (app, schema, resolvers, db, bench)"
    # Built-in functions report "<built-in>" as their file and land here too.
    return "Python standard library and built-in functions"


def _self_times(frame: Any, packages: dict[str, float], functions: dict[str, float]) -> None:
    """Add each frame's own time (outside its children) to its package and to its function."""
    if frame.is_synthetic:
        # "[self]" and "[await]" leaves carry the time of their parent's code.
        if frame.identifier.startswith("[await]"):
            packages["waiting (await, database thread, network)"] += frame.time
            return
        owner = frame.parent
        packages[_package(owner.file_path if owner else None)] += frame.time
        if owner is not None:
            functions[f"{owner.function} ({owner.file_path_short}:{owner.line_no})"] += frame.time
        return
    if not frame.children:
        packages[_package(frame.file_path)] += frame.time
        functions[f"{frame.function} ({frame.file_path_short}:{frame.line_no})"] += frame.time
    for child in frame.children:
        _self_times(child, packages, functions)


def _dataset(args: argparse.Namespace) -> Dataset:
    if args.backend == "sqlite":
        return sqlite_dataset(args.connectors, args.seed)
    if not POSTGRES_DESCRIPTION.exists():
        raise SystemExit(f"{POSTGRES_DESCRIPTION} is missing; run `python -m bench.run --backends postgresql --keep-postgres` first.")
    return Dataset(**json.loads(POSTGRES_DESCRIPTION.read_text()))


def _scenario(dataset: Dataset, name: str) -> tuple[str, bytes]:
    from bench.run import _page_fixtures, build_scenarios

    connector_id, deep_cursor, _ = asyncio.run(_page_fixtures(dataset.url, dataset.organisation_id, dataset.connectors))
    for scenario in build_scenarios(dataset.organisation_id, connector_id, deep_cursor):
        if scenario.name == name:
            return scenario.path, scenario.body()
    raise SystemExit(f"unknown scenario {name!r}")


async def _profile(dataset: Dataset, path: str, body: bytes, requests: int) -> None:
    from pyinstrument import Profiler

    from bench.server import create_bench_app

    application = create_bench_app()
    counter = application.state.bench_counter
    state = application.state.gateway
    headers = {"Authorization": f"Bearer {dataset.api_key}", "Content-Type": "application/json"}
    payload = orjson.loads(body)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers, timeout=600) as client:
        for _ in range(2):
            (await client.post(path, content=body)).raise_for_status()

        totals, executes, statements, serializations, cpu = [], [], [], [], []
        for _ in range(requests):
            counter.reset()
            started, cpu_started = time.perf_counter(), time.process_time()
            response = await client.post(path, content=body)
            totals.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            statements.append(counter.snapshot()["sql_seconds"])
            data = orjson.loads(response.content)
            started = time.perf_counter()
            orjson.dumps(data)
            serializations.append(time.perf_counter() - started)
            if path == "/graphql":
                executes.append(await _execute_seconds(state, dataset, payload))

        profiler = Profiler(interval=0.0005, async_mode="enabled")
        profiler.start()
        for _ in range(requests):
            await client.post(path, content=body)
        profiler.stop()

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f} ms" if values else "n/a"

    print(f"median of {requests} requests to {path}, {len(orjson.dumps(data)):,} bytes of JSON:")
    print(f"  whole request (ASGI, one at a time): {ms(totals)} wall, {ms(cpu)} CPU of this process")
    print(f"  schema.execute alone:                {ms(executes)}")
    print(f"  SQL statements:                      {ms(statements)}")
    print(f"  orjson.dumps of the response:        {ms(serializations)}")
    print()

    session = profiler.last_session
    sampled: dict[str, float] = defaultdict(float)
    functions: dict[str, float] = defaultdict(float)
    _self_times(session.root_frame(), sampled, functions)
    whole = sum(sampled.values()) or 1.0
    print(f"pyinstrument, {requests} requests, {session.duration:.2f} s sampled; own time by package:")
    for name, seconds in sorted(sampled.items(), key=lambda item: -item[1]):
        print(f"  {seconds / whole:6.1%}  {seconds * 1000 / requests:8.1f} ms/request  {name}")
    print()
    print(f"own time of the {TOP_FUNCTIONS} busiest functions:")
    for name, seconds in sorted(functions.items(), key=lambda item: -item[1])[:TOP_FUNCTIONS]:
        print(f"  {seconds / whole:6.1%}  {name}")
    print()
    print(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)[:12000])


async def _execute_seconds(state: Any, dataset: Dataset, payload: dict[str, Any]) -> float:
    from resolvers.context import Caller, RequestContext

    caller = Caller(subject="bench:profile", organisation_ids=frozenset({dataset.organisation_id}))
    context = RequestContext(caller=caller, services=state.services, request_id="bench-profile")
    started = time.perf_counter()
    result = await state.schema.execute(payload["query"], variable_values=payload["variables"], context_value=context)
    elapsed = time.perf_counter() - started
    if result.errors:
        raise SystemExit(f"schema.execute returned errors: {result.errors}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="database backend (default sqlite)")
    parser.add_argument("--connectors", type=int, default=100_000, help="connectors of the cached SQLite dataset (default 100000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the cached SQLite dataset (default 1)")
    parser.add_argument("--scenario", default="tree-100", help="scenario name as in bench.run, such as tree-100 or 'tree-100 limit'")
    parser.add_argument("--requests", type=int, default=10, help="requests per measurement (default 10)")
    parser.add_argument("--url", help="database URL to use instead of the dataset's, such as a copy of it after ANALYZE")
    args = parser.parse_args(argv)
    dataset = _dataset(args)
    if args.url:
        dataset.url = args.url
    os.environ |= UNTHROTTLED_RATE_LIMITS | {
        "CONNECT_GATEWAY_DATABASE_URL": dataset.url,
        "CONNECT_GATEWAY_SECRET_KEY": BENCH_SECRET_KEY,
        "CONNECT_GATEWAY_LOG_LEVEL": "WARNING",
    }
    path, body = _scenario(dataset, args.scenario)
    asyncio.run(_profile(dataset, path, body, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
