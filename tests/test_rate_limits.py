"""Cost-based rate limits: the bucket arithmetic on each backend, races, and the HTTP surface.

The bucket tests drive `RateLimiter` over a real migrated database with a clock the test
sets, so refills are exact. The HTTP tests run a live server with small buckets, and the
replica test runs two gateway processes over one PostgreSQL database.
"""

import asyncio
import json
import math
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from graphql import parse

from app.cost import BASE_COST, MUTATION_COST, REST_CREATE_COST, UNBOUNDED_LIST_SIZE, count_objects
from app.limits import Estimate, Limits, check_operation
from app.settings import SettingsError, load_settings
from db.engine import Database
from db.migrate import upgrade
from resolvers.context import Caller
from resolvers.ids import new_id
from resolvers.rate_limits import BucketPolicy, CostOverCapacity, RateLimiter, RateLimitPolicy
from schema.schema import schema
from tests.conftest import (
    FIXTURES,
    TEST_BACKENDS,
    LiveServer,
    empty_database,
    issue_api_key,
    make_tenant,
    postgres_database,
    sqlite_settings,
    start_server,
)
from tests.documents import CREATE_CONNECTOR
from tests.gateway_process import spawn_gateway

GRAPHQL_RESPONSE = "application/graphql-response+json"
Result = TypeVar("Result")
START = 1_000_000.0

PAGE = """
query Page($o: ULID!, $first: Int) {
  connectors(organisationId: $o, first: $first) {
    pageInfo { hasNextPage }
    edges { node { id name connections { id } } }
  }
}
"""

PAGE_WITH_FRAGMENTS = """
query Page($o: ULID!, $first: Int) {
  connectors(organisationId: $o, first: $first) {
    ...Paging
    first: edges { ...Edge }
  }
}
fragment Paging on ConnectorConnection { pageInfo { hasNextPage } }
fragment Edge on ConnectorEdge { node { ... on Connector { id name connections { id } } } }
"""


def page_estimate(first: int) -> int:
    """The documented estimate of PAGE: the connection, its page info, and per edge an edge,
    a node and UNBOUNDED_LIST_SIZE connections."""
    return BASE_COST + 1 + 1 + first * (1 + 1 + UNBOUNDED_LIST_SIZE)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def caller_for(organisation_id: str, key_id: str | None = None) -> Caller:
    return Caller(subject=f"api-key:{key_id or new_id()}", organisation_ids=frozenset({organisation_id}))


