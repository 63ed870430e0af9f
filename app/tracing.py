"""OpenTelemetry tracing: one server span per GraphQL request, exported over OTLP/HTTP.

Nothing from opentelemetry is imported unless CONNECT_GATEWAY_OTEL_ENABLED is true, because
the SDK and the exporter take several hundred milliseconds to import (measured with
`python -X importtime` on a 2-core machine).
The span never carries the GraphQL document or variables: either may contain a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

logger = logging.getLogger("app.tracing")

TRACER_NAME = "connect_gateway"
# As the OpenTelemetry semantic conventions for GraphQL server spans recommend, a span is named
# after the operation type only, because client-chosen operation names would make span names
# unbounded. This is the name for requests whose operation type is unknown.
UNKNOWN_OPERATION_SPAN_NAME = "GraphQL Operation"
# Outcomes that mean the gateway failed, as opposed to the caller sending a bad request.
SERVER_ERROR_OUTCOMES = frozenset({"internal_error"})


class Tracing:
    """A tracer provider of this app, kept off the global OpenTelemetry provider.

    Keeping it per app lets tests build several apps in one process, each with its own exporter.
    """

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer(TRACER_NAME)

    def start_request_span(self, headers: Mapping[str, str]) -> Span:
        """Start a server span, continuing the caller's trace when a W3C traceparent header is sent."""
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind

        parent = propagate.extract(dict(headers))
        return self._tracer.start_span(UNKNOWN_OPERATION_SPAN_NAME, context=parent, kind=SpanKind.SERVER)

    def end_request_span(
        self,
        span: Span,
        *,
        request_id: str,
        organisation_ids: Sequence[str],
        operation_name: str | None,
        operation_type: str | None,
        outcome: str,
        status_code: int,
    ) -> None:
        from opentelemetry.trace import Status, StatusCode

        if operation_type:
            span.update_name(operation_type)
        attributes: dict[str, Any] = {
            "connect_gateway.request_id": request_id,
            "connect_gateway.organisation_ids": list(organisation_ids),
            "connect_gateway.outcome": outcome,
            "http.response.status_code": status_code,
        }
        if operation_type:
            attributes["graphql.operation.type"] = operation_type
        if operation_name:
            attributes["graphql.operation.name"] = operation_name
        span.set_attributes(attributes)
        if outcome in SERVER_ERROR_OUTCOMES:
            span.set_status(Status(StatusCode.ERROR, outcome))
        span.end()

    def force_flush(self) -> bool:
        return self._provider.force_flush()

    def shutdown(self) -> None:
        """Export the spans still queued, then stop the exporter."""
        self._provider.shutdown()


def configure_tracing(settings: Settings, exporter: SpanExporter | None = None) -> Tracing | None:
    """Build the tracer provider when tracing is enabled; return None otherwise.

    `exporter` replaces the OTLP/HTTP exporter, which is how tests collect spans in memory.
    """
    if not settings.otel_enabled:
        return None

    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # With no endpoint the exporter reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
        # OTEL_EXPORTER_OTLP_ENDPOINT, then falls back to http://localhost:4318/v1/traces.
        exporter = OTLPSpanExporter(endpoint=settings.otel_exporter_endpoint or None)

    # ParentBased keeps the sampling decision of a caller that sends a traceparent header and
    # applies the ratio only to traces that start here.
    sampler = ParentBased(TraceIdRatioBased(settings.otel_sampler_ratio))
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}), sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    logger.info(
        "tracing enabled",
        extra={
            "sampler_ratio": settings.otel_sampler_ratio,
            "exporter": type(exporter).__name__,
            "endpoint": settings.otel_exporter_endpoint or None,
        },
    )
    return Tracing(provider)
