"""GraphQL over HTTP at /graphql: GET for queries, POST for everything, GraphiQL for browsers.

Written against the GraphQL-over-HTTP specification rather than Strawberry's view, so
authentication, body limits, status codes and error masking sit in one place.
"""

import logging
from typing import Any

import orjson
from strawberry.types.graphql import OperationType
from starlette.requests import Request
from starlette.responses import Response
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError

from app.auth import authenticate
from app.errors import format_error
from app.graphiql import graphiql_page
from app.observability import note_caller, note_outcome, request_id_for
from app.state import AppState
from resolvers.context import RequestContext

logger = logging.getLogger("app.graphql")

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class BadRequest(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _response_media_type(request: Request) -> str | None:
    """Pick the response media type from Accept; prefer application/graphql-response+json."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return JSON
    ranges = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if GRAPHQL_RESPONSE_JSON in ranges:
        return GRAPHQL_RESPONSE_JSON
    if JSON in ranges or "application/*" in ranges or "*/*" in ranges:
        return JSON
    return None


def _json_response(body: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"The request body is larger than {limit} bytes (CONNECT_GATEWAY_MAX_BODY_BYTES).")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"The request body is larger than {limit} bytes (CONNECT_GATEWAY_MAX_BODY_BYTES).")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_params(raw: Any, variables_from_text: bool) -> tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None]:
    if not isinstance(raw, dict):
        raise BadRequest(400, "The request body must be a JSON object with a `query` string.")
    query = raw.get("query")
    if not isinstance(query, str) or not query:
        raise BadRequest(400, "The `query` parameter is required and must be a non-empty string.")
    variables = raw.get("variables")
    if variables_from_text and isinstance(variables, str):
        try:
            variables = orjson.loads(variables)
        except orjson.JSONDecodeError:
            raise BadRequest(400, "The `variables` parameter is not valid JSON.") from None
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest(400, "The `variables` parameter must be a JSON object or null.")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequest(400, "The `operationName` parameter must be a string or null.")
    extensions = raw.get("extensions")
    if variables_from_text and isinstance(extensions, str):
        try:
            extensions = orjson.loads(extensions)
        except orjson.JSONDecodeError:
            raise BadRequest(400, "The `extensions` parameter is not valid JSON.") from None
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequest(400, "The `extensions` parameter must be a JSON object or null.")
    return query, variables, operation_name or None, extensions


async def _request_params(request: Request, state: AppState) -> tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None]:
    if request.method == "GET":
        return _parse_params(dict(request.query_params), variables_from_text=True)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise BadRequest(415, "POST requests must have Content-Type: application/json.")
    body = await _read_body(request, state.settings.max_body_bytes)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest(400, "The request body is not valid JSON.") from None
    return _parse_params(raw, variables_from_text=False)


def _wants_graphiql(request: Request) -> bool:
    return request.method == "GET" and "query" not in request.query_params and "text/html" in request.headers.get("accept", "")


async def graphql_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.gateway
    if _wants_graphiql(request):
        return graphiql_page(request)
    media_type = _response_media_type(request)
    if media_type is None:
        return Response("Accept application/graphql-response+json or application/json.", status_code=406)

    request_id = request_id_for(request)
    caller = await authenticate(request, state)
    if caller is None:
        return _json_response(
            _error_body("Authentication required: send Authorization: Bearer <API key>.", "UNAUTHENTICATED"),
            401,
            media_type,
            {"WWW-Authenticate": 'Bearer realm="connect-gateway"'},
        )
    note_caller(caller)
    try:
        query, variables, operation_name, extensions = await _request_params(request, state)
    except BadRequest as error:
        return _json_response(_error_body(error.message, "BAD_REQUEST"), error.status, media_type, error.headers)

    context = RequestContext(caller=caller, services=state.services, request_id=request_id)
    allowed = (OperationType.QUERY,) if request.method == "GET" else (OperationType.QUERY, OperationType.MUTATION)
    try:
        result = await state.schema.execute(
            query,
            variable_values=variables,
            context_value=context,
            operation_name=operation_name,
            allowed_operation_types=allowed,
            operation_extensions=extensions,
        )
    except InvalidOperationTypeError:
        return _json_response(_error_body("Mutations must use POST.", "BAD_REQUEST"), 405, media_type, {"Allow": "POST"})

    body: dict[str, Any] = {}
    request_error = isinstance(result, PreExecutionError) or (
        result.data is None and bool(result.errors) and all(error.path is None for error in result.errors)
    )
    if result.errors:
        body["errors"] = [format_error(error, request_id, operation_name) for error in result.errors]
    if not request_error:
        body["data"] = result.data
    status = 400 if request_error and media_type == GRAPHQL_RESPONSE_JSON else 200

    # observe_graphql (app.observability) writes the one log line of the request.
    if request_error:
        note_outcome("request_error")
    elif result.errors:
        note_outcome("error")
    else:
        note_outcome("ok")
    return _json_response(body, status, media_type, {"X-Request-Id": request_id})
