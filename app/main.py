"""The ASGI application: `app.main:app`."""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.graphiql import graphiql_routes
from app.graphql_http import graphql_endpoint
from app.logs import configure_logging
from app.metrics import install_loader_hook, mark_process_stopped, metrics_endpoint, multiprocess_enabled, track_pool
from app.observability import observe_graphql, observe_operations
from app.rest import create_http_connector_endpoint
from app.settings import Settings, load_settings
from app.state import AppState
from app.test_hooks import hook_routes
from app.tracing import configure_tracing
from db.engine import Database
from db.migrate import current_revision, head_revision
from resolvers.context import Services
from resolvers.rate_limits import BucketPolicy, RateLimiter, RateLimitPolicy
from resolvers.secrets import SecretBox
from schema.schema import schema

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("app")


def build_state(settings: Settings) -> AppState:
    database = Database(settings.resolved_database_url())
    services = Services(database=database, secret_box=SecretBox(settings.secret_keys()))
    return AppState(settings=settings, services=services, schema=schema, rate_limiter=_rate_limiter(settings, database))


def _rate_limiter(settings: Settings, database: Database) -> RateLimiter | None:
    if not settings.rate_limit_enabled:
        return None
    policy = RateLimitPolicy(
        per_key=BucketPolicy(settings.rate_limit_key_capacity, settings.rate_limit_key_refill_per_second),
        per_organisation=BucketPolicy(settings.rate_limit_organisation_capacity, settings.rate_limit_organisation_refill_per_second),
    )
    return RateLimiter(database, policy)


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    state: AppState = request.app.state.gateway
    try:
        revision = await current_revision(state.services.database.engine)
    except Exception:
        logger.warning("readiness check could not reach the database", exc_info=True)
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503)
    if revision != head_revision():
        return JSONResponse({"status": "unavailable", "reason": "database schema is not at the latest migration; run `connect-gateway migrate`"}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, *, span_exporter: "SpanExporter | None" = None) -> Starlette:
    """Build the app; raise SettingsError for settings that are invalid or unsafe in production.

    `span_exporter` replaces the OTLP exporter when tracing is enabled, for tests.
    """
    settings = settings or load_settings()
    settings.validate_for_start()
    configure_logging(settings.log_level)
    state = build_state(settings)
    tracing = configure_tracing(settings, span_exporter)
    install_loader_hook()
    observe_operations(state.schema)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        process = {"pid": os.getpid()}
        stop_pool_tracking = track_pool(state.services.database.engine)
        logger.info(
            "gateway starting",
            extra={
                **process,
                "database": state.services.database.dialect,
                "env": settings.env,
                "tracing": tracing is not None,
                "metrics_multiprocess": multiprocess_enabled(),
            },
        )
        try:
            yield
        finally:
            logger.info("gateway stopping", extra=process)
            await state.services.database.dispose()
            stop_pool_tracking()
            if tracing is not None:
                tracing.shutdown()
            mark_process_stopped()
            logger.info("gateway stopped", extra=process)

    routes = [
        Route("/graphql", observe_graphql(graphql_endpoint), methods=["GET", "POST"]),
        Route("/api/connect/v1/o/{organisation_id}/protocols/http/connectors", create_http_connector_endpoint, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        *graphiql_routes(),
    ]
    if settings.test_hooks_active:
        routes += hook_routes()
    application = Starlette(routes=routes, lifespan=lifespan, debug=settings.debug)
    application.state.gateway = state
    application.state.tracing = tracing
    return application


def __getattr__(name: str) -> Starlette:
    # Build the app on first access, so importing this module for tests or tools does not
    # read the environment or create a database.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
