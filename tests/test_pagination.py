"""Relay pages of connectors: order, cursors in both directions, filters and totalCount."""

from typing import Any

from tests.conftest import Tenant
from tests.documents import CREATE_CONNECTOR

PAGE = """
query Page($o: ULID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ConnectorFilter) {
  connectors(organisationId: $o, first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
    nodes { name }
  }
}
"""


def definition(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "baseUrl": "https://api.example.com",
        "authSchemeConfigs": [{"none": {"id": "none", "description": ""}}],
        "connections": [],
    } | extra


def create(tenant: Tenant, name: str, **extra: Any) -> None:
    result = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": definition(name, **extra)})
    assert result["createHTTPConnector"]["__typename"] == "HTTPConnector", result


def page(tenant: Tenant, **variables: Any) -> dict[str, Any]:
    return tenant.graphql(PAGE, {"o": tenant.organisation_id} | variables)["connectors"]


def test_newest_first_forward_pages(tenant: Tenant) -> None:
    for index in range(5):
        create(tenant, f"c{index}")

    first = page(tenant, first=2)
    second = page(tenant, first=2, after=first["pageInfo"]["endCursor"])
    third = page(tenant, first=2, after=second["pageInfo"]["endCursor"])

    assert [node["name"] for node in first["nodes"]] == ["c4", "c3"]
    assert [node["name"] for node in second["nodes"]] == ["c2", "c1"]
    assert [node["name"] for node in third["nodes"]] == ["c0"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert third["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert first["totalCount"] == third["totalCount"] == 5
    assert [edge["node"]["name"] for edge in first["edges"]] == ["c4", "c3"]


def test_backward_pages(tenant: Tenant) -> None:
    for index in range(5):
        create(tenant, f"c{index}")

    last = page(tenant, last=2)
    before = page(tenant, last=2, before=last["pageInfo"]["startCursor"])

    assert [node["name"] for node in last["nodes"]] == ["c1", "c0"]
    assert [node["name"] for node in before["nodes"]] == ["c3", "c2"]
    assert last["pageInfo"]["hasPreviousPage"] is True
    assert before["pageInfo"]["hasNextPage"] is True


def test_default_page_size_is_twenty(tenant: Tenant) -> None:
    for index in range(21):
        create(tenant, f"c{index}")

    result = page(tenant)

    assert len(result["nodes"]) == 20
    assert result["pageInfo"]["hasNextPage"] is True


def test_empty_page_has_no_cursors(tenant: Tenant) -> None:
    result = page(tenant, first=10)

    assert result == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
        "edges": [],
        "nodes": [],
    }


def test_name_filter_is_case_insensitive_substring(tenant: Tenant) -> None:
    for name in ("Stripe Payments", "GitHub", "stripe-sandbox", "100%_literal"):
        create(tenant, name)

    assert {node["name"] for node in page(tenant, filter={"name": "STRIPE"})["nodes"]} == {"Stripe Payments", "stripe-sandbox"}
    assert [node["name"] for node in page(tenant, filter={"name": "%_"})["nodes"]] == ["100%_literal"]
    assert page(tenant, filter={"name": "stripe"})["totalCount"] == 2


def test_tag_filters_match_key_and_value(tenant: Tenant) -> None:
    create(tenant, "a", tags=[{"key": "category", "values": ["crm", "sales"]}])
    create(tenant, "b", tags=[{"key": "category", "values": ["payments"]}, {"key": "region", "values": ["uk"]}])
    create(tenant, "c", tags=[{"key": "flag", "values": []}])

    def names(tags: list[dict[str, Any]]) -> set[str]:
        return {node["name"] for node in page(tenant, filter={"tags": tags})["nodes"]}

    assert names([{"key": "category"}]) == {"a", "b"}
    assert names([{"key": "category", "value": "sales"}]) == {"a"}
    assert names([{"key": "category", "value": "payments"}, {"key": "region", "value": "uk"}]) == {"b"}
    assert names([{"key": "category", "value": "crm"}, {"key": "region"}]) == set()
    assert names([{"key": "flag"}]) == {"c"}


def test_public_and_protocol_filters(tenant: Tenant) -> None:
    create(tenant, "open", public=True)
    create(tenant, "closed")

    assert [node["name"] for node in page(tenant, filter={"public": True})["nodes"]] == ["open"]
    assert [node["name"] for node in page(tenant, filter={"public": False})["nodes"]] == ["closed"]
    assert page(tenant, filter={"protocol": "HTTP"})["totalCount"] == 2
    assert page(tenant, filter={"protocol": "BIGQUERY"})["totalCount"] == 0


def test_cursor_bound_to_filter(tenant: Tenant) -> None:
    for index in range(3):
        create(tenant, f"c{index}")
    cursor = page(tenant, first=1)["pageInfo"]["endCursor"]

    response = tenant.post(PAGE, {"o": tenant.organisation_id, "first": 1, "after": cursor, "filter": {"name": "c"}})

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    assert error["extensions"]["fields"][0]["field"] == "after"
