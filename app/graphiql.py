"""GraphiQL page for browsers, with GraphiQL and React served from this server.

The browser builds come from graphiql/node_modules, which scripts/install-assets.sh installs
from graphiql/package-lock.json. The page loads nothing from other origins, and its
Content-Security-Policy allows scripts and styles only from this origin plus the page's own
inline script and style, which are pinned by their SHA-256 hashes.
"""

import base64
import hashlib
import html
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

logger = logging.getLogger("app.graphiql")

# NOTE: resolved from the source tree, so a non-editable install of the package finds no
# assets and serves the "not installed" page instead.
NODE_MODULES = Path(__file__).resolve().parent.parent / "graphiql" / "node_modules"
STATIC_PREFIX = "/graphiql/static"
INSTALL_COMMAND = "scripts/install-assets.sh"


@dataclass(frozen=True)
class Asset:
    """A file under NODE_MODULES that the static route serves, and its media type."""

    path: str
    media_type: str


# Only these files are served from node_modules, and any other name under STATIC_PREFIX is a 404.
# GraphiQL's UMD build bundles graphql-js and expects React and ReactDOM as globals.
ASSETS = {
    "react.production.min.js": Asset("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.production.min.js": Asset("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.min.js": Asset("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.min.css": Asset("graphiql/graphiql.min.css", "text/css"),
}
SCRIPT_ORDER = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")

PAGE_STYLE = """
html, body, #graphiql { height: 100%; margin: 0; }
#graphiql { display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
#graphiql-editor { flex: 1; min-height: 0; }
.gateway-key-bar { display: flex; align-items: center; gap: 8px; padding: 8px 16px; font-size: 14px; background: #f4f5f7; color: #333a47; border-bottom: 1px solid #d9dce3; }
.gateway-key-bar input { width: 24em; font: inherit; padding: 4px 8px; }
.gateway-key-bar button { font: inherit; padding: 4px 12px; }
.gateway-key-hint { color: #5f6778; }
.gateway-key-status[data-error] { color: #c4361a; }
@media (prefers-color-scheme: dark) {
  .gateway-key-bar { background: #1f2533; color: #c3c9d6; border-bottom-color: #343c4f; }
  .gateway-key-hint { color: #98a1b3; }
}
"""

# Renders GraphiQL against the URL the page was loaded from. The API key form writes the
# Authorization entry of GraphiQL's headers editor, which stays the single source of the
# headers sent. Changing the fetcher afterwards makes GraphiQL introspect the schema again
# (@graphiql/react 0.29 re-runs introspection whenever its fetcher changes).
PAGE_SCRIPT = r"""
(function () {
  "use strict";
  var h = React.createElement;
  var endpoint = window.location.origin + window.location.pathname;
  var defaultQuery = [
    "# Connect Gateway GraphQL API",
    "#",
    '# Enter an API key above, or put {"Authorization": "Bearer <key>"} in Headers,',
    "# then run the query with the run button or Ctrl-Enter. For example:",
    "#",
    "# {",
    '#   connectors(organisationId: "<organisation ULID>", first: 5) {',
    "#     nodes { id name }",
    "#   }",
    "# }",
    ""
  ].join("\n");

  function createFetcher() {
    return GraphiQL.createFetcher({ url: endpoint });
  }

  // Return headersText with its Authorization entry set to the key (removed when the key is
  // empty), or null when headersText is not a JSON object.
  function withAuthorization(headersText, apiKey) {
    var headers = {};
    if (headersText.trim() !== "") {
      try {
        headers = JSON.parse(headersText);
      } catch (error) {
        return null;
      }
      if (headers === null || typeof headers !== "object" || Array.isArray(headers)) {
        return null;
      }
    }
    Object.keys(headers).forEach(function (name) {
      if (name.toLowerCase() === "authorization") {
        delete headers[name];
      }
    });
    if (apiKey !== "") {
      headers.Authorization = "Bearer " + apiKey;
    }
    return JSON.stringify(headers, null, 2);
  }

  function App() {
    var [headers, setHeaders] = React.useState("");
    var [apiKey, setApiKey] = React.useState("");
    var [status, setStatus] = React.useState({ text: "", error: false });
    var [fetcher, setFetcher] = React.useState(createFetcher);
    var [keyRevision, setKeyRevision] = React.useState(0);

    // Runs after GraphiQL has copied the new headers into its editor, so the introspection
    // that the new fetcher triggers sends them.
    React.useEffect(function () {
      if (keyRevision > 0) {
        setFetcher(createFetcher);
      }
    }, [keyRevision]);

    function applyKey(event) {
      event.preventDefault();
      var trimmedKey = apiKey.trim();
      var updated = withAuthorization(headers, trimmedKey);
      if (updated === null) {
        setStatus({ text: "The headers are not a JSON object; fix or clear them, then try again.", error: true });
        return;
      }
      setHeaders(updated);
      setKeyRevision(keyRevision + 1);
      setStatus({ text: trimmedKey === "" ? "Authorization header removed." : "Authorization header set.", error: false });
    }

    var keyBar = h(
      "form",
      { className: "gateway-key-bar", onSubmit: applyKey },
      h("label", { htmlFor: "gateway-api-key" }, "API key"),
      h("input", {
        id: "gateway-api-key",
        type: "password",
        autoComplete: "off",
        spellCheck: false,
        value: apiKey,
        onChange: function (event) { setApiKey(event.target.value); }
      }),
      h("button", { type: "submit" }, "Use key"),
      h("span", { className: "gateway-key-hint" }, 'or put {"Authorization": "Bearer <key>"} in Headers.'),
      h("span", { className: "gateway-key-status", role: "status", "data-error": status.error ? "" : undefined }, status.text)
    );
    var editor = h(GraphiQL, {
      fetcher: fetcher,
      headers: headers,
      onEditHeaders: setHeaders,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
      defaultQuery: defaultQuery
    });
    return h(React.Fragment, null, keyBar, h("div", { id: "graphiql-editor" }, editor));
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(h(App));
})();
"""


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


# Fonts and icons in graphiql.min.css are data: URLs, so font-src and img-src allow data:.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        f"script-src 'self' {_csp_hash(PAGE_SCRIPT)}",
        f"style-src 'self' {_csp_hash(PAGE_STYLE)}",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
MISSING_PAGE_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}

_missing_assets_logged = False


def missing_assets() -> list[str]:
    """Return the paths under NODE_MODULES of the assets that are not installed."""
    return [asset.path for asset in ASSETS.values() if not (NODE_MODULES / asset.path).is_file()]


def _missing_assets_page(missing: list[str]) -> HTMLResponse:
    global _missing_assets_logged
    if not _missing_assets_logged:
        logger.warning(f"GraphiQL assets are not installed; run {INSTALL_COMMAND}", extra={"missing": missing, "directory": str(NODE_MODULES)})
        _missing_assets_logged = True
    items = "".join(f"<li><code>{path}</code></li>" for path in missing)
    body = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>GraphiQL not installed</title></head><body>"
        "<h1>GraphiQL is not installed on this server</h1>"
        f"<p>These files are missing from <code>graphiql/node_modules</code>:</p><ul>{items}</ul>"
        f"<p>Run <code>{INSTALL_COMMAND}</code> from the repository root, then reload this page. "
        "The GraphQL API itself works without them.</p></body></html>"
    )
    headers = PAGE_HEADERS | {"Content-Security-Policy": MISSING_PAGE_POLICY}
    return HTMLResponse(body, status_code=503, headers=headers)


def graphiql_page(request: Request) -> HTMLResponse:
    """Build the GraphiQL page, or a page naming the install command when assets are missing."""
    missing = missing_assets()
    if missing:
        return _missing_assets_page(missing)
    static = html.escape(request.scope.get("root_path", "") + STATIC_PREFIX)
    scripts = "".join(f'<script src="{static}/{name}"></script>' for name in SCRIPT_ORDER)
    body = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>Connect Gateway GraphiQL</title>"
        # An empty data: icon, so the browser does not request /favicon.ico.
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{static}/graphiql.min.css">'
        f"<style>{PAGE_STYLE}</style>"
        f"</head><body><div id=\"graphiql\"></div>{scripts}<script>{PAGE_SCRIPT}</script></body></html>"
    )
    headers = PAGE_HEADERS | {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
    return HTMLResponse(body, headers=headers)


async def static_asset(request: Request) -> Response:
    """Serve one file listed in ASSETS, with an ETag so browsers can revalidate it."""
    name = request.path_params["name"]
    asset = ASSETS.get(name)
    if asset is None:
        return PlainTextResponse(f"No GraphiQL asset named {name!r}.", status_code=404)
    path = NODE_MODULES / asset.path
    try:
        stat_result = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return PlainTextResponse(f"GraphiQL asset {asset.path} is not installed; run {INSTALL_COMMAND}.", status_code=404)

    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    response = FileResponse(path, media_type=asset.media_type, headers=headers, stat_result=stat_result)
    etag = response.headers["etag"]
    if_none_match = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(",")):
        return Response(status_code=304, headers=headers | {"ETag": etag})
    return response


def graphiql_routes() -> list[BaseRoute]:
    """Return the routes that serve the GraphiQL assets. The page itself is served at /graphql."""
    return [Route(STATIC_PREFIX + "/{name}", static_asset, methods=["GET"])]
