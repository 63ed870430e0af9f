"""Query plans of the connector page: the statements the product runs, explained by the database.

The page is requested through resolvers.reads.list_connectors with an engine listener that
records each statement and its parameters, so the plans always show the SQL that the product
sends. SQLite gets EXPLAIN QUERY PLAN and PostgreSQL gets EXPLAIN (ANALYZE, BUFFERS). Each
statement is also timed in this process, as the median of several runs.
"""

import statistics
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from bench.generate import BENCH_SECRET_KEY
from db.engine import Database
from resolvers import reads
from resolvers.context import Caller, Services
from resolvers.pagination import PageRequest
from resolvers.secrets import SecretBox

TIMED_RUNS = 15


@dataclass(frozen=True)
class ExplainedStatement:
    label: str
    sql: str
    plan: str
    median_ms: float


async def _captured_statements(database: Database, organisation_id: str, after: str | None) -> list[tuple[str, Any]]:
    captured: list[tuple[str, Any]] = []

    def record(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            captured.append((statement, parameters))

    services = Services(database=database, secret_box=SecretBox([BENCH_SECRET_KEY]))
    caller = Caller(subject="bench:plans", organisation_ids=frozenset({organisation_id}))
    # The first connection runs the dialect's own set-up queries; keep them out of the capture.
    async with database.engine.connect():
        pass
    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        page = await reads.list_connectors(services, caller, organisation_id, PageRequest(100, after, None, None), reads.ConnectorFilter())
        # The count runs only when a document selects totalCount, as the benchmark's documents do.
        if page is not None:
            await page.total_count.get()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    return captured


async def _explain(database: Database, statement: str, parameters: Any) -> str:
    async with database.engine.connect() as connection:
        if database.dialect == "sqlite":
            rows = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
            depth = {0: 0}
            lines = []
            for node_id, parent, _unused, detail in rows:
                depth[node_id] = depth.get(parent, 0) + 1
                lines.append("  " * (depth[node_id] - 1) + detail)
            return "\n".join(lines)
        rows = (await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)).all()
        return "\n".join(row[0] for row in rows)


async def _median_ms(database: Database, statement: str, parameters: Any) -> float:
    timings = []
    async with database.engine.connect() as connection:
        for _ in range(TIMED_RUNS):
            started = time.perf_counter()
            (await connection.exec_driver_sql(statement, parameters)).all()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def explain_pages(url: str, organisation_id: str, deep_cursor: str | None, deep_page: int) -> list[ExplainedStatement]:
    """Explain the statements of page 1 and of page `deep_page` (reached with `deep_cursor`)."""
    database = Database(url)
    explained = []
    try:
        for page_label, after in (("page 1", None), (f"page {deep_page:,}", deep_cursor)):
            statements = await _captured_statements(database, organisation_id, after)
            for index, (statement, parameters) in enumerate(statements, start=1):
                explained.append(
                    ExplainedStatement(
                        label=f"{page_label}, statement {index} of {len(statements)}",
                        sql=statement,
                        plan=await _explain(database, statement, parameters),
                        median_ms=await _median_ms(database, statement, parameters),
                    )
                )
    finally:
        await database.dispose()
    return explained
