"""Request log lines, Prometheus metrics, OpenTelemetry spans, health endpoints and lifecycle logs."""

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.logs import JsonFormatter
from app.main import create_app
from app.metrics import DATABASE_POOL_CHECKED_OUT, DATABASE_POOL_SIZE, OTHER_OPERATION, UNNAMED_OPERATION, OperationLabels, track_pool
from app.observability import observe_graphql
from db.engine import Database
from db.migrate import upgrade
from resolvers.ids import new_id
from tests.conftest import FIXTURES, LiveServer, free_port, gateway_settings, issue_api_key, sqlite_settings
from tests.documents import CONNECTORS_PAGE, CREATE_CONNECTOR

PROJECT = Path(__file__).resolve().parent.parent
CANARY = "canary-secret-7f3a9c"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


def serve(app: Starlette, database_url: str = "") -> LiveServer:
    """Serve an app that is already built on a free loopback port, until stopped."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{config.port}", database_url, app, server, thread)


@contextmanager
def served(app: Starlette) -> Iterator[LiveServer]:
    live = serve(app)
    try:
        yield live
    finally:
        live.stop()


def capture_again(caplog: pytest.LogCaptureFixture) -> None:
    """Re-attach pytest's log handler, which create_app removed when it configured logging."""
    logging.getLogger().addHandler(caplog.handler)


@pytest.fixture(scope="module")
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, span_exporter: InMemorySpanExporter) -> Iterator[LiveServer]:
    settings = sqlite_settings(tmp_path_factory.mktemp("observability"), otel_enabled=True)
    upgrade(settings.resolved_database_url())
    live = serve(create_app(settings, span_exporter=span_exporter), settings.resolved_database_url())
    yield live
    live.stop()


class Caller:
    def __init__(self, gateway: LiveServer, client: httpx.Client) -> None:
        self.gateway = gateway
        self.client = client
        self.organisation_id = new_id()
        self.api_key = issue_api_key(gateway.database_url, self.organisation_id)

    def post(self, body: Any, headers: dict[str, str] | None = None, authenticated: bool = True) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {self.api_key}"} if authenticated else {}
        all_headers |= headers or {}
        if isinstance(body, bytes):
            return self.client.post(self.gateway.graphql_url, content=body, headers=all_headers | {"Content-Type": "application/json"})
        return self.client.post(self.gateway.graphql_url, json=body, headers=all_headers)

    def create_connector(self, name: str, access_token: str = "gho_test", headers: dict[str, str] | None = None) -> httpx.Response:
        definition = json.loads((FIXTURES / "github.json").read_text()) | {"name": name}
        link = definition["connections"][0]["credentials"]["action"][0]
        link["credential"]["data"]["oauth2Token"]["accessToken"] = access_token
        variables = {"organisationId": self.organisation_id, "input": definition}
        return self.post({"query": CREATE_CONNECTOR, "variables": variables}, headers)

    def page(self, first: int, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.post({"query": CONNECTORS_PAGE, "variables": {"organisationId": self.organisation_id, "first": first}}, headers)


@pytest.fixture
def caller(gateway: LiveServer, http: httpx.Client) -> Caller:
    return Caller(gateway, http)


@pytest.fixture
def request_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="app")
    return caplog


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "app.graphql" and record.getMessage() == "graphql request"]


