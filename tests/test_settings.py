"""Settings validation, and the checks that stop an unsafe production start."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings, SettingsError, load_settings

PROJECT = Path(__file__).resolve().parent.parent
PRODUCTION_KEY = "k" * 43
POSTGRES_URL = "postgresql+asyncpg://gateway:db-password-canary@127.0.0.1:5432/gateway"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep CONNECT_GATEWAY_* variables of the shell or CI out of these tests."""
    for name in list(os.environ):
        if name.startswith("CONNECT_GATEWAY_"):
            monkeypatch.delenv(name)


def production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"env": "production", "database_url": POSTGRES_URL, "secret_key": PRODUCTION_KEY}
    return load_settings(**(values | overrides))


def start_error(settings: Settings) -> str:
    with pytest.raises(SettingsError) as raised:
        create_app(settings)
    return str(raised.value)


def test_production_with_safe_settings_starts() -> None:
    app = create_app(production())

    assert app.debug is False


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"secret_key": None}, "CONNECT_GATEWAY_SECRET_KEY"),
        ({"secret_key": " , "}, "CONNECT_GATEWAY_SECRET_KEY"),
        ({"secret_key": f"{PRODUCTION_KEY},short"}, "CONNECT_GATEWAY_SECRET_KEY"),
        ({"debug": True}, "CONNECT_GATEWAY_DEBUG"),
        ({"test_hooks": True}, "CONNECT_GATEWAY_TEST_HOOKS"),
        ({"database_url": ""}, "CONNECT_GATEWAY_DATABASE_URL"),
        ({"database_url": "sqlite+aiosqlite:////var/lib/gateway/gateway.db"}, "CONNECT_GATEWAY_DATABASE_URL"),
    ],
    ids=["no key", "blank key", "short key", "debug", "test hooks", "default sqlite", "sqlite url"],
)
def test_production_rejects_unsafe_setting(overrides: dict[str, Any], variable: str) -> None:
    message = start_error(production(**overrides))

    assert variable in message
    assert "CONNECT_GATEWAY_ENV=production" in message


def test_short_key_error_names_position() -> None:
    message = start_error(production(secret_key=f"{PRODUCTION_KEY},short"))

    assert "position 2" in message
    assert "short" not in message.replace("shorter", "")


def test_production_lists_every_problem() -> None:
    message = start_error(production(secret_key=None, debug=True, database_url=""))

    assert "CONNECT_GATEWAY_SECRET_KEY" in message
    assert "CONNECT_GATEWAY_DEBUG" in message
    assert "CONNECT_GATEWAY_DATABASE_URL" in message
    assert "CONNECT_GATEWAY_ALLOW_SQLITE_IN_PRODUCTION=true" in message


def test_production_sqlite_allowed_by_setting(tmp_path: Path) -> None:
    settings = production(database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", allow_sqlite_in_production=True)

    create_app(settings)


def test_development_accepts_debug_and_sqlite(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", debug=True)

    app = create_app(settings)

    assert app.debug is True


def test_production_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_GATEWAY_ENV", "production")
    monkeypatch.setenv("CONNECT_GATEWAY_DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("CONNECT_GATEWAY_DEBUG", "true")

    message = start_error(load_settings())

    assert "CONNECT_GATEWAY_SECRET_KEY is missing" in message
    assert "CONNECT_GATEWAY_DEBUG is true" in message


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CONNECT_GATEWAY_ENV", "staging", "CONNECT_GATEWAY_ENV must be one of development, production"),
        ("CONNECT_GATEWAY_LOG_LEVEL", "verbose", "CONNECT_GATEWAY_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("CONNECT_GATEWAY_PORT", "eighty", "CONNECT_GATEWAY_PORT is invalid"),
        ("CONNECT_GATEWAY_DEBUG", "maybe", "CONNECT_GATEWAY_DEBUG is invalid"),
        ("CONNECT_GATEWAY_OTEL_SAMPLER_RATIO", "1.5", "CONNECT_GATEWAY_OTEL_SAMPLER_RATIO is invalid"),
        ("CONNECT_GATEWAY_DATABASE_URL", "not a url", "CONNECT_GATEWAY_DATABASE_URL is not a valid SQLAlchemy URL"),
    ],
)
def test_invalid_value_names_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert expected in str(raised.value)


def test_env_and_log_level_normalised() -> None:
    settings = load_settings(env=" Production ", log_level="debug")

    assert settings.env == "production"
    assert settings.is_production
    assert settings.log_level == "DEBUG"


def test_repr_hides_key_and_password() -> None:
    settings = production(secret_key=f"{PRODUCTION_KEY},{'o' * 40}")

    for text in (repr(settings), str(settings)):
        assert PRODUCTION_KEY not in text
        assert "o" * 40 not in text
        assert "db-password-canary" not in text
        assert "127.0.0.1:5432/gateway" in text


def test_test_hooks_mounted_only_when_set(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"

    with_hooks = create_app(load_settings(database_url=database_url, secret_key=PRODUCTION_KEY, test_hooks=True))
    without_hooks = create_app(load_settings(database_url=database_url, secret_key=PRODUCTION_KEY))

    assert "/_test/sleep" in [route.path for route in with_hooks.routes]
    assert "/_test/sleep" not in [route.path for route in without_hooks.routes]


def run_command(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    variables = {name: value for name, value in os.environ.items() if not name.startswith("CONNECT_GATEWAY_")}
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=PROJECT,
        env=variables | environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_exits_2_on_unsafe_production() -> None:
    result = run_command("-m", "app.cli", "serve", CONNECT_GATEWAY_ENV="production", CONNECT_GATEWAY_DATABASE_URL=POSTGRES_URL)

    assert result.returncode == 2
    assert "CONNECT_GATEWAY_SECRET_KEY is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_invalid_env() -> None:
    result = run_command("-m", "app.cli", "export-schema", CONNECT_GATEWAY_ENV="prod")

    assert result.returncode == 2
    assert "CONNECT_GATEWAY_ENV must be one of development, production, not 'prod'" in result.stderr


def test_uvicorn_refuses_unsafe_production_app() -> None:
    result = run_command(
        "-m", "uvicorn", "app.main:app", "--port", "0", CONNECT_GATEWAY_ENV="production", CONNECT_GATEWAY_SECRET_KEY=PRODUCTION_KEY
    )

    assert result.returncode != 0
    assert "CONNECT_GATEWAY_DATABASE_URL is SQLite" in result.stderr
