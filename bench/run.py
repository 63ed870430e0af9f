"""Run the connector-tree benchmark on SQLite and PostgreSQL and rewrite bench/README.md.

    .venv/bin/python -m bench.run --backends sqlite,postgresql --connectors 100000

For each backend: generate (or reuse) the data, then serve it with uvicorn twice. With one worker
the run checks every response (each hand-written limit must equal its GraphQL response), counts
SQL statements per request, and measures latency with one connection. With two workers it
measures throughput and peak memory under concurrent load. wrk sends the requests. Raw results
go to bench/results/ (git-ignored); the figures replace this backend's section of the README.
"""

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from bench import report
from bench.datasets import DEFAULT_POSTGRES_URL, drop_postgres, postgres_dataset, sqlite_dataset
from bench.documents import CONNECTOR_BY_ID, CONNECTORS_PAGE, TREE_20_PAGE
from bench.generate import BENCH_SECRET_KEY, Dataset
from bench.load import LoadResult, run_wrk, wrk_path
from bench.machine import machine_facts
from bench.plans import explain_pages
from bench.serve import Server
from db import models
from db.engine import Database
from resolvers import reads
from resolvers.pagination import encode_cursor, scope_of

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS_DIRECTORY = REPOSITORY / "bench" / "results"
BACKENDS = ("sqlite", "postgresql")
DEEP_PAGE = 1000
PAGE_SIZE = 100
# Requests sent one after another, and not counted, before the counted ones. The first requests
# of a new worker also grow its heap and fill its caches, which a counted request would pay for.
WARM_REQUESTS = 5
# Requests sent one after another to count SQL statements and CPU time per request. /proc counts
# CPU time in clock ticks (10 ms at 100 Hz), so 20 requests resolve 0.5 ms per request.
COUNTED_REQUESTS = 20
# Requests that a latency run should complete, and times each throughput connection should
# complete a request, when --max-seconds allows.
LATENCY_SAMPLES = 40
THROUGHPUT_ROUNDS = 8


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    document: str
    variables: dict[str, Any]
    # Connections of the throughput run.
    concurrency: int
    # For a hand-written limit, the GraphQL scenario whose response it must equal.
    limit_of: str | None = None

    def body(self) -> bytes:
        return orjson.dumps({"query": self.document, "variables": self.variables})


