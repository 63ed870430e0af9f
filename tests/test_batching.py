"""A page of connector trees runs a fixed number of SQL statements, whatever its size."""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.conftest import FIXTURES, LiveServer, Tenant
from tests.documents import CONNECTORS_PAGE, CREATE_CONNECTOR

MAX_STATEMENTS = 10
# Charging the rate-limit buckets (select, update) and settling the charge (one update).
RATE_LIMIT_STATEMENTS = 3
RATE_LIMIT_TABLE = "rate_limit_bucket"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def counted_statements(server: LiveServer) -> Iterator[list[str]]:
    """Record every SQL statement the server runs, except transaction control."""
    engine = server.app.state.gateway.services.database.engine.sync_engine
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def fill(tenant: Tenant, count: int) -> None:
    definitions = [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))]
    for index in range(count):
        definition = definitions[index % len(definitions)] | {"name": f"connector {index}"}
        result = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition})
        assert result["createHTTPConnector"]["__typename"] == "HTTPConnector"


def tree_statements(tenant: Tenant, page_size: int) -> tuple[int, int]:
    """Return the nodes of a page and the statements it ran, apart from the rate limits'."""
    with counted_statements(tenant.server) as statements:
        data = tenant.graphql(CONNECTORS_PAGE, {"organisationId": tenant.organisation_id, "first": page_size})
    rate_limits = [statement for statement in statements if RATE_LIMIT_TABLE in statement]
    assert len(rate_limits) == RATE_LIMIT_STATEMENTS, rate_limits
    return len(data["connectors"]["nodes"]), len(statements) - len(rate_limits)


@pytest.fixture
def hundred_connectors(tenant: Tenant) -> Tenant:
    fill(tenant, 100)
    return tenant


def test_tree_statements_constant_in_page_size(hundred_connectors: Tenant) -> None:
    counts = {size: tree_statements(hundred_connectors, size) for size in (1, 10, 100)}

    assert [nodes for nodes, _ in counts.values()] == [1, 10, 100]
    assert len({statements for _, statements in counts.values()}) == 1, counts
    assert counts[100][1] <= MAX_STATEMENTS


def test_statement_counter_sees_queries(tenant: Tenant) -> None:
    fill(tenant, 1)

    _, statements = tree_statements(tenant, 1)

    # Authentication, page, count and one query per relation of the tree.
    assert statements >= 8


PAGE_WITHOUT_COUNT = """
query Page($organisationId: ULID!) {
  connectors(organisationId: $organisationId, first: 5) { nodes { id } pageInfo { hasNextPage } }
}
"""

PAGE_WITH_TWO_COUNTS = """
query Page($organisationId: ULID!) {
  connectors(organisationId: $organisationId, first: 5) { totalCount again: totalCount nodes { id } }
}
"""


def count_statements(tenant: Tenant, document: str) -> tuple[dict, int]:
    with counted_statements(tenant.server) as statements:
        data = tenant.graphql(document, {"organisationId": tenant.organisation_id})
    return data, sum("count(" in statement.lower() for statement in statements)


def test_count_only_when_selected(tenant: Tenant) -> None:
    fill(tenant, 2)

    data, counts = count_statements(tenant, PAGE_WITHOUT_COUNT)

    assert len(data["connectors"]["nodes"]) == 2
    assert counts == 0


def test_repeated_total_count_counts_once(tenant: Tenant) -> None:
    fill(tenant, 2)

    data, counts = count_statements(tenant, PAGE_WITH_TWO_COUNTS)

    assert data["connectors"]["totalCount"] == 2
    assert data["connectors"]["again"] == 2
    assert counts == 1
