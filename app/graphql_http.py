"""GraphQL over HTTP at /graphql: GET for queries, POST for everything, GraphiQL for browsers.

Written against the GraphQL-over-HTTP specification rather than Strawberry's view, so
authentication, body limits, status codes and error masking sit in one place.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from strawberry.types.graphql import OperationType
from starlette.requests import Request
from starlette.responses import Response
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError

from app.auth import CSRF_MESSAGE, authenticate, cookie_rejected
from app.errors import format_error
from app.graphiql import graphiql_page
from app.cost import BASE_COST, actual_cost
from app.limits import (
    LIMIT_EXCEEDED,
    DocumentParser,
    Estimate,
    LimitExceeded,
    Limits,
    check_operation,
    cost_limit_error,
    introspection_errors,
    token_limit_error,
)
from app.media import declares_utf8
from app.metering import Metering
from app.operations import operation_selection_error
from app.observability import note_caller, note_outcome, request_id_for
from app.persisted import PersistedQueries, PersistedQueryError
from app.state import AppState
from db.snapshot import ReadSnapshot
from resolvers.context import Caller, RequestContext
from schema.compiled import compiled_execution

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


@dataclass(frozen=True)
class OperationParams:
    """The GraphQL-over-HTTP request parameters; `query` is None when only a persisted query hash is sent."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _parse_params(raw: Any, variables_from_text: bool) -> OperationParams:
    if not isinstance(raw, dict):
        raise BadRequest(400, "The request body must be a JSON object with a `query` string.")
    query = raw.get("query")
    if query is not None and (not isinstance(query, str) or not query):
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
    return OperationParams(query, variables, operation_name or None, extensions)


async def _request_params(request: Request, state: AppState) -> list[OperationParams] | OperationParams:
    """Return the parameters of one operation, or a list of them for a batched request."""
    if request.method == "GET":
        return _parse_params(dict(request.query_params), variables_from_text=True)
    content_type, _, parameters = request.headers.get("content-type", "").partition(";")
    content_type = content_type.strip().lower()
    if content_type == "multipart/form-data":
        raise BadRequest(415, "Multipart requests (file uploads) are not supported. Send Content-Type: application/json.")
    if content_type != JSON:
        raise BadRequest(415, "POST requests must have Content-Type: application/json.")
    if not declares_utf8(parameters):
        raise BadRequest(415, "The request body must be UTF-8; send charset=utf-8 or no charset.")
    body = await _read_body(request, state.settings.max_body_bytes)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest(400, "The request body is not valid JSON.") from None
    if isinstance(raw, list):
        return _batch_params(raw, state.settings.max_batch_operations)
    return _parse_params(raw, variables_from_text=False)


def _batch_params(raw: list[Any], max_operations: int) -> list[OperationParams]:
    if max_operations == 0:
        raise BadRequest(
            400,
            "Batched requests (a JSON array body) are turned off. Send one JSON object per request, "
            "or set CONNECT_GATEWAY_MAX_BATCH_OPERATIONS to allow them.",
        )
    if not raw:
        raise BadRequest(400, "The batched request (a JSON array body) is empty; send at least one operation.")
    if len(raw) > max_operations:
        raise BadRequest(
            400,
            f"The batched request has {len(raw)} operations; the maximum is {max_operations} (CONNECT_GATEWAY_MAX_BATCH_OPERATIONS).",
        )
    return [_parse_params(item, variables_from_text=False) for item in raw]


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
    if cookie_rejected(request):
        return _json_response(_error_body(CSRF_MESSAGE, "FORBIDDEN"), 403, media_type)
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
        params = await _request_params(request, state)
    except BadRequest as error:
        return _json_response(_error_body(error.message, "BAD_REQUEST"), error.status, media_type, error.headers)

    if isinstance(params, list):
        return await _run_batch(request, state, caller, params, media_type, request_id)
    outcome = await _run_operation(request, state, caller, params, media_type, request_id)
    return _json_response(outcome.body, outcome.status, media_type, {"X-Request-Id": request_id} | outcome.headers)


async def _run_batch(
    request: Request, state: AppState, caller: Caller, params: list[OperationParams], media_type: str, request_id: str
) -> Response:
    """Run a batch: each operation reports its status inside its own response, and the batch is 200.

    When the rate limit rejected any operation, Retry-After gives the longest of their waits.
    """
    outcomes = [await _run_operation(request, state, caller, item, media_type, request_id) for item in params]
    headers = {"X-Request-Id": request_id}
    waits = [int(outcome.headers["Retry-After"]) for outcome in outcomes if "Retry-After" in outcome.headers]
    if waits:
        headers["Retry-After"] = str(max(waits))
    body = orjson.dumps([outcome.body for outcome in outcomes])
    return Response(body, status_code=200, media_type=media_type, headers=headers)