@dataclass
class ScenarioResult:
    name: str
    limit_of: str | None
    response_bytes: int = 0
    statements: float = 0.0
    transaction_control: float = 0.0
    checkouts: float = 0.0
    sql_ms_per_request: float = 0.0
    sequential_ms: float = 0.0
    latency: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_request: float = 0.0
    throughput: dict[str, float] = field(default_factory=dict)
    peak_resident_mib: float = 0.0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _page_fixtures(url: str, organisation_id: str, connectors: int) -> tuple[str, str | None, int]:
    """Return a connector id from the middle of the list, and the cursor and number of the deep page."""
    database = Database(url)
    table = models.Connector
    newest_first = select(table.id, table.updated_at).where(table.organisation_id == organisation_id).order_by(table.updated_at.desc(), table.id.desc())
    deep_page = min(DEEP_PAGE, math.ceil(connectors / PAGE_SIZE))
    try:
        async with database.read() as session:
            middle_id = (await session.execute(newest_first.offset(connectors // 2).limit(1))).one().id
            cursor = None
            if deep_page > 1:
                # The cursor of the last row of the page before, as the product would have issued it.
                before = (await session.execute(newest_first.offset((deep_page - 1) * PAGE_SIZE - 1).limit(1))).one()
                scope = scope_of("connectors", organisation_id, reads.ConnectorFilter().__dict__)
                cursor = encode_cursor(scope, before.updated_at, before.id)
    finally:
        await database.dispose()
    return middle_id, cursor, deep_page


def build_scenarios(organisation_id: str, connector_id: str, deep_cursor: str | None, concurrency: int = 16, other_concurrency: int = 4) -> list[Scenario]:
    """Return each scenario followed by its hand-written limit; tree-20 runs at `concurrency`."""
    page = {"organisationId": organisation_id, "first": PAGE_SIZE}
    pairs = [
        ("tree-100", CONNECTORS_PAGE, page, "tree", other_concurrency),
        ("tree-20", TREE_20_PAGE, {"organisationId": organisation_id, "first": 20}, "tree-20", concurrency),
        ("by-id", CONNECTOR_BY_ID, {"organisationId": organisation_id, "id": connector_id}, "by-id", other_concurrency),
        ("deep-page", CONNECTORS_PAGE, page | {"after": deep_cursor}, "tree", other_concurrency),
    ]
    scenarios = []
    for name, document, variables, limit_document, connections in pairs:
        scenarios.append(Scenario(name, "/graphql", document, variables, connections))
        scenarios.append(Scenario(f"{name} limit", f"/bench/limit/{limit_document}", document, variables, connections, limit_of=name))
    return scenarios


def _seconds(minimum: float, request_seconds: float, requests: float, maximum: float) -> float:
    """Return a run length that fits about `requests` requests of `request_seconds`, within bounds."""
    return min(max(minimum, request_seconds * requests), max(minimum, maximum))


def _normalized(content: bytes) -> bytes:
    """Serialize a response with sorted keys and without `extensions`.

    The gateway reports each operation's rate-limit cost in `extensions`, which the
    hand-written limit has no equivalent of; `data` must be equal.
    """
    body = orjson.loads(content)
    body.pop("extensions", None)
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _first_difference(expected: Any, actual: Any, path: str = "$") -> str:
    if type(expected) is not type(actual):
        return f"{path}: {type(expected).__name__} != {type(actual).__name__}"
    if isinstance(expected, dict):
        if expected.keys() != actual.keys():
            return f"{path}: keys differ: {sorted(set(expected) ^ set(actual))}"
        return next((found for key in expected if (found := _first_difference(expected[key], actual[key], f"{path}.{key}"))), "")
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"{path}: {len(expected)} items != {len(actual)} items"
        return next((found for index, (a, b) in enumerate(zip(expected, actual)) if (found := _first_difference(a, b, f"{path}[{index}]"))), "")
    return "" if expected == actual else f"{path}: {expected!r} != {actual!r}"


def verify(client: httpx.Client, scenarios: list[Scenario], results: dict[str, ScenarioResult]) -> None:
    """Check each GraphQL response, and that each limit response carries the same data."""
    graphql: dict[str, bytes] = {}
    for scenario in scenarios:
        response = client.post(scenario.path, content=scenario.body(), headers={"Content-Type": "application/json"})
        if response.status_code != 200:
            raise SystemExit(f"{scenario.name}: HTTP {response.status_code}: {response.text[:500]}")
        body = orjson.loads(response.content)
        if "errors" in body or not body.get("data"):
            raise SystemExit(f"{scenario.name}: the response has errors or no data: {response.text[:1000]}")
        results[scenario.name].response_bytes = len(response.content)
        if scenario.limit_of is None:
            graphql[scenario.name] = response.content
            continue
        expected = graphql[scenario.limit_of]
        if _normalized(expected) != _normalized(response.content):
            difference = _first_difference(orjson.loads(_normalized(expected)), orjson.loads(_normalized(response.content)))
            raise SystemExit(f"{scenario.name}: the hand-written response differs from the GraphQL response at {difference}")
        _log(f"  {scenario.name}: equal to the GraphQL response ({len(response.content):,} bytes)")


def count_per_request(server: Server, client: httpx.Client, scenario: Scenario, result: ScenarioResult) -> None:
    """Send COUNTED_REQUESTS requests one after another, after WARM_REQUESTS; record SQL and CPU time per request."""
    for _ in range(WARM_REQUESTS):
        client.post(scenario.path, content=scenario.body(), headers={"Content-Type": "application/json"}).raise_for_status()
    server.wait_until_idle()
    client.post("/bench/stats/reset")
    cpu_before = server.cpu_seconds()
    walls = []
    for _ in range(COUNTED_REQUESTS):
        started = time.perf_counter()
        client.post(scenario.path, content=scenario.body(), headers={"Content-Type": "application/json"}).raise_for_status()
        walls.append(time.perf_counter() - started)
    cpu_seconds = server.cpu_seconds() - cpu_before
    result.sequential_ms = statistics.median(walls) * 1000
    stats = client.get("/bench/stats").json()
    result.statements = stats["statements"] / COUNTED_REQUESTS
    result.transaction_control = stats["transaction_control"] / COUNTED_REQUESTS
    result.checkouts = stats["checkouts"] / COUNTED_REQUESTS
    result.sql_ms_per_request = stats["sql_seconds"] * 1000 / COUNTED_REQUESTS
    result.cpu_ms_per_request = cpu_seconds * 1000 / COUNTED_REQUESTS


def _loaded(server: Server, scenario: Scenario, body_path: Path, api_key: str, connections: int, seconds: float, warmup: float) -> LoadResult:
    """Warm up, then run wrk and wait for the requests it abandoned at its deadline."""
    url = server.url + scenario.path
    run_wrk(url, body_path, api_key, connections, warmup)
    server.wait_until_idle()
    server.reset_peak_resident()
    result = run_wrk(url, body_path, api_key, connections, seconds)
    server.wait_until_idle()
    if result.errors:
        raise SystemExit(f"{scenario.name}: wrk counted {result.errors} failed requests; see {server.log_path}")
    return result


def _latency(result: LoadResult) -> dict[str, float]:
    return {"p50_ms": result.p50_ms, "p95_ms": result.p95_ms, "p99_ms": result.p99_ms, "requests": result.requests}


def run_backend(backend: str, dataset: Dataset, args: argparse.Namespace, stamp: str) -> dict[str, Any]:
    connector_id, deep_cursor, deep_page = asyncio.run(_page_fixtures(dataset.url, dataset.organisation_id, dataset.connectors))
    scenarios = build_scenarios(dataset.organisation_id, connector_id, deep_cursor, args.concurrency, args.other_concurrency)
    if args.scenarios:
        requested = set(args.scenarios.split(","))
        scenarios = [scenario for scenario in scenarios if scenario.name in requested or scenario.limit_of in requested]
    results = {scenario.name: ScenarioResult(scenario.name, scenario.limit_of) for scenario in scenarios}
    bodies = RESULTS_DIRECTORY / f"bodies-{backend}"
    bodies.mkdir(parents=True, exist_ok=True)
    body_paths = {}
    for scenario in scenarios:
        body_paths[scenario.name] = bodies / f"{scenario.name.replace(' ', '-')}.json"
        body_paths[scenario.name].write_bytes(scenario.body())
    log_path = RESULTS_DIRECTORY / f"server-{backend}-{stamp}.log"
    facts = machine_facts(backend, dataset.url)
    headers = {"Authorization": f"Bearer {dataset.api_key}"}

    _log(f"{backend}: one worker: checking responses, counting statements, measuring latency")
    with Server(dataset.url, BENCH_SECRET_KEY, workers=1, log_path=log_path) as server, httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
        verify(client, scenarios, results)
        for scenario in scenarios:
            result = results[scenario.name]
            count_per_request(server, client, scenario, result)
            # Slow scenarios run longer, so the percentiles rest on at least LATENCY_SAMPLES requests.
            seconds = _seconds(args.latency_seconds, result.sequential_ms / 1000, LATENCY_SAMPLES, args.max_seconds)
            load = _loaded(server, scenario, body_paths[scenario.name], dataset.api_key, 1, seconds, args.warmup_seconds)
            result.latency = _latency(load)
            _log(
                f"  {scenario.name}: p50 {load.p50_ms:.1f} ms, p95 {load.p95_ms:.1f} ms, {result.cpu_ms_per_request:.1f} CPU ms, "
                f"{result.sql_ms_per_request:.1f} SQL ms and {result.statements:g} statements per request"
            )

    _log(f"{backend}: two workers: measuring throughput and memory")
    with Server(dataset.url, BENCH_SECRET_KEY, workers=2, log_path=log_path) as server:
        idle_mib = max(server.peak_resident_kib()) / 1024
        for scenario in scenarios:
            # Under load a request waits for the others on its worker; the run should see many complete.
            loaded_request_seconds = results[scenario.name].sequential_ms / 1000 * scenario.concurrency / server.workers
            seconds = _seconds(args.throughput_seconds, loaded_request_seconds, THROUGHPUT_ROUNDS, args.max_seconds)
            warmup = _seconds(args.warmup_seconds, loaded_request_seconds, 1, args.max_seconds)
            load = _loaded(server, scenario, body_paths[scenario.name], dataset.api_key, scenario.concurrency, seconds, warmup)
            result = results[scenario.name]
            result.throughput = _latency(load) | {"requests_per_second": load.requests_per_second, "connections": scenario.concurrency, "seconds": seconds}
            result.peak_resident_mib = max(server.peak_resident_kib()) / 1024
            _log(f"  {scenario.name}: {load.requests_per_second:.1f} requests/s, peak {result.peak_resident_mib:.0f} MiB per worker")

    _log(f"{backend}: explaining the page queries")
    plans = asyncio.run(explain_pages(dataset.url, dataset.organisation_id, deep_cursor, deep_page))
    facts["load_average_end"] = os.getloadavg()
    return {
        "backend": backend,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": dataset.to_json() | {"api_key": "(not recorded)"},
        "deep_page": deep_page,
        "concurrency": args.concurrency,
        "other_concurrency": args.other_concurrency,
        "latency_seconds": args.latency_seconds,
        "warm_requests": WARM_REQUESTS,
        "counted_requests": COUNTED_REQUESTS,
        "throughput_seconds": args.throughput_seconds,
        "max_seconds": args.max_seconds,
        "idle_resident_mib": idle_mib,
        "machine": facts,
        "scenarios": [asdict(result) for result in results.values()],
        "plans": [asdict(plan) for plan in plans],
    }


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql (default both)")
    parser.add_argument("--connectors", type=int, default=100_000, help="connectors to generate (default 100000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help=f"database to create, fill and drop (default {DEFAULT_POSTGRES_URL})")
    parser.add_argument("--keep-postgres", action="store_true", help="leave the PostgreSQL database in place after the run")
    parser.add_argument("--latency-seconds", type=float, default=15, help="shortest one-connection latency run (default 15)")
    parser.add_argument("--throughput-seconds", type=float, default=20, help="shortest throughput run (default 20)")
    parser.add_argument("--warmup-seconds", type=float, default=2, help="unmeasured load before each run (default 2)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections of the tree-20 throughput runs (default 16)")
    parser.add_argument("--other-concurrency", type=int, default=4, help="connections of the other throughput runs, two per worker (default 4)")
    parser.add_argument("--max-seconds", type=float, default=150, help="maximum length in seconds of a run that is lengthened for slow requests (default 150)")
    parser.add_argument("--scenarios", help="comma-separated subset: tree-100, tree-20, by-id, deep-page (limits included)")
    parser.add_argument("--readme-section", choices=("current", "before"), default="current", help="README section that gets the figures (default current)")
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md unchanged")
    args = parser.parse_args(argv)
    args.backend_list = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = set(args.backend_list) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s) {sorted(unknown)}; use sqlite and/or postgresql")
    if args.connectors < 1:
        parser.error("--connectors must be at least 1")
    return args


def _check_source() -> None:
    """Exit unless the product modules are imported from this checkout, not from an installed copy."""
    import app

    source = Path(app.__file__).resolve().parent.parent
    if source != REPOSITORY:
        raise SystemExit(f"the app package was imported from {source}, not {REPOSITORY}; run from the checkout's root directory.")


def main(argv: list[str] | None = None) -> int:
    args = _parse_arguments(argv)
    _check_source()
    wrk_path()
    RESULTS_DIRECTORY.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for backend in args.backend_list:
        started = time.perf_counter()
        if backend == "sqlite":
            dataset = sqlite_dataset(args.connectors, args.seed)
        else:
            dataset = postgres_dataset(args.postgres_url, args.connectors, args.seed)
        try:
            result = run_backend(backend, dataset, args, stamp)
        finally:
            if backend == "postgresql" and not args.keep_postgres:
                drop_postgres(args.postgres_url)
        result["seconds"] = round(time.perf_counter() - started)
        path = RESULTS_DIRECTORY / f"{backend}-{stamp}.json"
        path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        _log(f"{backend}: results written to {path}")
        if not args.no_readme:
            report.update_readme(result, args.readme_section)
            _log(f"{backend}: bench/README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
