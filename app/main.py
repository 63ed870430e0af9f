"""The ASGI application: `app.main:app`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.graphiql import graphiql_routes
from app.graphql_http import graphql_endpoint
from app.logs import configure_logging
from app.rest import create_http_connector_endpoint
from app.settings import Settings, load_settings
from app.state import AppState
from app.test_hooks import hook_routes
from db.engine import Database
from db.migrate import current_revision, head_revision
from resolvers.context import Services
from resolvers.secrets import SecretBox
from schema.schema import schema

logger = logging.getLogger("app")


def build_state(settings: Settings) -> AppState:
    database = Database(settings.resolved_database_url())
    services = Services(database=database, secret_box=SecretBox(settings.secret_keys()))
    return AppState(settings=settings, services=services, schema=schema)


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


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; raise SettingsError for settings that are invalid or unsafe in production."""
    settings = settings or load_settings()
    settings.validate_for_start()
    configure_logging(settings.log_level)
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        logger.info("gateway starting", extra={"database": state.services.database.dialect, "env": settings.env})
        yield
        await state.services.database.dispose()
        logger.info("gateway stopped")

    routes = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        Route("/api/connect/v1/o/{organisation_id}/protocols/http/connectors", create_http_connector_endpoint, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *graphiql_routes(),
    ]
    if settings.test_hooks_active:
        routes += hook_routes()
    application = Starlette(routes=routes, lifespan=lifespan, debug=settings.debug)
    application.state.gateway = state
    return application


def __getattr__(name: str) -> Starlette:
    # Build the app on first access, so importing this module for tests or tools does not
    # read the environment or create a database.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