@pytest.fixture(params=TEST_BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with empty_database(request.param, tmp_path) as url:
        upgrade(url)
        yield Database(url)


def run_async(database: Database, coroutine: Coroutine[Any, Any, Result]) -> Result:
    """Run a test's coroutine, closing the database's connections in the same event loop."""

    async def main() -> Result:
        try:
            return await coroutine
        finally:
            await database.dispose()

    return asyncio.run(main())


def limiter(database: Database, clock: Clock, key: tuple[float, float] = (100, 10), organisation: tuple[float, float] = (1000, 100)) -> RateLimiter:
    policy = RateLimitPolicy(BucketPolicy(*key), BucketPolicy(*organisation))
    return RateLimiter(database, policy, clock)


def test_charge_until_empty(database: Database) -> None:
    clock = Clock()
    rate_limiter = limiter(database, clock)
    caller = caller_for(new_id())

    async def run() -> list[Any]:
        return [await rate_limiter.charge(caller, 40) for _ in range(3)]

    first, second, third = run_async(database, run())

    assert (first.granted, first.remaining) == (True, 60)
    assert (second.granted, second.remaining) == (True, 20)
    # 20 tokens left, 40 needed, 10 per second: 2 seconds.
    assert (third.granted, third.remaining, third.retry_after_seconds) == (False, 20, 2)


def test_refill_up_to_capacity(database: Database) -> None:
    clock = Clock()
    rate_limiter = limiter(database, clock)
    caller = caller_for(new_id())

    async def run() -> tuple[Any, Any, Any]:
        await rate_limiter.charge(caller, 100)
        refused = await rate_limiter.charge(caller, 30)
        clock.now += 3
        granted = await rate_limiter.charge(caller, 30)
        clock.now += 3600
        full = await rate_limiter.charge(caller, 1)
        return refused, granted, full

    refused, granted, full = run_async(database, run())

    assert (refused.granted, refused.retry_after_seconds) == (False, 3)
    assert (granted.granted, granted.remaining) == (True, 0)
    assert full.remaining == 99


def test_settle_difference(database: Database) -> None:
    clock = Clock()
    rate_limiter = limiter(database, clock)
    caller = caller_for(new_id())

    async def run() -> tuple[int, int, Any]:
        charge = await rate_limiter.charge(caller, 50)
        refunded = await rate_limiter.settle(charge, 10)
        charge = await rate_limiter.charge(caller, 10)
        # An estimate too low by 100 leaves the bucket in debt, which later requests wait out.
        in_debt = await rate_limiter.settle(charge, 110)
        return refunded, in_debt, await rate_limiter.charge(caller, 1)

    refunded, in_debt, after = run_async(database, run())

    assert refunded == 90
    assert in_debt == 0
    # 100 - 10 - 110 = -20 tokens: 21 are missing for a cost of 1, at 10 per second.
    assert (after.granted, after.retry_after_seconds) == (False, 3)


def test_organisation_bucket_shared(database: Database) -> None:
    clock = Clock()
    rate_limiter = limiter(database, clock, key=(100, 10), organisation=(150, 10))
    organisation_id = new_id()
    first_key, second_key = caller_for(organisation_id), caller_for(organisation_id)
    stranger = caller_for(new_id())

    async def run() -> tuple[Any, Any, Any]:
        await rate_limiter.charge(first_key, 100)
        return await rate_limiter.charge(second_key, 60), await rate_limiter.charge(second_key, 50), await rate_limiter.charge(stranger, 100)

    refused, granted, stranger_charge = run_async(database, run())

    assert (refused.granted, refused.remaining) == (False, 50)
    assert (granted.granted, granted.remaining) == (True, 0)
    assert stranger_charge.granted


def test_cost_over_capacity(database: Database) -> None:
    rate_limiter = limiter(database, Clock(), key=(100, 10), organisation=(80, 10))

    with pytest.raises(CostOverCapacity) as raised:
        run_async(database, rate_limiter.charge(caller_for(new_id()), 81))

    assert raised.value.max_cost == 80


def test_concurrent_charges_exact(database: Database) -> None:
    """Two limiters with their own engines stand for two replicas; 40 charges race for 10 tokens' worth."""
    clock = Clock()
    caller = caller_for(new_id())
    other = Database(database.url)
    limiters = [limiter(database, clock, key=(100, 1e-6)), limiter(other, clock, key=(100, 1e-6))]

    async def run() -> list[Any]:
        try:
            return await asyncio.gather(*(limiters[index % 2].charge(caller, 10) for index in range(40)))
        finally:
            await other.dispose()

    charges = run_async(database, run())

    assert sum(charge.granted for charge in charges) == 10
    assert min(charge.remaining for charge in charges) == 0


def test_first_use_of_key_races(database: Database) -> None:
    """A new key of an organisation whose bucket exists: its first requests race to create its row."""
    clock = Clock()
    organisation_id = new_id()
    other = Database(database.url)
    limiters = [limiter(database, clock), limiter(other, clock)]

    async def run() -> list[Any]:
        try:
            await limiters[0].charge(caller_for(organisation_id), 1)
            newcomer = caller_for(organisation_id)
            return await asyncio.gather(*(limiters[index % 2].charge(newcomer, 1) for index in range(30)))
        finally:
            await other.dispose()

    charges = run_async(database, run())

    assert all(charge.granted for charge in charges)
    assert min(charge.remaining for charge in charges) == 100 - 30


def test_count_objects_nested() -> None:
    data = {"connectors": {"totalCount": 2, "edges": [{"node": {"id": "A", "tags": []}}, {"node": None}], "pageInfo": {"x": 1}}}

    # connectors, two edges, one node, pageInfo.
    assert count_objects(data) == 5


# Buckets small enough that a few requests drain them, refilling slowly enough that the
# drain lasts through a test: a key contains 400 tokens and its organisation 300, both refilling 2 per second.
SMALL_BUCKETS = {
    "rate_limit_key_capacity": 400,
    "rate_limit_key_refill_per_second": 2,
    "rate_limit_organisation_capacity": 300,
    "rate_limit_organisation_refill_per_second": 2,
}
FRESH_REMAINING = 300 - BASE_COST
# An upper bound on the tokens the buckets regain during one test's requests.
REFILL_MARGIN = 20
CHEAP = "{ __typename }"


@pytest.fixture(scope="module")
def small_buckets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(sqlite_settings(tmp_path_factory.mktemp("rate-limits"), **SMALL_BUCKETS))
    yield live
    live.stop()


def post(url: str, api_key: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    body = {"query": query, "variables": variables or {}}
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {api_key}", **headers}, timeout=30)


def create_connectors(url: str, api_key: str, organisation_id: str, count: int) -> int:
    """Create `count` Stripe connectors; return the tokens they cost in all."""
    spent = 0
    for index in range(count):
        definition = json.loads((FIXTURES / "stripe.json").read_text())
        definition["name"] = f"Stripe {index}"
        response = post(url, api_key, CREATE_CONNECTOR, {"organisationId": organisation_id, "input": definition})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, response.text
        spent += body["extensions"]["cost"]["actual"]
    return spent


def remaining(url: str, api_key: str) -> int:
    response = post(url, api_key, CHEAP)
    assert response.status_code == 200, response.text
    return response.json()["extensions"]["cost"]["remaining"]


def smallest_page_over(tokens: int) -> int:
    """The smallest `first` whose PAGE estimate is more than `tokens`."""
    return math.floor((tokens - page_estimate(0)) / (page_estimate(1) - page_estimate(0))) + 1


def test_cost_extension_reported(small_buckets: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(small_buckets, http)
    create_connectors(small_buckets.graphql_url, tenant.api_key, tenant.organisation_id, 2)
    before = remaining(small_buckets.graphql_url, tenant.api_key)

    response = post(small_buckets.graphql_url, tenant.api_key, PAGE, {"o": tenant.organisation_id, "first": 10})

    assert response.status_code == 200, response.text
    body = response.json()
    cost = body["extensions"]["cost"]
    assert cost["requested"] == page_estimate(10)
    # The connection, its page info, two edges, two nodes and the nodes' connections.
    connections = sum(len(edge["node"]["connections"]) for edge in body["data"]["connectors"]["edges"])
    assert connections > 0
    assert cost["actual"] == BASE_COST + 1 + 1 + 2 * 2 + connections
    assert before - cost["actual"] <= cost["remaining"] <= before - cost["actual"] + REFILL_MARGIN


def test_mutation_cost(small_buckets: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(small_buckets, http)
    definition = json.loads((FIXTURES / "stripe.json").read_text())

    response = post(small_buckets.graphql_url, tenant.api_key, CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})

    body = response.json()
    cost = body["extensions"]["cost"]
    assert cost["actual"] == BASE_COST + MUTATION_COST + count_objects(body["data"])
    assert cost["requested"] >= cost["actual"]


def test_fragment_cost_equals_inline(small_buckets: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(small_buckets, http)
    variables = {"o": tenant.organisation_id, "first": 7}

    inline = post(small_buckets.graphql_url, tenant.api_key, PAGE, variables).json()
    fragments = post(small_buckets.graphql_url, tenant.api_key, PAGE_WITH_FRAGMENTS, variables).json()

    assert fragments["extensions"]["cost"]["requested"] == inline["extensions"]["cost"]["requested"] == page_estimate(7)


def test_short_bucket_429_then_retry(small_buckets: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(small_buckets, http)
    url = small_buckets.graphql_url
    create_connectors(url, tenant.api_key, tenant.organisation_id, 3)
    left = remaining(url, tenant.api_key)
    first = smallest_page_over(left + REFILL_MARGIN)
    variables = {"o": tenant.organisation_id, "first": first}

    refused = post(url, tenant.api_key, PAGE, variables, accept=GRAPHQL_RESPONSE)

    assert refused.status_code == 429, refused.text
    wait = int(refused.headers["retry-after"])
    body = refused.json()
    assert "data" not in body
    error = body["errors"][0]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfterSeconds": wait}
    assert f"costs {page_estimate(first)} tokens" in error["message"]
    assert body["extensions"]["cost"] == {"requested": page_estimate(first), "actual": 0, "remaining": body["extensions"]["cost"]["remaining"]}
    # The wait covers the missing tokens at 2 per second.
    missing = page_estimate(first) - body["extensions"]["cost"]["remaining"]
    assert math.ceil((missing - 1) / 2) <= wait <= math.ceil(missing / 2) + 1

    time.sleep(wait + 0.2)

    assert post(url, tenant.api_key, PAGE, variables).status_code == 200


def test_cost_over_capacity_http(small_buckets: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(small_buckets, http)
    first = smallest_page_over(300)

    response = post(small_buckets.graphql_url, tenant.api_key, PAGE, {"o": tenant.organisation_id, "first": first}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "cost"}
    assert f"estimated to cost {page_estimate(first)} tokens, more than the 300 a full rate-limit bucket contains" in error["message"]
    assert "CONNECT_GATEWAY_RATE_LIMIT_ORGANISATION_CAPACITY" in error["message"]


def test_organisation_bucket_shared_http(small_buckets: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(small_buckets, http)
    spent = create_connectors(small_buckets.graphql_url, tenant.api_key, tenant.organisation_id, 3)
    second_key = issue_api_key(small_buckets.database_url, tenant.organisation_id)
    stranger = make_tenant(small_buckets, http)

    # The second key's own bucket is full, so what it reports is the organisation's.
    assert remaining(small_buckets.graphql_url, second_key) <= FRESH_REMAINING - spent + REFILL_MARGIN
    assert remaining(small_buckets.graphql_url, stranger.api_key) == FRESH_REMAINING


def test_rest_create_rate_limited(tmp_path: Path, http: httpx.Client) -> None:
    settings = sqlite_settings(tmp_path, rate_limit_key_capacity=REST_CREATE_COST * 2, rate_limit_key_refill_per_second=0.01)
    live = start_server(settings)
    try:
        tenant = make_tenant(live, http)
        url = f"{live.url}/api/connect/v1/o/{tenant.organisation_id}/protocols/http/connectors"
        headers = {"Authorization": f"Bearer {tenant.api_key}"}
        statuses = [http.post(url, json={"name": f"c{index}"}, headers=headers).status_code for index in range(2)]
        refused = http.post(url, json={"name": "c"}, headers=headers)
    finally:
        live.stop()

    # The first two are charged (and fail validation with 400); the bucket is then empty.
    assert statuses == [400, 400]
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "RESOURCE_EXHAUSTED"
    assert int(refused.headers["retry-after"]) >= 1


def test_rate_limits_disabled(tmp_path: Path, http: httpx.Client) -> None:
    live = start_server(sqlite_settings(tmp_path, rate_limit_enabled=False, rate_limit_key_capacity=1))
    try:
        tenant = make_tenant(live, http)
        responses = [post(live.graphql_url, tenant.api_key, PAGE, {"o": tenant.organisation_id, "first": 10}) for _ in range(3)]
    finally:
        live.stop()

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert responses[0].json()["extensions"]["cost"] == {"requested": page_estimate(10), "actual": BASE_COST + 2}


@pytest.mark.skipif("postgresql" not in TEST_BACKENDS, reason="CONNECT_GATEWAY_TEST_BACKENDS leaves out postgresql")
def test_replicas_share_buckets(tmp_path: Path) -> None:
    """Tokens spent through one replica are missing on the other, which then refuses."""
    settings = {name: str(value) for name, value in SMALL_BUCKETS.items()}
    with postgres_database() as url:
        upgrade(url)
        gateways = [spawn_gateway(url, tmp_path / f"replica-{index}.log", settings=settings) for index in range(2)]
        try:
            for gateway in gateways:
                gateway.wait_until("/readyz")
            organisation_id = new_id()
            api_key = issue_api_key(url, organisation_id)
            spent = create_connectors(gateways[0].graphql_url, api_key, organisation_id, 3)
            left_on_b = remaining(gateways[1].graphql_url, api_key)
            first = smallest_page_over(left_on_b + REFILL_MARGIN)
            refused = post(gateways[1].graphql_url, api_key, PAGE, {"o": organisation_id, "first": first})
        finally:
            for gateway in gateways:
                gateway.stop()

    assert left_on_b <= FRESH_REMAINING - spent + REFILL_MARGIN
    assert refused.status_code == 429, refused.text


def test_estimate_of_nodes_by_ids() -> None:
    document = parse("query($ids: [ID!]!) { nodes(ids: $ids) { ... on Connector { id connections { id } } } }")
    limits = Limits(max_depth=10, max_aliases=15, max_tokens=2000, max_root_fields=10, max_page_size=100, max_nodes=10_000)

    estimate = check_operation(schema._schema, document, None, {"ids": ["A", "B", "C"]}, limits)

    # Three nodes, each with UNBOUNDED_LIST_SIZE connections.
    assert estimate == Estimate(BASE_COST + 3 + 3 * UNBOUNDED_LIST_SIZE, 0)


def test_field_error_charges_estimate(small_buckets: LiveServer, http: httpx.Client) -> None:
    """A field error nulls `data` and hides the work of its siblings, so the estimate is kept."""
    tenant = make_tenant(small_buckets, http)
    document = PAGE.replace("connectors(organisationId: $o, first: $first) {", "broken: connectors(organisationId: $o, first: -1) { pageInfo { hasNextPage } }\n  connectors(organisationId: $o, first: $first) {", 1)

    body = post(small_buckets.graphql_url, tenant.api_key, document, {"o": tenant.organisation_id, "first": 10}).json()

    assert body["data"] is None
    assert body["errors"]
    assert body["extensions"]["cost"]["actual"] == body["extensions"]["cost"]["requested"] == page_estimate(10) + 1 + 1


def test_skipped_field_not_estimated(small_buckets: LiveServer, http: httpx.Client) -> None:
    tenant = make_tenant(small_buckets, http)
    document = PAGE.replace("connectors(organisationId: $o, first: $first)", "connectors(organisationId: $o, first: $first) @include(if: $want)")
    document = document.replace("query Page($o: ULID!, $first: Int)", "query Page($o: ULID!, $first: Int, $want: Boolean!)")

    skipped = post(small_buckets.graphql_url, tenant.api_key, document, {"o": tenant.organisation_id, "first": 10, "want": False}).json()
    included = post(small_buckets.graphql_url, tenant.api_key, document, {"o": tenant.organisation_id, "first": 10, "want": True}).json()

    assert skipped["extensions"]["cost"]["requested"] == BASE_COST
    assert included["extensions"]["cost"]["requested"] == page_estimate(10)


def test_batch_rejection_sets_retry_after(tmp_path: Path, http: httpx.Client) -> None:
    live = start_server(sqlite_settings(tmp_path, max_batch_operations=2, **SMALL_BUCKETS))
    try:
        tenant = make_tenant(live, http)
        create_connectors(live.graphql_url, tenant.api_key, tenant.organisation_id, 3)
        left = remaining(live.graphql_url, tenant.api_key)
        too_big = {"query": PAGE, "variables": {"o": tenant.organisation_id, "first": smallest_page_over(left + REFILL_MARGIN)}}
        response = http.post(live.graphql_url, json=[{"query": CHEAP}, too_big], headers={"Authorization": f"Bearer {tenant.api_key}"})
    finally:
        live.stop()

    assert response.status_code == 200, response.text
    cheap, refused = response.json()
    assert cheap["data"] == {"__typename": "Query"}
    error = refused["errors"][0]["extensions"]
    assert error["code"] == "RATE_LIMITED"
    assert response.headers["retry-after"] == str(error["retryAfterSeconds"])


@pytest.mark.parametrize(
    "variable,value",
    [
        ("rate_limit_key_capacity", 10**20),
        ("rate_limit_organisation_capacity", 0),
        ("rate_limit_key_refill_per_second", 1e-320),
        ("rate_limit_organisation_refill_per_second", float("inf")),
        ("rate_limit_key_refill_per_second", float("nan")),
    ],
)
def test_rate_limit_settings_bounded(variable: str, value: float) -> None:
    with pytest.raises(SettingsError, match=f"CONNECT_GATEWAY_{variable.upper()} is invalid"):
        load_settings(**{variable: value})