def metrics_text(gateway: LiveServer) -> str:
    response = httpx.get(f"{gateway.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def sample(text: str, name: str, **labels: str) -> float:
    """Return the value of the sample with exactly these labels, or 0 when it is absent."""
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and item.labels == labels:
                return item.value
    return 0.0


# Request log line


def test_request_log_line_fields(caller: Caller, request_logs: pytest.LogCaptureFixture) -> None:
    response = caller.create_connector("logged", access_token=CANARY, headers={"X-Request-Id": "req-log-fields"})

    assert response.status_code == 200, response.text
    lines = request_lines(request_logs)
    assert len(lines) == 1
    line = lines[0].__dict__
    assert line["request_id"] == "req-log-fields"
    assert response.headers["x-request-id"] == "req-log-fields"
    assert line["organisation_ids"] == [caller.organisation_id]
    assert line["caller"].startswith("api-key:")
    assert line["operation_name"] == "Create"
    assert line["operation_type"] == "mutation"
    assert line["outcome"] == "ok"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0


def test_logs_never_contain_variables(caller: Caller, request_logs: pytest.LogCaptureFixture) -> None:
    caller.create_connector("canary", access_token=CANARY)
    caller.post({"query": "query Q($id: ULID!) { connector(organisationId: $id, id: $id) { id } }", "variables": {"id": CANARY}})

    formatter = JsonFormatter()
    output = "\n".join(formatter.format(record) for record in request_logs.records)
    assert len(request_lines(request_logs)) == 2
    assert CANARY not in output


def test_request_id_generated_when_absent(caller: Caller, request_logs: pytest.LogCaptureFixture) -> None:
    response = caller.post({"query": "{ __typename }"})

    lines = request_lines(request_logs)
    assert len(lines) == 1
    assert len(lines[0].request_id) == 26
    assert response.headers["x-request-id"] == lines[0].request_id


@pytest.mark.parametrize(
    ("body", "authenticated", "status", "outcome", "operation_type"),
    [
        ({"query": "{ __typename }"}, False, 401, "unauthenticated", None),
        (b"{not json", True, 400, "bad_request", None),
        ({"query": "query Broken { connectors("}, True, 200, "request_error", None),
        ({"query": "query Missing { noSuchField }"}, True, 200, "request_error", "query"),
        ({"query": "{ __typename }"}, True, 200, "ok", "query"),
    ],
    ids=["unauthenticated", "invalid json", "syntax error", "validation error", "anonymous query"],
)
def test_one_log_line_per_request(
    caller: Caller,
    request_logs: pytest.LogCaptureFixture,
    body: Any,
    authenticated: bool,
    status: int,
    outcome: str,
    operation_type: str | None,
) -> None:
    response = caller.post(body, authenticated=authenticated)

    assert response.status_code == status, response.text
    lines = request_lines(request_logs)
    assert len(lines) == 1
    assert lines[0].outcome == outcome
    assert lines[0].operation_type == operation_type
    assert lines[0].organisation_ids == ([caller.organisation_id] if authenticated else [])


def test_graphiql_page_not_logged_as_request(gateway: LiveServer, request_logs: pytest.LogCaptureFixture) -> None:
    response = httpx.get(gateway.graphql_url, headers={"Accept": "text/html"})

    # 200 with the page, or 503 with a page naming the install command when the assets are missing.
    assert response.status_code in (200, 503)
    assert response.headers["content-type"].startswith("text/html")
    assert request_lines(request_logs) == []


def test_unexpected_error_logged_with_ids(caplog: pytest.LogCaptureFixture) -> None:
    async def failing(_request: Request) -> Response:
        raise RuntimeError("resolver exploded")

    app = Starlette(routes=[Route("/graphql", observe_graphql(failing), methods=["POST"])])
    caplog.set_level(logging.INFO, logger="app")

    with served(app) as live:
        response = httpx.post(live.graphql_url, json={"query": "{ __typename }"}, headers={"X-Request-Id": "req-failing"})

    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL"
    assert "resolver exploded" not in response.text
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].request_id == "req-failing"
    assert errors[0].error_id == error["extensions"]["errorId"]
    assert errors[0].exc_info is not None
    lines = request_lines(caplog)
    assert len(lines) == 1
    assert lines[0].outcome == "internal_error"


# Metrics


def test_metrics_count_requests_by_operation(gateway: LiveServer, caller: Caller) -> None:
    labels = {"operation": "Page", "operation_type": "query", "outcome": "ok"}
    before = metrics_text(gateway)

    assert caller.page(1).status_code == 200
    assert caller.page(1).status_code == 200

    after = metrics_text(gateway)
    assert sample(after, "connect_gateway_graphql_requests_total", **labels) - sample(before, "connect_gateway_graphql_requests_total", **labels) == 2
    duration = "connect_gateway_graphql_request_duration_seconds_count"
    assert sample(after, duration, operation="Page", outcome="ok") - sample(before, duration, operation="Page", outcome="ok") == 2


