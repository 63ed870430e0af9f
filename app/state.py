"""Application state, built once at start-up and read by every request."""

from dataclasses import dataclass

import strawberry

from app.settings import Settings
from resolvers.context import Services


@dataclass(frozen=True)
class AppState:
    settings: Settings
    services: Services
    schema: strawberry.Schema
