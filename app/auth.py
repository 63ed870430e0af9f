"""Authenticating callers from the Authorization header or the API key cookie.

Only gateway-issued API keys are accepted today. A JWT for internal callers would be a
second authenticator here that returns a Caller with the organisations the token names.

A browser sends cookies with cross-site requests, so the cookie counts only on requests
that a cross-site page cannot send without a CORS preflight, which the gateway never
grants: a POST with Content-Type application/json, or any request with one of
PREFLIGHT_HEADERS. Everything else with a cookie (a GET link, an HTML form post) could be
a cross-site request forgery and is rejected.
"""

from starlette.requests import HTTPConnection

from app.state import AppState
from resolvers.api_keys import authenticate_api_key
from resolvers.context import Caller

TOKEN_COOKIE = "connect_gateway_token"
PREFLIGHT_HEADERS = ("x-requested-with", "graphql-require-preflight")
JSON_CONTENT_TYPE = "application/json"

CSRF_MESSAGE = (
    f"The {TOKEN_COOKIE} cookie is accepted only on a POST with Content-Type: application/json or on a request with an "
    "X-Requested-With or GraphQL-Require-Preflight header, which browsers do not send cross-site without a preflight. "
    "Add one of these headers, or send Authorization: Bearer <API key>."
)


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def cookie_token(connection: HTTPConnection) -> str | None:
    token = connection.cookies.get(TOKEN_COOKIE, "").strip()
    return token or None


def needs_preflight(connection: HTTPConnection) -> bool:
    """Return whether a browser would preflight this request if a cross-site page sent it."""
    if any(connection.headers.get(name) for name in PREFLIGHT_HEADERS):
        return True
    content_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    return connection.scope.get("method") == "POST" and content_type == JSON_CONTENT_TYPE


def cookie_rejected(connection: HTTPConnection) -> bool:
    """Return whether the request authenticates only by a cookie on a request open to CSRF."""
    return bearer_token(connection) is None and cookie_token(connection) is not None and not needs_preflight(connection)


async def authenticate(connection: HTTPConnection, state: AppState) -> Caller | None:
    token = bearer_token(connection)
    if token is None and needs_preflight(connection):
        token = cookie_token(connection)
    if token is None:
        return None
    return await authenticate_api_key(state.services.database, token)