def test_unparsed_and_anonymous_share_label(gateway: LiveServer, caller: Caller) -> None:
    before = metrics_text(gateway)

    caller.post({"query": "query Unparsed { connectors("})
    caller.post({"query": "{ __typename }"})

    after = metrics_text(gateway)
    name = "connect_gateway_graphql_requests_total"
    failed = {"operation": UNNAMED_OPERATION, "operation_type": "unknown", "outcome": "request_error"}
    anonymous = {"operation": UNNAMED_OPERATION, "operation_type": "query", "outcome": "ok"}
    assert sample(after, name, **failed) - sample(before, name, **failed) == 1
    assert sample(after, name, **anonymous) - sample(before, name, **anonymous) == 1
    assert 'operation="Unparsed"' not in after


def test_operation_labels_capped() -> None:
    labels = OperationLabels(limit=2)

    assert labels.label("First") == "First"
    assert labels.label("Second") == "Second"
    assert labels.label("Third") == OTHER_OPERATION
    assert labels.label("First") == "First"
    assert labels.label(None) == UNNAMED_OPERATION
    assert labels.label("") == UNNAMED_OPERATION
    assert OperationLabels(limit=5).label("N" * 101) == OTHER_OPERATION


def test_loader_batch_sizes_recorded(gateway: LiveServer, caller: Caller) -> None:
    for index in range(3):
        assert caller.create_connector(f"batch {index}").status_code == 200
    before = metrics_text(gateway)

    response = caller.page(3)

    assert len(response.json()["data"]["connectors"]["nodes"]) == 3
    after = metrics_text(gateway)
    loader = {"loader": "auth_scheme_configs_by_connector"}
    count = "connect_gateway_dataloader_batch_size_count"
    total = "connect_gateway_dataloader_batch_size_sum"
    assert sample(after, count, **loader) - sample(before, count, **loader) == 1
    assert sample(after, total, **loader) - sample(before, total, **loader) == 3


