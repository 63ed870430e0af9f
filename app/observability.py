"""One log line, one metrics sample and one trace span per GraphQL request.

`observe_graphql` wraps the /graphql endpoint. The endpoint and a Strawberry extension fill in
the `GraphQLRequestRecord` of the current request (caller, operation, outcome) through a context
variable, and the wrapper reports it once the response is ready, whichever way the endpoint
returned. Neither the document nor the variables are recorded, since both may hold secrets.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from app.metrics import record_graphql_request
from app.tracing import Tracing
from resolvers.context import Caller
from resolvers.ids import new_id

logger = logging.getLogger("app.graphql")

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 64
# The log line cuts operation names to this many characters.
MAX_LOGGED_NAME_LENGTH = 100
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass
class GraphQLRequestRecord:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    organisation_ids: list[str] = field(default_factory=list)
    subject: str | None = None
    operation_name: str | None = None
    operation_type: str | None = None
    outcome: str | None = None


_current: ContextVar[GraphQLRequestRecord | None] = ContextVar("graphql_request_record", default=None)


def _request_id_from(request: Request) -> str:
    return request.headers.get(REQUEST_ID_HEADER, "")[:MAX_REQUEST_ID_LENGTH] or new_id()


def request_id_for(request: Request) -> str:
    """Return the id of the current request: the caller's X-Request-Id (cut to 64 characters) or a new ULID."""
    record = _current.get()
    return record.request_id if record is not None else _request_id_from(request)


def note_caller(caller: Caller) -> None:
    record = _current.get()
    if record is not None:
        record.subject = caller.subject
        record.organisation_ids = sorted(caller.organisation_ids)


def note_outcome(outcome: str) -> None:
    """Set the outcome of an executed operation: ok, error (field errors) or request_error."""
    record = _current.get()
    if record is not None:
        record.outcome = outcome


class OperationObserver(SchemaExtension):
    """Copy the operation name and type that Strawberry parsed into the current request record."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            record = _current.get()
            if record is not None:
                context = self.execution_context
                record.operation_name = context.operation_name
                try:
                    record.operation_type = context.operation_type.value
                except RuntimeError:
                    # The document did not parse, or operationName names no operation in it.
                    record.operation_type = None


def observe_operations(schema: strawberry.Schema) -> None:
    """Add OperationObserver to the schema's extensions, once.

    Strawberry (0.341) instantiates the classes in `Schema.extensions` on every execute, so an
    extension added after the schema was built takes effect from the next request on.
    """
    if OperationObserver not in schema.extensions:
        schema.extensions = (*schema.extensions, OperationObserver)


def _outcome_from_status(status_code: int) -> str:
    if status_code == 401:
        return "unauthenticated"
    if status_code >= 500:
        return "internal_error"
    if status_code >= 400:
        return "bad_request"
    return "ok"


def _internal_error_response(error_id: str, request_id: str) -> Response:
    body = {
        "errors": [
            {
                "message": f"Internal error; quote error id {error_id} when reporting it.",
                "extensions": {"code": "INTERNAL", "errorId": error_id},
            }
        ]
    }
    return Response(orjson.dumps(body), status_code=500, media_type="application/json", headers={"X-Request-Id": request_id})


def _is_graphiql_page(response: Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/html")


def observe_graphql(endpoint: Endpoint) -> Endpoint:
    """Wrap the GraphQL endpoint so each request gets one log line, one metrics sample and, with
    tracing on, one span. A GraphiQL page load gets only the span."""

    async def observed(request: Request) -> Response:
        record = GraphQLRequestRecord(request_id=_request_id_from(request))
        tracing: Tracing | None = getattr(request.app.state, "tracing", None)
        span = tracing.start_request_span(request.headers) if tracing is not None else None
        token = _current.set(record)
        try:
            response = await endpoint(request)
        except Exception as error:
            error_id = new_id()
            logger.error(
                "unexpected error in GraphQL request",
                exc_info=error,
                extra={"error_id": error_id, **_log_fields(record)},
            )
            record.outcome = "internal_error"
            response = _internal_error_response(error_id, record.request_id)
        finally:
            _current.reset(token)

        if _is_graphiql_page(response) and record.outcome is None:
            if span is not None:
                span.update_name("GraphiQL page")
                span.end()
            return response

        outcome = record.outcome or _outcome_from_status(response.status_code)
        record.outcome = outcome
        duration = time.perf_counter() - record.started
        record_graphql_request(_metric_name(record), record.operation_type, outcome, duration)
        if tracing is not None and span is not None:
            tracing.end_request_span(
                span,
                request_id=record.request_id,
                organisation_ids=record.organisation_ids,
                operation_name=record.operation_name,
                operation_type=record.operation_type,
                outcome=outcome,
                status_code=response.status_code,
            )
        logger.info(
            "graphql request",
            extra={**_log_fields(record), "status": response.status_code, "duration_ms": round(duration * 1000, 2)},
        )
        return response

    return observed


def _metric_name(record: GraphQLRequestRecord) -> str | None:
    # Only names of operations found in a parsed document become label values, so a request
    # that fails to parse cannot add one.
    return record.operation_name if record.operation_type is not None else None


def _log_fields(record: GraphQLRequestRecord) -> dict[str, Any]:
    name = record.operation_name
    return {
        "request_id": record.request_id,
        "caller": record.subject,
        "organisation_ids": record.organisation_ids,
        "operation_name": name[:MAX_LOGGED_NAME_LENGTH] if name else None,
        "operation_type": record.operation_type,
        "outcome": record.outcome,
    }
