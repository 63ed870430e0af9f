"""Settings, read once from CONNECT_GATEWAY_* environment variables."""

import logging
import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("data")
SECRET_KEY_FILE_NAME = "secret-key"


class SettingsError(Exception):
    """A setting is missing or unsafe; the message names the variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECT_GATEWAY_", extra="ignore")

    env: str = Field(default="development", description="development or production")
    database_url: str = Field(default="", description="SQLAlchemy async URL; empty means data/connect-gateway.db")
    secret_key: SecretStr | None = Field(default=None, description="Key(s) that encrypt credentials, comma-separated; the first encrypts")
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    # Large enough for any valid connector definition; larger bodies get HTTP 413.
    max_body_bytes: int = 16 * 1024 * 1024

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(DEFAULT_DATA_DIR / 'connect-gateway.db').resolve()}"

    def secret_keys(self) -> list[str]:
        """Return the configured keys; in development, create a key file beside the database."""
        if self.secret_key is not None and self.secret_key.get_secret_value().strip():
            return [key.strip() for key in self.secret_key.get_secret_value().split(",") if key.strip()]
        if self.is_production:
            raise SettingsError("CONNECT_GATEWAY_SECRET_KEY is required when CONNECT_GATEWAY_ENV=production.")
        return [_development_key(self._key_directory())]

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