async def test_pool_gauges_follow_connections(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    size_before = DATABASE_POOL_SIZE._value.get()
    checked_out_before = DATABASE_POOL_CHECKED_OUT._value.get()

    stop = track_pool(database.engine)
    try:
        assert DATABASE_POOL_SIZE._value.get() - size_before == database.engine.sync_engine.pool.size()
        async with database.engine.connect():
            assert DATABASE_POOL_CHECKED_OUT._value.get() - checked_out_before == 1
        assert DATABASE_POOL_CHECKED_OUT._value.get() == checked_out_before
    finally:
        await database.dispose()
        stop()

    assert DATABASE_POOL_SIZE._value.get() == size_before


def test_pool_gauges_exposed(gateway: LiveServer) -> None:
    text = metrics_text(gateway)

    assert sample(text, "connect_gateway_db_pool_size") >= 5
    assert sample(text, "connect_gateway_db_pool_checked_out") >= 0
    assert "# TYPE connect_gateway_db_pool_checked_out gauge" in text


MULTIPROCESS_WORKER = textwrap.dedent(
    """
    import sys
    from app.metrics import DATABASE_POOL_SIZE, mark_process_stopped, record_graphql_request
    record_graphql_request("Shared", "query", "ok", 0.01)
    DATABASE_POOL_SIZE.inc(5)
    if sys.argv[1] == "stop":
        mark_process_stopped()
    """
)
MULTIPROCESS_SCRAPE = textwrap.dedent(
    """
    import asyncio
    from app.metrics import metrics_endpoint
    print(asyncio.run(metrics_endpoint(None)).body.decode())
    """
)


def test_multiprocess_metrics_merge_workers(tmp_path: Path) -> None:
    environment = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(script: str, *arguments: str) -> str:
        result = subprocess.run([sys.executable, "-c", script, *arguments], cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    run(MULTIPROCESS_WORKER, "stop")
    run(MULTIPROCESS_WORKER, "keep")
    text = run(MULTIPROCESS_SCRAPE)

    assert sample(text, "connect_gateway_graphql_requests_total", operation="Shared", operation_type="query", outcome="ok") == 2
    # The stopped worker's pool no longer counts; the other one's still does.
    assert sample(text, "connect_gateway_db_pool_size") == 5


# Tracing


def forget_earlier_spans(gateway: LiveServer, span_exporter: InMemorySpanExporter) -> None:
    """Export the spans that earlier tests left queued in the batch processor, then drop them."""
    gateway.app.state.tracing.force_flush()
    span_exporter.clear()


def test_span_per_request(gateway: LiveServer, caller: Caller, span_exporter: InMemorySpanExporter) -> None:
    forget_earlier_spans(gateway, span_exporter)
    traceparent = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"

    response = caller.page(1, headers={"traceparent": traceparent, "X-Request-Id": "req-traced"})

    assert response.status_code == 200
    gateway.app.state.tracing.force_flush()
    spans = span_exporter.get_finished_spans()
    assert [span.name for span in spans] == ["query"]
    span = spans[0]
    assert span.kind == SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_SPAN_ID
    assert span.attributes["graphql.operation.type"] == "query"
    assert span.attributes["graphql.operation.name"] == "Page"
    assert span.attributes["connect_gateway.request_id"] == "req-traced"
    assert list(span.attributes["connect_gateway.organisation_ids"]) == [caller.organisation_id]
    assert span.attributes["connect_gateway.outcome"] == "ok"
    assert span.resource.attributes["service.name"] == "connect-gateway"


def test_span_never_holds_variables(gateway: LiveServer, caller: Caller, span_exporter: InMemorySpanExporter) -> None:
    forget_earlier_spans(gateway, span_exporter)

    caller.create_connector("traced canary", access_token=CANARY)

    gateway.app.state.tracing.force_flush()
    spans = span_exporter.get_finished_spans()
    assert [span.name for span in spans] == ["mutation"]
    assert CANARY not in spans[0].to_json()


def test_sampler_ratio_zero_exports_nothing(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    settings = sqlite_settings(tmp_path, otel_enabled=True, otel_sampler_ratio=0)
    upgrade(settings.resolved_database_url())
    app = create_app(settings, span_exporter=exporter)

    with served(app) as live:
        response = httpx.post(live.graphql_url, json={"query": "{ __typename }"})
        app.state.tracing.force_flush()

    assert response.status_code == 401

    assert exporter.get_finished_spans() == ()


def test_tracing_disabled_imports_no_opentelemetry(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from app.main import create_app
        from tests.conftest import sqlite_settings
        from pathlib import Path
        app = create_app(sqlite_settings(Path({str(tmp_path)!r})))
        assert app.state.tracing is None
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Health, readiness and lifecycle logs


def test_healthz_ok(gateway: LiveServer) -> None:
    response = httpx.get(f"{gateway.url}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ok_when_migrated(gateway: LiveServer) -> None:
    response = httpx.get(f"{gateway.url}/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_503_when_not_migrated(tmp_path: Path) -> None:
    app = create_app(sqlite_settings(tmp_path))

    with served(app) as live:
        response = httpx.get(f"{live.url}/readyz")
        health = httpx.get(f"{live.url}/healthz")

    assert response.status_code == 503
    assert "connect-gateway migrate" in response.json()["reason"]
    assert health.status_code == 200


def test_readyz_503_when_database_unreachable(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Port 1 on loopback has no listener, so the connection is refused at once.
    app = create_app(gateway_settings("postgresql+asyncpg://gateway@127.0.0.1:1/gateway"))
    capture_again(caplog)

    with served(app) as live:
        response = httpx.get(f"{live.url}/readyz")

    assert response.status_code == 503
    assert response.json()["reason"] == "database unreachable"
    assert any(record.getMessage() == "readiness check could not reach the database" for record in caplog.records)


def test_start_and_stop_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(sqlite_settings(tmp_path))
    caplog.set_level(logging.INFO, logger="app")
    capture_again(caplog)

    with served(app):
        pass

    messages = {record.getMessage(): record for record in caplog.records if record.name == "app"}
    assert messages["gateway starting"].pid == os.getpid()
    assert messages["gateway starting"].database == "sqlite"
    assert messages["gateway starting"].env == "development"
    assert messages["gateway stopped"].pid == os.getpid()
