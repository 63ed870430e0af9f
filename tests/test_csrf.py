"""The API key cookie counts only on requests that a cross-site page cannot send without a preflight."""

import httpx
import pytest

from app.auth import TOKEN_COOKIE
from tests.conftest import Tenant, without_cost

QUERY = "{ __typename }"


def send(tenant: Tenant, method: str, headers: dict[str, str], **kwargs: object) -> httpx.Response:
    # A fresh client per request, so no cookie outlives its case.
    with httpx.Client(cookies={TOKEN_COOKIE: tenant.api_key}, timeout=30) as client:
        return client.request(method, tenant.server.graphql_url, headers=headers, **kwargs)


def test_cookie_post_json_accepted(tenant: Tenant) -> None:
    response = send(tenant, "POST", {}, json={"query": QUERY})

    assert response.status_code == 200, response.text
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("header", ["X-Requested-With", "GraphQL-Require-Preflight"])
def test_cookie_get_with_preflight_header_accepted(tenant: Tenant, header: str) -> None:
    response = send(tenant, "GET", {header: "1"}, params={"query": QUERY})

    assert response.status_code == 200, response.text
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


def test_cookie_get_without_header_rejected(tenant: Tenant) -> None:
    response = send(tenant, "GET", {}, params={"query": QUERY})

    assert response.status_code == 403, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "X-Requested-With or GraphQL-Require-Preflight" in error["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_cookie_simple_post_rejected(tenant: Tenant, content_type: str) -> None:
    response = send(tenant, "POST", {"Content-Type": content_type}, content=b'{"query": "{ __typename }"}')

    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_bearer_get_needs_no_header(tenant: Tenant) -> None:
    response = tenant.client.get(tenant.server.graphql_url, params={"query": QUERY}, headers={"Authorization": f"Bearer {tenant.api_key}"})

    assert response.status_code == 200, response.text


def test_wrong_cookie_unauthenticated(tenant: Tenant) -> None:
    with httpx.Client(cookies={TOKEN_COOKIE: "cgw_not-a-key"}, timeout=30) as client:
        response = client.post(tenant.server.graphql_url, json={"query": QUERY})

    assert response.status_code == 401, response.text


def test_multipart_rejected_415(tenant: Tenant) -> None:
    response = tenant.client.post(
        tenant.server.graphql_url,
        files={"operations": (None, '{"query": "{ __typename }"}'), "map": (None, "{}")},
        headers={"Authorization": f"Bearer {tenant.api_key}"},
    )

    assert response.status_code == 415, response.text
    assert response.json()["errors"][0]["message"].startswith("Multipart requests (file uploads) are not supported.")
