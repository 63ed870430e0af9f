"""The cost of a GraphQL operation in rate-limit tokens.

An operation costs 1, plus 1 for every object it returns, plus MUTATION_COST for every
mutation field. Objects are connectors, edges, page infos, credentials and the like;
scalar fields cost nothing.

Before execution the cost is estimated from the document: a paginated field returns its
`first` or `last` (20 when neither is given), `nodes(ids:)` one object per id, and any
other list UNBOUNDED_LIST_SIZE objects per parent. That estimate is charged first. After
execution the objects in the response are counted and the charge is corrected to that.
"""

from typing import Any

BASE_COST = 1
# A mutation writes, validates and often encrypts, so it counts like ten objects.
MUTATION_COST = 10
# The estimate for lists without a page size, such as a connector's connections. The
# fixtures have 1 to 3 auth scheme configs and connections, and most connectors 1 to 6 versions.
UNBOUNDED_LIST_SIZE = 5
# The REST façade's create is charged like the GraphQL mutation with a small selection.
REST_CREATE_COST = BASE_COST + MUTATION_COST


def count_objects(data: Any) -> int:
    """Count the objects (JSON objects) inside a response's `data`, not counting `data` itself."""
    if not isinstance(data, dict):
        return 0
    count = 0
    pending = list(data.values())
    while pending:
        value = pending.pop()
        # Exact type checks: the executor builds plain dicts and lists, and this runs once per value.
        kind = type(value)
        if kind is dict:
            count += 1
            pending += value.values()
        elif kind is list:
            pending += value
    return count


def actual_cost(data: Any, mutation_fields: int) -> int:
    """Return the cost of an executed operation, counted from its response data."""
    return BASE_COST + count_objects(data) + MUTATION_COST * mutation_fields


def cost_extension(requested: int, actual: int, remaining: int) -> dict[str, int]:
    """Build the `extensions.cost` entry of a response."""
    return {"requested": requested, "actual": actual, "remaining": remaining}
