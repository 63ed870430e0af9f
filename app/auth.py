"""Authenticating callers from the Authorization header.

Only gateway-issued API keys are accepted today. A JWT for internal callers would be a
second authenticator here that returns a Caller with the organisations the token names.
"""

from starlette.requests import HTTPConnection

from app.state import AppState
from resolvers.api_keys import authenticate_api_key
from resolvers.context import Caller


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(connection: HTTPConnection, state: AppState) -> Caller | None:
    token = bearer_token(connection)
    if token is None:
        return None
    return await authenticate_api_key(state.services.database, token)
