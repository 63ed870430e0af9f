"""Prometheus metrics, served in the text exposition format at /metrics.

Each process keeps its own values. When PROMETHEUS_MULTIPROC_DIR is set before this module
is first imported, prometheus-client stores the values in files in that directory instead,
and /metrics merges the files of every process, so one scrape covers all uvicorn workers
that share the directory. The directory must be empty when the first worker starts.
"""

import logging
import os
import threading
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

import db.loaders

logger = logging.getLogger("app.metrics")

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Operation names come from clients, so each process admits this many distinct names, each
# at most MAX_OPERATION_NAME_LENGTH characters, as label values and counts every other name
# under OTHER_OPERATION.
MAX_OPERATION_NAMES = 100
MAX_OPERATION_NAME_LENGTH = 100
UNNAMED_OPERATION = "unnamed"
OTHER_OPERATION = "other"

GRAPHQL_REQUESTS = Counter(
    "connect_gateway_graphql_requests",
    "GraphQL requests by operation name, operation type and outcome.",
    ["operation", "operation_type", "outcome"],
)
GRAPHQL_REQUEST_DURATION = Histogram(
    "connect_gateway_graphql_request_duration_seconds",
    "Time from receiving a GraphQL request to having its response, by operation name and outcome.",
    ["operation", "outcome"],
)
DATALOADER_BATCH_SIZE = Histogram(
    "connect_gateway_dataloader_batch_size",
    "Keys per DataLoader batch, which is one SQL statement, by loader name.",
    ["loader"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
# "livesum" adds up the values of the live processes in multiprocess mode.
DATABASE_POOL_SIZE = Gauge(
    "connect_gateway_db_pool_size",
    "Configured size of the SQLAlchemy connection pools, overflow connections excluded.",
    multiprocess_mode="livesum",
)
DATABASE_POOL_CHECKED_OUT = Gauge(
    "connect_gateway_db_pool_checked_out",
    "Connections checked out of the SQLAlchemy pools, that is in use by a session.",
    multiprocess_mode="livesum",
)


class OperationLabels:
    """Map client-chosen operation names to a bounded set of label values."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self._limit = limit
        self._names: set[str] = set()
        self._lock = threading.Lock()
        self._overflow_logged = False

    def label(self, name: str | None) -> str:
        if not name:
            return UNNAMED_OPERATION
        if name in self._names:
            return name
        if len(name) > MAX_OPERATION_NAME_LENGTH:
            return OTHER_OPERATION
        with self._lock:
            if len(self._names) < self._limit:
                self._names.add(name)
                return name
            if not self._overflow_logged:
                self._overflow_logged = True
                logger.warning(
                    "operation name limit reached; further names are counted as %r",
                    OTHER_OPERATION,
                    extra={"limit": self._limit},
                )
        return OTHER_OPERATION


operation_labels = OperationLabels()


def record_graphql_request(operation_name: str | None, operation_type: str | None, outcome: str, duration_seconds: float) -> None:
    operation = operation_labels.label(operation_name)
    GRAPHQL_REQUESTS.labels(operation=operation, operation_type=operation_type or "unknown", outcome=outcome).inc()
    GRAPHQL_REQUEST_DURATION.labels(operation=operation, outcome=outcome).observe(duration_seconds)


def record_loader_batch(loader_name: str, key_count: int) -> None:
    DATALOADER_BATCH_SIZE.labels(loader=loader_name).observe(key_count)


def install_loader_hook() -> None:
    """Make db.loaders report every DataLoader batch size here."""
    db.loaders.batch_size_observer = record_loader_batch


def track_pool(engine: AsyncEngine) -> Callable[[], None]:
    """Count the pool's connections in the pool gauges; return a function that stops counting.

    Pools without a fixed size (NullPool, StaticPool) still count checked-out connections.
    """
    pool = engine.sync_engine.pool
    size_method = getattr(pool, "size", None)
    size = size_method() if callable(size_method) else 0
    DATABASE_POOL_SIZE.inc(size)

    # Counting by connection record keeps the gauge exact when a cancelled checkout fires a
    # checkin without its checkout event, which happens when a request is cancelled mid-query.
    checked_out: set[int] = set()

    def on_checkout(_connection: object, record: object, _proxy: object) -> None:
        if id(record) not in checked_out:
            checked_out.add(id(record))
            DATABASE_POOL_CHECKED_OUT.inc()

    def on_checkin(_connection: object, record: object) -> None:
        if id(record) in checked_out:
            checked_out.discard(id(record))
            DATABASE_POOL_CHECKED_OUT.dec()

    # SQLAlchemy copies pool listeners to the new pool that engine.dispose() creates.
    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)

    def stop() -> None:
        DATABASE_POOL_SIZE.dec(size)
        DATABASE_POOL_CHECKED_OUT.dec(len(checked_out))
        checked_out.clear()
        current = engine.sync_engine.pool
        for name, listener in (("checkout", on_checkout), ("checkin", on_checkin)):
            if event.contains(current, name, listener):
                event.remove(current, name, listener)

    return stop


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE))


def mark_process_stopped() -> None:
    """Drop this process's live gauge files, so its pool stops counting in multiprocess mode."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(os.getpid())


async def metrics_endpoint(_request: Request) -> Response:
    if multiprocess_enabled():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
