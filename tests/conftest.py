"""Shared fixtures: a real uvicorn server over a real database, and tenants with API keys.

The server runs in a background thread with its own event loop, and tests talk to it over
loopback HTTP. Each test gets fresh organisations, so tests never see each other's data.

The `server` fixture is parametrized over the database backends, so every test that uses it
runs once on SQLite and once on PostgreSQL. CONNECT_GATEWAY_TEST_BACKENDS (comma-separated,
default "sqlite,postgresql") selects the backends. Each PostgreSQL test database is created
fresh on 127.0.0.1:5432 and dropped at the end, and the next run on the same host drops
those of a run that was killed. When that server is not reachable, the PostgreSQL tests
are skipped, or fail when CI=true.
"""

import asyncio
import hashlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import asyncpg
import httpx
import pytest
import uvicorn

from app.main import create_app
from app.settings import Settings
from db.engine import Database
from db.migrate import upgrade
from resolvers.api_keys import create_api_key
from resolvers.ids import new_id

FIXTURES = Path(__file__).parent / "fixtures" / "connectors"
TEST_SECRET_KEY = "test-secret-key-not-for-production"

BACKENDS = ("sqlite", "postgresql")
BACKENDS_VARIABLE = "CONNECT_GATEWAY_TEST_BACKENDS"
POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
# The database that CREATE DATABASE and DROP DATABASE run from, which initdb creates in every cluster.
POSTGRES_MAINTENANCE_DATABASE = "postgres"
POSTGRES_START_COMMAND = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
TEST_DATABASE_PREFIX = "cg_test_"


def requested_backends() -> list[str]:
    """Return the backends named in CONNECT_GATEWAY_TEST_BACKENDS, in order, or all of them."""
    raw = os.environ.get(BACKENDS_VARIABLE, ",".join(BACKENDS))
    return [name.strip() for name in raw.split(",") if name.strip()]


TEST_BACKENDS = [name for name in requested_backends() if name in BACKENDS]


def pytest_configure(config: pytest.Config) -> None:
    unknown = [name for name in requested_backends() if name not in BACKENDS]
    if unknown or not requested_backends():
        raise pytest.UsageError(
            f"{BACKENDS_VARIABLE}={os.environ.get(BACKENDS_VARIABLE, '')!r} is invalid. "
            f"List one or more of {', '.join(BACKENDS)}, separated by commas."
        )


# Set once this test run has looked for databases left by killed runs.
_stale_databases_dropped = False


class PostgresUnavailable(Exception):
    """The PostgreSQL server for tests could not be reached or refused to create a database."""


def postgres_url(database: str) -> str:
    return f"postgresql+asyncpg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


async def _connect_maintenance() -> asyncpg.Connection:
    return await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database=POSTGRES_MAINTENANCE_DATABASE, timeout=5
    )


async def _run_maintenance(statement: str) -> None:
    connection = await _connect_maintenance()
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _is_stale(name: str) -> bool:
    """Return whether a test database was left by a test run on this host that no longer runs.

    Names are cg_test_<host tag>_<pid>_<random>. A database of another host, or of a live
    process, is never stale. A reused pid only keeps a stale database until a later run.
    """
    parts = name.removeprefix(TEST_DATABASE_PREFIX).split("_")
    if len(parts) != 3 or parts[0] != _host_tag() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def _drop_stale_databases() -> None:
    """Drop the test databases of killed test runs, such as a CI job that hit its time limit."""
    connection = await _connect_maintenance()
    try:
        rows = await connection.fetch(
            "SELECT datname FROM pg_database d WHERE starts_with(datname, $1)"
            " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
            TEST_DATABASE_PREFIX,
        )
        for row in rows:
            if _is_stale(row["datname"]):
                # Without FORCE, a database that gained a session since the query stays.
                try:
                    await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}"')
                except asyncpg.ObjectInUseError:
                    pass
    finally:
        await connection.close()