@dataclass
class Outcome:
    body: dict[str, Any]
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def _request_error(message: str, code: str, media_type: str, **extensions: Any) -> Outcome:
    """Build the response to a request that fails before execution, as for a validation error."""
    note_outcome("request_error")
    status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
    return Outcome({"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}, status)


async def _run_operation(
    request: Request, state: AppState, caller: Caller, params: OperationParams, media_type: str, request_id: str
) -> Outcome:
    edge = edge_services(request.app, state)
    settings = state.settings
    try:
        document = await edge.persisted.resolve(params.query, params.extensions)
    except PersistedQueryError as error:
        if error.always_400:
            note_outcome("request_error")
            return Outcome(_error_body(error.message, error.code), 400)
        return _request_error(error.message, error.code, media_type)

    rejection, estimate = _check_document(edge, state, document.text, params)
    if rejection is not None:
        return _request_error(rejection.message, rejection.code, media_type, **rejection.extensions)
    metering = await Metering.start(state.rate_limiter, caller, estimate.cost)
    if metering.rejected:
        body, headers = metering.rejection()
        return Outcome(body, 429, headers)

    snapshot = ReadSnapshot(state.services.database)
    context = RequestContext(caller=caller, services=state.services, request_id=request_id, snapshot=snapshot)
    allowed = (OperationType.QUERY,) if request.method == "GET" else (OperationType.QUERY, OperationType.MUTATION)
    compiled_execution.set(settings.compiled_execution)
    try:
        result = await asyncio.wait_for(
            state.schema.execute(
                document.text,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            ),
            timeout=settings.execution_timeout_seconds,
        )
    except InvalidOperationTypeError as error:
        note_outcome("request_error")
        refund = await metering.finish(BASE_COST)
        if error.operation_type == OperationType.SUBSCRIPTION:
            message = "Subscriptions are not supported; send a query or a mutation."
            return Outcome(_error_body(message, "BAD_REQUEST") | refund, 400)
        return Outcome(_error_body("Mutations must use POST.", "BAD_REQUEST") | refund, 405, {"Allow": "POST"})
    except TimeoutError:
        logger.warning(
            "operation timed out",
            extra={"request_id": request_id, "operation_name": params.operation_name, "timeout_seconds": settings.execution_timeout_seconds},
        )
        note_outcome("error")
        message = (
            f"The operation did not finish within {settings.execution_timeout_seconds:g} seconds "
            "(CONNECT_GATEWAY_EXECUTION_TIMEOUT_SECONDS) and was cancelled. A mutation may have been applied in part "
            "of its steps; read the objects again before retrying it."
        )
        # A cancelled operation keeps the estimate it was charged: its work was done.
        return Outcome(_error_body(message, "TIMEOUT") | metering.charged_in_full(), 504)
    finally:
        await snapshot.close()

    body: dict[str, Any] = {}
    request_error = isinstance(result, PreExecutionError) or (
        result.data is None and bool(result.errors) and all(error.path is None for error in result.errors)
    )
    if result.errors:
        body["errors"] = [
            format_error(error, request_id, params.operation_name, suggestions=settings.field_suggestions) for error in result.errors
        ]
    if not request_error:
        body["data"] = result.data
    body |= await metering.finish(_actual_cost(result, request_error, estimate))
    status = 400 if request_error and media_type == GRAPHQL_RESPONSE_JSON else 200
    if document.register and not request_error:
        await edge.persisted.register(document.text)

    # observe_graphql (app.observability) writes the one log line of the request.
    if request_error:
        note_outcome("request_error")
    elif result.errors:
        note_outcome("error")
    else:
        note_outcome("ok")
    return Outcome(body, status)


def _actual_cost(result: Any, request_error: bool, estimate: Estimate) -> int:
    """Return what an executed operation costs.

    A field error can null a parent and hide the work done below it from the count, so an
    operation with field errors is charged at least its estimate.
    """
    if request_error:
        return BASE_COST
    counted = actual_cost(result.data, estimate.mutation_fields)
    return max(counted, estimate.cost) if result.errors else counted


@dataclass(frozen=True)
class Rejection:
    message: str
    code: str
    extensions: dict[str, Any] = field(default_factory=dict)


def _check_document(edge: "EdgeServices", state: AppState, text: str, params: OperationParams) -> tuple[Rejection | None, Estimate]:
    """Say why the document may not run, checking the operation name, limits and introspection before any resolver.

    Also return the operation's estimated cost, which is the base cost for a document
    that does not parse.
    """
    parsed = edge.parser.parse(text)
    exceeded = token_limit_error(parsed, edge.limits)
    estimate = Estimate(BASE_COST, 0)
    if exceeded is None and parsed.document is not None:
        selection_error = operation_selection_error(parsed.document, params.operation_name)
        if selection_error is not None:
            return Rejection(selection_error, "BAD_REQUEST"), estimate
        try:
            estimate = check_operation(state.schema._schema, parsed.document, params.operation_name, params.variables, edge.limits)
        except LimitExceeded as error:
            exceeded = error
    if exceeded is None and state.rate_limiter is not None:
        exceeded = cost_limit_error(estimate.cost, state.rate_limiter.policy.max_cost)
    if exceeded is not None:
        return Rejection(exceeded.message, LIMIT_EXCEEDED, {"limit": exceeded.limit}), estimate
    if not state.settings.introspection_allowed:
        errors = introspection_errors(state.schema._schema, parsed)
        if errors:
            message = f"{errors[0].message} Introspection is off; set CONNECT_GATEWAY_INTROSPECTION=true to allow it."
            return Rejection(message, "INTROSPECTION_DISABLED"), estimate
    # A syntax error other than the token limit is left to Strawberry, which reports it.
    return None, estimate


@dataclass(frozen=True)
class EdgeServices:
    """Per-application helpers of the endpoint, created on the first request."""

    limits: Limits
    parser: DocumentParser
    persisted: PersistedQueries


def edge_services(app: Any, state: AppState) -> EdgeServices:
    edge = getattr(app.state, "graphql_edge", None)
    if edge is None:
        settings = state.settings
        edge = EdgeServices(
            limits=Limits.from_settings(settings),
            parser=DocumentParser(settings.max_tokens, settings.parse_cache_characters),
            persisted=PersistedQueries(state.services.database, settings.persisted_queries, settings.persisted_query_cache_characters),
        )
        app.state.graphql_edge = edge
    return edge
