"""Settings, read once from CONNECT_GATEWAY_* environment variables."""

import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("data")
SECRET_KEY_FILE_NAME = "secret-key"
ENV_PREFIX = "CONNECT_GATEWAY_"
ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PERSISTED_QUERY_MODES = ("off", "automatic", "allowlist")
# HKDF derives each encryption key from a configured key with no salt, so a short key is a
# weak key. `secrets.token_urlsafe(32)` gives 43 characters.
MIN_PRODUCTION_KEY_LENGTH = 32
# Bounds of the rate-limit settings: a trillion tokens is far beyond any real bucket and
# still exact in a float column, and a slower refill than one token in 1,000 seconds would
# make Retry-After waits of days.
MAX_BUCKET_TOKENS = 10**12
MIN_REFILL_PER_SECOND = 0.001


class SettingsError(Exception):
    """A setting is missing or unsafe; the message names the variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    env: str = Field(default="development", description="development or production")
    database_url: str = Field(default="", description="SQLAlchemy async URL; empty means data/connect-gateway.db")
    secret_key: SecretStr | None = Field(default=None, description="Key(s) that encrypt credentials, comma-separated; the first encrypts")
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    # NOTE: 1 MiB is an estimate of the largest connector definition a client sends, not a measured bound.
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, description="Largest request body in bytes; larger bodies get HTTP 413")
    max_query_depth: int = Field(default=10, gt=0, description="Deepest nesting of fields in an operation, fragments included")
    max_aliases: int = Field(default=15, ge=0, description="Most aliased fields in an operation, counted once per use of a fragment")
    max_tokens: int = Field(default=2000, gt=0, description="Most lexical tokens in a GraphQL document; the parser stops at the limit")
    max_root_fields: int = Field(default=10, gt=0, description="Most fields selected at the top level of an operation")
    max_batch_operations: int = Field(default=0, ge=0, description="Most operations in a batched request (a JSON array body). 0 turns batching off")
    # The resolvers reject sizes over 100 themselves (resolvers.pagination.MAX_PAGE_SIZE), so this can only lower it.
    max_page_size: int = Field(default=100, gt=0, le=100, description="Largest `first` or `last` argument of a paginated field")
    max_nodes: int = Field(default=10_000, gt=0, description="Most list nodes an operation may return, computed before execution from page sizes")
    rate_limit_enabled: bool = Field(default=True, description="Charge every request its cost from token buckets per API key and per organisation; HTTP 429 when one is empty")
    # NOTE: the defaults are a starting point, not a measured fit: a full tree of 100 connectors
    # is estimated at about 110,000 tokens and usually costs 2,000 to 5,000 once counted.
    rate_limit_key_capacity: int = Field(
        default=250_000, gt=0, le=MAX_BUCKET_TOKENS, description="Tokens an API key's bucket contains when full, which also caps the cost of one request"
    )
    rate_limit_key_refill_per_second: float = Field(
        default=2_500, ge=MIN_REFILL_PER_SECOND, le=MAX_BUCKET_TOKENS, allow_inf_nan=False, description="Tokens an API key's bucket regains per second"
    )
    rate_limit_organisation_capacity: int = Field(
        default=1_000_000, gt=0, le=MAX_BUCKET_TOKENS, description="Tokens an organisation's bucket, shared by all its keys, contains when full"
    )
    rate_limit_organisation_refill_per_second: float = Field(
        default=10_000,
        ge=MIN_REFILL_PER_SECOND,
        le=MAX_BUCKET_TOKENS,
        allow_inf_nan=False,
        description="Tokens an organisation's bucket regains per second",
    )
    execution_timeout_seconds: float = Field(default=10, gt=0, description="Seconds an operation may run before it is cancelled with HTTP 504")
    introspection: bool | None = Field(default=None, description="Allow introspection queries. Unset means on in development and off in production")
    persisted_queries: str = Field(default="automatic", description="off, automatic (automatic persisted queries) or allowlist (only registered documents run)")
    parse_cache_characters: int = Field(
        default=256 * 1024, ge=0, description="Total length in characters of the parsed documents kept for the limit checks (least recently used first out)"
    )
    persisted_query_cache_characters: int = Field(
        default=256 * 1024, ge=0, description="Total length in characters of the persisted query documents kept in memory per process"
    )
    compiled_execution: bool = Field(default=True, description="Serve supported queries from compiled plans instead of graphql-core's executor")
    outbound_allow_private: bool = Field(default=False, description="Let outbound requests reach loopback, private and link-local addresses (never cloud metadata). For development and tests")
    debug: bool = Field(default=False, description="Starlette debug mode, which puts tracebacks in HTTP 500 responses. Rejected in production")
    allow_sqlite_in_production: bool = Field(default=False, description="Accept SQLite in production, which suits a deployment on one host only")
    test_hooks: bool = Field(default=False, description="Mount the /_test/ routes that tests use. Rejected in production")
    shutdown_timeout_seconds: float = Field(
        default=30, gt=0, description="Seconds `serve` waits for in-flight requests after SIGTERM before closing them"
    )
    otel_enabled: bool = Field(default=False, description="Export OpenTelemetry traces, one span per GraphQL operation")
    otel_sampler_ratio: float = Field(default=1.0, ge=0, le=1, description="Fraction of the traces started here that are sampled. A caller's traceparent decision is kept")
    otel_exporter_endpoint: str = Field(
        default="", description="OTLP/HTTP traces URL. Empty means the OTEL_EXPORTER_OTLP_* variables or http://localhost:4318/v1/traces"
    )
    otel_service_name: str = Field(default="connect-gateway", min_length=1, description="service.name resource attribute of exported spans")

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: str) -> str:
        environment = value.strip().lower()
        if environment not in ENVIRONMENTS:
            raise ValueError(f"{ENV_PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, not {value!r}.")
        return environment

    @field_validator("persisted_queries")
    @classmethod
    def _check_persisted_queries(cls, value: str) -> str:
        mode = value.strip().lower()
        if mode not in PERSISTED_QUERY_MODES:
            raise ValueError(f"{ENV_PREFIX}PERSISTED_QUERIES must be one of {', '.join(PERSISTED_QUERY_MODES)}, not {value!r}.")
        return mode

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value:
            try:
                make_url(value)
            except ArgumentError:
                # The URL is left out of the message because it may contain a password.
                raise ValueError(f"{ENV_PREFIX}DATABASE_URL is not a valid SQLAlchemy URL such as postgresql+asyncpg://user:password@host/db.") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{ENV_PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}.")
        return level

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # SecretStr masks the keys; the database URL may carry a password too.
        for name, value in super().__repr_args__():
            if name == "database_url" and value:
                value = make_url(value).render_as_string(hide_password=True)
            yield name, value

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def validate_for_start(self) -> None:
        """Raise SettingsError listing every setting that makes starting the server unsafe."""
        problems = self.production_problems() if self.is_production else []
        if problems:
            raise SettingsError(f"Unsafe settings for {ENV_PREFIX}ENV=production. " + " ".join(problems))

    def production_problems(self) -> list[str]:
        """Return one message per setting that production rejects, each naming the variable to fix."""
        problems = []
        keys = self._configured_keys()
        if not keys:
            problems.append(f"{ENV_PREFIX}SECRET_KEY is missing. Set it to one or more comma-separated random keys.")
        short = [position for position, key in enumerate(keys, start=1) if len(key) < MIN_PRODUCTION_KEY_LENGTH]
        if short:
            problems.append(
                f"{ENV_PREFIX}SECRET_KEY contains keys shorter than {MIN_PRODUCTION_KEY_LENGTH} characters "
                f"(position {', '.join(map(str, short))} in the comma-separated list). Generate each key with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )
        if self.debug:
            problems.append(f"{ENV_PREFIX}DEBUG is true. Set it to false, because debug responses include tracebacks.")
        if self.test_hooks:
            problems.append(f"{ENV_PREFIX}TEST_HOOKS is true. Set it to false.")
        if make_url(self.resolved_database_url()).get_backend_name() == "sqlite" and not self.allow_sqlite_in_production:
            problems.append(
                f"{ENV_PREFIX}DATABASE_URL is SQLite. Set a PostgreSQL URL (postgresql+asyncpg://...), or set "
                f"{ENV_PREFIX}ALLOW_SQLITE_IN_PRODUCTION=true for a deployment on a single host."
            )
        return problems

    @property
    def introspection_allowed(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def field_suggestions(self) -> bool:
        """Whether error messages may suggest field and type names ("Did you mean ...?")."""
        return self.env == "development"

    @property
    def test_hooks_active(self) -> bool:
        return self.test_hooks and not self.is_production

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(DEFAULT_DATA_DIR / 'connect-gateway.db').resolve()}"

    def secret_keys(self) -> list[str]:
        """Return the configured keys; in development, create a key file beside the database."""
        keys = self._configured_keys()
        if keys:
            return keys
        if self.is_production:
            raise SettingsError("CONNECT_GATEWAY_SECRET_KEY is required when CONNECT_GATEWAY_ENV=production.")
        return [_development_key(self._key_directory())]

    def _configured_keys(self) -> list[str]:
        if self.secret_key is None:
            return []
        return [key.strip() for key in self.secret_key.get_secret_value().split(",") if key.strip()]

    def _key_directory(self) -> Path:
        url = make_url(self.resolved_database_url())
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).resolve().parent
        return DEFAULT_DATA_DIR.resolve()


def _development_key(directory: Path) -> str:
    """Read the development key file, creating it with mode 0600 on first use."""
    path = directory / SECRET_KEY_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    logger.info("created development secret key file", extra={"path": str(path)})
    return key


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into a SettingsError that names each variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(" ".join(_describe(item) for item in error.errors())) from None


def _describe(error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else "?"
    variable = f"{ENV_PREFIX}{field.upper()}"
    message = error["msg"].removeprefix("Value error, ")
    # The submitted value is left out, because a mistyped variable may hold a secret.
    return message if message.startswith(variable) else f"{variable} is invalid: {message}."
