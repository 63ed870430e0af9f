"""Application state, built once at start-up and read by every request."""

from dataclasses import dataclass

import strawberry

from app.settings import Settings
from resolvers.context import Services
from resolvers.rate_limits import RateLimiter


@dataclass(frozen=True)
class AppState:
    settings: Settings
    services: Services
    schema: strawberry.Schema
    # None when CONNECT_GATEWAY_RATE_LIMIT_ENABLED is false.
    rate_limiter: RateLimiter | None = None
