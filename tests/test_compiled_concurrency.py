"""The compiled execution path under concurrent requests and failing fields.

Its driver resumes resolver coroutines itself. It must not wait on one coroutine while
another has checked out the connection that the first waits for. A failing field must leave
every session closed and every connection back in the pool.
"""

import asyncio
import json
import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from app.metrics import DATABASE_POOL_CHECKED_OUT
from tests.conftest import FIXTURES, LiveServer, Tenant, make_tenant, sqlite_settings, start_server
from tests.documents import CREATE_CONNECTOR

ROOT_FIELDS = 10
SELECTION = "connectors(organisationId: $o, first: 3) { nodes { id name connections { name credentials { action { credential { name } } } } versions { name } } }"
HEAVY = "query Heavy($o: ULID!) { " + " ".join(f"a{index}: {SELECTION}" for index in range(ROOT_FIELDS)) + " }"
SMALL = "query Small($o: ULID!) { connectors(organisationId: $o, first: 1) { totalCount } }"
# A sibling with an invalid page size fails while the other root field is loading.
FAILING = "query Failing($o: ULID!) { good: " + SELECTION + " bad: connectors(organisationId: $o, first: -1) { totalCount } }"
CONCURRENT_REQUESTS = 8


@pytest.fixture
def stocked(tenant: Tenant) -> Tenant:
    for name in ("stripe", "github", "slack"):
        definition = json.loads((FIXTURES / f"{name}.json").read_text())
        assert tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})
    return tenant


def checked_out(tenant: Tenant) -> int:
    return tenant.server.app.state.gateway.services.database.engine.pool.checkedout()


def wait_for_idle_pool(tenant: Tenant, seconds: float = 5) -> int:
    """Return the connections still checked out once the pool is idle, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while checked_out(tenant) and time.monotonic() < deadline:
        time.sleep(0.05)
    return checked_out(tenant)


async def post_all(tenant: Tenant, documents: list[str]) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    limits = httpx.Limits(max_connections=len(documents) + 1)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        requests = [client.post(tenant.server.graphql_url, json={"query": document, "variables": {"o": tenant.organisation_id}}, headers=headers) for document in documents]
        return await asyncio.gather(*requests)


def test_concurrent_many_root_fields(stocked: Tenant) -> None:
    responses = asyncio.run(post_all(stocked, [HEAVY] * CONCURRENT_REQUESTS + [SMALL]))

    assert [response.status_code for response in responses] == [200] * (CONCURRENT_REQUESTS + 1), [response.text[:300] for response in responses]
    for response in responses:
        assert "errors" not in response.json(), response.text[:500]
    assert len(responses[0].json()["data"]["a0"]["nodes"]) == 3
    assert wait_for_idle_pool(stocked) == 0


def test_failing_sibling_returns_connections(stocked: Tenant, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    gauge_before = DATABASE_POOL_CHECKED_OUT._value.get()

    responses = asyncio.run(post_all(stocked, [FAILING] * 4))

    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json()["errors"], response.text
    assert wait_for_idle_pool(stocked) == 0
    # The fallback executor cancels the sibling mid-query; the pool gauge must still balance.
    assert DATABASE_POOL_CHECKED_OUT._value.get() == gauge_before
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


@pytest.fixture(scope="module")
def hasty_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers over one database: one with the default timeout to write the data, and one
    whose operations time out almost at once, so its reads outlive their requests."""
    directory = tmp_path_factory.mktemp("hasty")
    patient = start_server(sqlite_settings(directory))
    hasty = start_server(sqlite_settings(directory, execution_timeout_seconds=0.01))
    yield patient, hasty
    hasty.stop()
    patient.stop()


def test_timed_out_reads_end_quietly(hasty_servers: tuple[LiveServer, LiveServer], http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    patient, hasty = hasty_servers
    writer = make_tenant(patient, http)
    for name in ("stripe", "github", "slack"):
        definition = json.loads((FIXTURES / f"{name}.json").read_text())
        assert writer.graphql(CREATE_CONNECTOR, {"organisationId": writer.organisation_id, "input": definition})
    tenant = Tenant(writer.organisation_id, writer.api_key, hasty, http)
    caplog.set_level(logging.DEBUG, logger="db")
    caplog.set_level(logging.ERROR)
    caplog.clear()

    responses = [response for _ in range(3) for response in asyncio.run(post_all(tenant, [HEAVY] * CONCURRENT_REQUESTS))]
    time.sleep(0.5)

    assert 504 in [response.status_code for response in responses]
    assert all(response.status_code in (200, 504) for response in responses)
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert wait_for_idle_pool(tenant) == 0
