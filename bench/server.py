"""Bench-only ASGI entry: the gateway's app plus SQL counters and the hand-written limit.

    uvicorn bench.server:create_bench_app --factory

It builds the product's app with app.main.create_app (settings from CONNECT_GATEWAY_*), so
/graphql is served exactly as in production, and adds these routes in front of it:

- POST /bench/limit/{document}: the hand-written response of bench/limit.py for `tree`,
  `tree-20` or `by-id`. The body is a GraphQL request body; only its `variables` are read.
  The caller authenticates with the same API key as on /graphql.
- GET /bench/stats: this worker's pid, peak resident memory and counters since the last reset:
  SQL statements, transaction-control statements, connection-pool checkouts and the seconds
  spent in statements.
- POST /bench/stats/reset: zero the counters.

Counters are per worker process, so read them with one worker.
"""

import os
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth import authenticate
from app.main import create_app
from app.state import AppState
from bench.limit import BUILDERS

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class StatementCounter:
    """Counts what the engine sends to the database, as test_batching counts it."""

    def __init__(self) -> None:
        # aiosqlite runs statements on its own thread, so increments take a lock.
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.statements = 0
            self.transaction_control = 0
            self.checkouts = 0
            self.sql_seconds = 0.0

    def attach(self, sync_engine: Any) -> None:
        event.listen(sync_engine, "before_cursor_execute", self._on_execute)
        event.listen(sync_engine, "after_cursor_execute", self._on_executed)
        event.listen(sync_engine, "checkout", self._on_checkout)

    def _on_execute(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        connection.info["bench_started"] = time.perf_counter()
        with self._lock:
            if statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
                self.transaction_control += 1
            else:
                self.statements += 1

    def _on_executed(self, connection: Any, *_args: Any) -> None:
        # Both async drivers fetch every row before SQLAlchemy's execute returns, so this is the
        # time from sending the statement to having all its rows, before any row processing.
        elapsed = time.perf_counter() - connection.info.pop("bench_started", time.perf_counter())
        with self._lock:
            self.sql_seconds += elapsed

    def _on_checkout(self, *_args: Any) -> None:
        with self._lock:
            self.checkouts += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "statements": self.statements,
                "transaction_control": self.transaction_control,
                "checkouts": self.checkouts,
                "sql_seconds": self.sql_seconds,
            }


def peak_resident_kib(pid: int | str = "self") -> int:
    """Return VmHWM, the peak resident set size of a process, in KiB (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def limit_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.gateway
    build = BUILDERS.get(request.path_params["document"])
    if build is None:
        return _json({"error": f"unknown document {request.path_params['document']!r}; use one of {sorted(BUILDERS)}"}, 404)
    caller = await authenticate(request, state)
    if caller is None:
        return _json({"error": "Authentication required: send Authorization: Bearer <API key>."}, 401)
    try:
        body = await request.body()
    except ClientDisconnect:
        # wrk closes its connections at its deadline, also while a request waits to be read.
        return Response(status_code=499)
    variables = orjson.loads(body).get("variables") or {}
    if not caller.may_act_for(variables.get("organisationId", "")):
        return _json({"error": "the API key does not act for variables.organisationId"}, 403)
    async with state.services.database.read() as session:
        connection = await session.connection()
        return _json(await build(connection, variables))


async def stats_endpoint(request: Request) -> Response:
    counter: StatementCounter = request.app.state.bench_counter
    return _json({"pid": os.getpid(), "peak_resident_kib": peak_resident_kib(), **counter.snapshot()})


async def reset_endpoint(request: Request) -> Response:
    request.app.state.bench_counter.reset()
    return _json({"pid": os.getpid()})


def create_bench_app() -> Starlette:
    application = create_app()
    counter = StatementCounter()
    counter.attach(application.state.gateway.services.database.engine.sync_engine)
    application.state.bench_counter = counter
    application.router.routes[:0] = [
        Route("/bench/limit/{document}", limit_endpoint, methods=["POST"]),
        Route("/bench/stats", stats_endpoint, methods=["GET"]),
        Route("/bench/stats/reset", reset_endpoint, methods=["POST"]),
    ]
    return application
