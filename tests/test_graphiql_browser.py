"""GraphiQL at GET /graphql: assets come from this server, and a query runs in headless Chromium.

The browser tests drive Debian's chromium through Playwright. Without /usr/bin/chromium they
skip, except under CI=true, where they fail. scripts/install-assets.sh installs it.
"""

import base64
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, Response, async_playwright, expect

import app.graphiql
from tests.conftest import FIXTURES, LiveServer, Tenant
from tests.documents import CREATE_CONNECTOR

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
HTML_ACCEPT = {"Accept": "text/html,application/xhtml+xml"}
EXPECTED_CONTENT_TYPES = {
    "react.production.min.js": "text/javascript",
    "react-dom.production.min.js": "text/javascript",
    "graphiql.min.js": "text/javascript",
    "graphiql.min.css": "text/css",
}
# An estimate: a page load, mostly parsing the 1 MB GraphiQL bundle, takes a few seconds on an
# idle machine, and 30 s leaves room for a loaded one.
UI_TIMEOUT_MS = 30_000

expect.set_options(timeout=UI_TIMEOUT_MS)

HEADERS_EDITOR = "section.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
QUERY_EDITOR = "section.graphiql-query-editor .CodeMirror"
RESULT_PANE = "section.result-window"


class PageResources(HTMLParser):
    """The URLs that an HTML page's scripts, links and images load, and its inline scripts' text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"] or "")
        elif tag == "script":
            self._in_inline_script = True
            self.inline_scripts.append("")
        elif tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"] or "")
        elif tag == "img" and attributes.get("src"):
            self.urls.append(attributes["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def parse_page(html: str) -> PageResources:
    resources = PageResources()
    resources.feed(html)
    return resources


def network_urls(html: str) -> list[str]:
    """Return the page's resource URLs except data: URLs, which the browser does not request."""
    return [url for url in parse_page(html).urls if not url.startswith("data:")]


def parse_csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


def csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def create_connector(tenant: Tenant, fixture: str) -> str:
    connector = json.loads((FIXTURES / fixture).read_text())
    data = tenant.graphql(CREATE_CONNECTOR, {"organisationId": tenant.organisation_id, "input": connector})
    assert data["createHTTPConnector"]["__typename"] == "HTTPConnector", data
    return data["createHTTPConnector"]["name"]


def connectors_query(organisation_id: str) -> str:
    return f'{{ connectors(organisationId: "{organisation_id}", first: 5) {{ nodes {{ name }} }} }}'


# Plain HTTP: the page and its assets.


def test_page_is_html_with_security_headers(server: LiveServer, http: httpx.Client) -> None:
    response = http.get(server.graphql_url, headers=HTML_ACCEPT)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


def test_page_references_only_same_origin_assets(server: LiveServer, http: httpx.Client) -> None:
    response = http.get(server.graphql_url, headers=HTML_ACCEPT)
    urls = network_urls(response.text)

    assert urls, response.text
    origin = urlsplit(server.url)
    served = set()
    for url in urls:
        absolute = urlsplit(urljoin(server.graphql_url, url))
        assert (absolute.scheme, absolute.netloc) == (origin.scheme, origin.netloc), url
        served.add(absolute.path.rsplit("/", 1)[-1])
    assert served == set(EXPECTED_CONTENT_TYPES)


def test_assets_return_200_with_content_types(server: LiveServer, http: httpx.Client) -> None:
    urls = network_urls(http.get(server.graphql_url, headers=HTML_ACCEPT).text)

    for url in urls:
        response = http.get(urljoin(server.graphql_url, url))
        name = url.rsplit("/", 1)[-1]
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] == EXPECTED_CONTENT_TYPES[name], url
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert len(response.content) > 1000, url


def test_csp_allows_only_self_and_inline_hashes(server: LiveServer, http: httpx.Client) -> None:
    response = http.get(server.graphql_url, headers=HTML_ACCEPT)
    policy = parse_csp(response.headers["content-security-policy"])
    inline_scripts = parse_page(response.text).inline_scripts
    inline_style = re.search(r"<style>(.*?)</style>", response.text, re.DOTALL)

    assert policy["default-src"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert len(inline_scripts) == 1
    assert policy["script-src"] == ["'self'", csp_hash(inline_scripts[0])]
    assert inline_style is not None
    assert policy["style-src"] == ["'self'", csp_hash(inline_style.group(1))]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert "'unsafe-eval'" not in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/static/package.json",
        "/graphiql/static/graphiql.min.js.map",
        "/graphiql/static/graphiql/graphiql.min.js",
        "/graphiql/static/..%2Fgraphiql%2Fpackage.json",
        "/graphiql/static/",
    ],
)
def test_static_route_serves_only_listed_assets(server: LiveServer, http: httpx.Client, path: str) -> None:
    response = http.get(server.url + path)

    assert response.status_code == 404, response.text