def create_postgres_database() -> str:
    """Create an empty database with a unique name and return that name."""
    global _stale_databases_dropped
    name = f"{TEST_DATABASE_PREFIX}{_host_tag()}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        if not _stale_databases_dropped:
            asyncio.run(_drop_stale_databases())
            _stale_databases_dropped = True
        asyncio.run(_run_maintenance(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        raise PostgresUnavailable(
            f"PostgreSQL not reachable at {POSTGRES_HOST}:{POSTGRES_PORT} as user {POSTGRES_USER} "
            f"({type(error).__name__}: {error}); start it with `{POSTGRES_START_COMMAND}`"
        ) from error
    return name


def drop_postgres_database(name: str) -> None:
    # FORCE (PostgreSQL 13+) ends sessions still connected, such as a replica that was killed.
    asyncio.run(_run_maintenance(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test whose backend is unavailable, or fail it when CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable: pytest.skip raises")


@contextmanager
def postgres_database() -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL database and drop it on exit, or skip when the server is unreachable."""
    try:
        name = create_postgres_database()
    except PostgresUnavailable as error:
        skip_or_fail(str(error))
    try:
        yield postgres_url(name)
    finally:
        drop_postgres_database(name)


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database on `backend`.

    A PostgreSQL database is dropped on exit. A SQLite file stays in `directory`, which pytest cleans up.
    """
    if backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{directory / 'gateway.db'}"


@dataclass
class LiveServer:
    url: str
    database_url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(settings: Settings) -> LiveServer:
    """Migrate the database, then serve the app on a free loopback port until stopped."""
    upgrade(settings.resolved_database_url())
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", settings.resolved_database_url(), app, server, thread)


def gateway_settings(database_url: str, **overrides: Any) -> Settings:
    values = {
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "log_level": os.environ.get("CONNECT_GATEWAY_LOG_LEVEL", "WARNING"),
    }
    return Settings(**(values | overrides))


def sqlite_settings(directory: Path, **overrides: Any) -> Settings:
    return gateway_settings(f"sqlite+aiosqlite:///{directory / 'gateway.db'}", **overrides)


@pytest.fixture(scope="session", params=TEST_BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with empty_database(request.param, tmp_path_factory.mktemp(request.param)) as database_url:
        live = start_server(gateway_settings(database_url))
        try:
            yield live
        finally:
            live.stop()


@pytest.fixture(params=TEST_BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new database with no tables, on each selected backend."""
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    """The URL of a new, empty SQLite database, for behaviour only SQLite has."""
    if "sqlite" not in TEST_BACKENDS:
        pytest.skip(f"{BACKENDS_VARIABLE} leaves out sqlite")
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def postgresql_database_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, for behaviour only PostgreSQL has."""
    if "postgresql" not in TEST_BACKENDS:
        pytest.skip(f"{BACKENDS_VARIABLE} leaves out postgresql")
    with postgres_database() as url:
        yield url


def issue_api_key(database_url: str, organisation_id: str) -> str:
    async def run() -> str:
        database = Database(database_url)
        try:
            return (await create_api_key(database, organisation_id))[1]
        finally:
            await database.dispose()

    return asyncio.run(run())


@dataclass
class Tenant:
    """One organisation with its own API key, talking to the live server."""

    organisation_id: str
    api_key: str
    server: LiveServer
    client: httpx.Client

    def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        body = {"query": query, "variables": variables or {}}
        headers = {"Authorization": f"Bearer {self.api_key}"} | kwargs.pop("headers", {})
        return self.client.post(self.server.graphql_url, json=body, headers=headers, **kwargs)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run an operation that must succeed, and return its `data`."""
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def make_tenant(server: LiveServer, client: httpx.Client) -> Tenant:
    organisation_id = new_id()
    return Tenant(organisation_id, issue_api_key(server.database_url, organisation_id), server, client)


@pytest.fixture
def tenant(server: LiveServer, http: httpx.Client) -> Tenant:
    return make_tenant(server, http)


@pytest.fixture
def other_tenant(server: LiveServer, http: httpx.Client) -> Tenant:
    return make_tenant(server, http)


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """Return a response body without its `extensions.cost`, which every executed operation carries."""
    extensions = dict(body.get("extensions", {}))
    cost = extensions.pop("cost")
    assert {"requested", "actual"} <= cost.keys(), cost
    rest = {key: value for key, value in body.items() if key != "extensions"}
    return rest | ({"extensions": extensions} if extensions else {})
