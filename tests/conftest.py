"""Shared fixtures: a real uvicorn server over a real database, and tenants with API keys.

The server runs in a background thread with its own event loop, and tests talk to it over
loopback HTTP. Each test gets fresh organisations, so tests never see each other's data.
"""

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def sqlite_settings(directory: Path, **overrides: Any) -> Settings:
    values = {
        "database_url": f"sqlite+aiosqlite:///{directory / 'gateway.db'}",
        "secret_key": TEST_SECRET_KEY,
        "log_level": os.environ.get("CONNECT_GATEWAY_LOG_LEVEL", "WARNING"),
    }
    return Settings(**(values | overrides))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(sqlite_settings(tmp_path_factory.mktemp("sqlite")))
    yield live
    live.stop()


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