def test_asset_revalidation_returns_304(server: LiveServer, http: httpx.Client) -> None:
    url = server.url + "/graphiql/static/graphiql.min.css"
    first = http.get(url)
    etag = first.headers["etag"]

    again = http.get(url, headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.content == b""


def test_json_request_without_query_is_not_graphiql(server: LiveServer, http: httpx.Client) -> None:
    response = http.get(server.graphql_url, headers={"Accept": "application/json"})

    assert response.headers["content-type"].startswith("application/json")


def test_missing_assets_page_names_install_command(
    server: LiveServer, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process, so patching the module changes what it serves.
    monkeypatch.setattr(app.graphiql, "NODE_MODULES", tmp_path / "node_modules")

    page = http.get(server.graphql_url, headers=HTML_ACCEPT)
    asset = http.get(server.url + "/graphiql/static/graphiql.min.js")

    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "scripts/install-assets.sh" in page.text
    assert "graphiql/graphiql.min.js" in page.text
    assert "<script" not in page.text
    assert asset.status_code == 404
    assert "scripts/install-assets.sh" in asset.text


# Headless Chromium: the page runs queries.


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    # This uses the async API because Playwright's sync API marks an event loop as running
    # between its calls, so the tenant fixture's asyncio.run would raise.
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing; run scripts/install-assets.sh to install Debian's chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true, so the browser tests must run)")
        pytest.skip(reason)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    context.set_default_timeout(UI_TIMEOUT_MS)
    # Runs before the page's own scripts and, as an init script, is not subject to the page's CSP.
    await context.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', function (event) {"
        "  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);"
        "});"
    )
    try:
        yield await context.new_page()
    finally:
        await context.close()


def record_requests(page: Page) -> list[Request]:
    requests: list[Request] = []
    # Playwright sets an attribute on the handler, which a bound builtin such as list.append rejects.
    page.on("request", lambda request: requests.append(request))
    return requests


async def replace_editor_text(page: Page, selector: str, text: str) -> None:
    """Focus a CodeMirror editor by clicking it and replace its text as typed input.

    insert_text sends one input event, so CodeMirror's bracket auto-closing does not add
    characters the way key-by-key typing would.
    """
    await page.locator(selector).click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)


async def run_query(page: Page, query: str) -> Response:
    """Replace the query editor's text, press the run button, and return the HTTP response."""
    await replace_editor_text(page, QUERY_EDITOR, query)
    async with page.expect_response(lambda response: sent_query(response.request) == query) as sent:
        await page.locator("button.graphiql-execute-button").click()
    return await sent.value


def sent_query(request: Request) -> str | None:
    """Return the `query` of a GraphQL POST request, or None for any other request."""
    if request.method != "POST" or not request.post_data:
        return None
    return json.loads(request.post_data).get("query")


def assert_loopback_only(requests: list[Request]) -> None:
    hosts = {urlsplit(request.url).hostname for request in requests}
    assert requests
    assert hosts == {"127.0.0.1"}, [request.url for request in requests]


async def test_headers_editor_runs_query(server: LiveServer, tenant: Tenant, page: Page) -> None:
    name = create_connector(tenant, "open-meteo.json")
    requests = record_requests(page)

    await page.goto(server.graphql_url)
    await expect(page.locator(".graphiql-container")).to_be_visible()
    await replace_editor_text(page, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {tenant.api_key}"}))
    response = await run_query(page, connectors_query(tenant.organisation_id))

    await expect(page.locator(RESULT_PANE)).to_contain_text(name)
    assert response.status == 200
    assert response.request.headers.get("authorization") == f"Bearer {tenant.api_key}"
    assert_loopback_only(requests)
    assert await page.evaluate("window.__cspViolations") == []


async def test_api_key_field_sets_header_and_schema(server: LiveServer, tenant: Tenant, page: Page) -> None:
    name = create_connector(tenant, "stripe.json")
    requests = record_requests(page)

    await page.goto(server.graphql_url)
    await page.get_by_label("API key").fill(tenant.api_key)
    await page.get_by_role("button", name="Use key").click()

    await expect(page.get_by_role("status")).to_have_text("Authorization header set.")
    await expect(page.locator(HEADERS_EDITOR)).to_contain_text(f'"Authorization": "Bearer {tenant.api_key}"')
    # Introspection with the new key succeeds, so the documentation explorer lists the root types.
    await page.get_by_role("button", name="Show Documentation Explorer").click()
    await expect(page.locator(".graphiql-doc-explorer")).to_contain_text("Root Types")
    introspections = [request for request in requests if "__schema" in (sent_query(request) or "")]
    assert introspections[-1].headers.get("authorization") == f"Bearer {tenant.api_key}"

    response = await run_query(page, connectors_query(tenant.organisation_id))
    await expect(page.locator(RESULT_PANE)).to_contain_text(name)
    assert response.status == 200
    assert response.request.headers.get("authorization") == f"Bearer {tenant.api_key}"
    assert_loopback_only(requests)
    assert await page.evaluate("window.__cspViolations") == []


async def test_query_without_key_shows_authentication_error(server: LiveServer, tenant: Tenant, page: Page) -> None:
    await page.goto(server.graphql_url)
    response = await run_query(page, connectors_query(tenant.organisation_id))

    assert response.status == 401
    await expect(page.locator(RESULT_PANE)).to_contain_text("Authentication required")
