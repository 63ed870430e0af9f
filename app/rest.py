"""The REST façade of CreateHTTPConnector.

`POST /api/connect/v1/o/{organisation_id}/protocols/http/connectors` runs the same resolver
as the GraphQL mutation `createHTTPConnector`. It returns 201 with the HTTPConnector body,
or the Error body `{code, message, fields, details}` with the status of its code.

The checks run in a fixed order: API key (401), organisation id (400, then 404),
Content-Type (415), body size (413), JSON syntax (400), then the body itself (400). The body
of a request for an organisation that the caller may not act for is never read. Transport
failures (413, 415 and malformed JSON) use the code INVALID_ARGUMENT.
"""

import logging
import time
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from app.auth import authenticate
from app.cost import REST_CREATE_COST
from app.media import declares_utf8
from app.rest_json import connector_json, read_create_body
from app.state import AppState
from resolvers.connectors import create_http_connector, require_organisation
from resolvers.context import Caller
from resolvers.errors import HTTP_STATUS, DomainError, ErrorCode, FieldError
from resolvers.ids import ULID_HINT, new_id, parse_ulid
from resolvers.trees import load_connector_tree

logger = logging.getLogger("app.rest")

JSON = "application/json"


class TransportError(Exception):
    """A request the endpoint rejects before reading its content: HTTP status and message."""

    def __init__(self, status: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def error_body(code: ErrorCode, message: str, fields: list[FieldError] | None = None, details: str = "") -> dict[str, Any]:
    return {
        "code": code.value,
        "message": message,
        "fields": [{"field": item.field, "message": item.message} for item in fields or []],
        "details": details,
    }


def _json_response(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def _check_content_type(request: Request) -> None:
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    if media_type.strip().lower() != JSON:
        raise TransportError(415, "The request body must have Content-Type: application/json.")
    if not declares_utf8(parameters):
        raise TransportError(415, "The request body must be UTF-8; send charset=utf-8 or no charset.")


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = f"The request body is larger than {limit} bytes (CONNECT_GATEWAY_MAX_BODY_BYTES)."
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TransportError(413, too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TransportError(413, too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        # orjson reports the position of the problem, never the text around it.
        raise TransportError(400, "The request body is not valid JSON.", details=str(error)) from None
    if not isinstance(parsed, dict):
        raise TransportError(400, "The request body must be a JSON object (HTTPConnectorCreate).")
    return parsed


def _organisation_id(request: Request) -> str:
    organisation_id = parse_ulid(request.path_params["organisation_id"])
    if organisation_id is None:
        message = f"{ULID_HINT}."
        raise DomainError(ErrorCode.INVALID_ARGUMENT, f"organisation_id in the path {message}", [FieldError("organisation_id", message)])
    return organisation_id


async def _create(request: Request, state: AppState, log_facts: dict[str, str]) -> Response:
    """Create the connector, or raise; `log_facts` receives the caller and organisation."""
    caller = await authenticate(request, state)
    if caller is None:
        return _json_response(
            error_body(ErrorCode.UNAUTHENTICATED, "Authentication required: send Authorization: Bearer <API key>."),
            401,
            {"WWW-Authenticate": 'Bearer realm="connect-gateway"'},
        )
    log_facts["caller"] = caller.subject
    organisation_id = _organisation_id(request)
    log_facts["organisation_id"] = organisation_id
    require_organisation(caller, organisation_id)
    rejection = await _charge(state, caller)
    if rejection is not None:
        return rejection

    _check_content_type(request)
    body = read_create_body(_parse_json(await _read_body(request, state.settings.max_body_bytes)))
    body.raise_if_invalid()
    try:
        row = await create_http_connector(state.services, caller, organisation_id, body.spec)
    except DomainError as error:
        raise body.client_error(error) from None

    tree = await load_connector_tree(state.services, caller, row.id)
    if tree is None:
        raise LookupError(f"connector {row.id} was created but cannot be read back")
    return _json_response(connector_json(tree), 201)


async def _charge(state: AppState, caller: Caller) -> Response | None:
    """Charge the request to the caller's rate-limit buckets; return the 429 response when one is short."""
    if state.rate_limiter is None:
        return None
    charge = await state.rate_limiter.charge(caller, REST_CREATE_COST)
    if charge.granted:
        return None
    wait = charge.retry_after_seconds
    message = f"Rate limit reached: this request costs {REST_CREATE_COST} tokens and the caller's bucket refills enough in {wait} seconds."
    body = error_body(ErrorCode.RESOURCE_EXHAUSTED, message, details=f"retry after {wait} seconds")
    return _json_response(body, HTTP_STATUS[ErrorCode.RESOURCE_EXHAUSTED], {"Retry-After": str(wait)})


async def create_http_connector_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.gateway
    request_id = request.headers.get("x-request-id", "")[:64] or new_id()
    started = time.perf_counter()
    log_facts: dict[str, str] = {}
    try:
        response = await _create(request, state, log_facts)
    except DomainError as error:
        log_facts["code"] = error.code.value
        response = _json_response(error_body(error.code, error.message, error.fields, error.details), HTTP_STATUS[error.code])
    except TransportError as error:
        log_facts["code"] = ErrorCode.INVALID_ARGUMENT.value
        response = _json_response(error_body(ErrorCode.INVALID_ARGUMENT, error.message, details=error.details), error.status)
    except ClientDisconnect:
        # The client is gone, so this response is never sent; its status only labels the log line.
        log_facts["code"] = "CLIENT_DISCONNECTED"
        response = Response(status_code=400)
    except Exception as error:
        error_id = new_id()
        log_facts["code"] = ErrorCode.INTERNAL.value
        logger.error("unexpected error in REST request", exc_info=error, extra={"error_id": error_id, "request_id": request_id, **log_facts})
        message = f"Internal error; quote error id {error_id} when reporting it."
        response = _json_response(error_body(ErrorCode.INTERNAL, message, details=f"error id {error_id}"), 500)

    response.headers["X-Request-Id"] = request_id
    logger.info(
        "rest request",
        extra={
            "request_id": request_id,
            **log_facts,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return response
