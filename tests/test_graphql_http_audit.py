"""The graphql-http audit suite (npm package graphql-http) finds no error or warning at /graphql."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LiveServer, Tenant

AUDIT_DIR = Path(__file__).parent / "audit"
AUDIT_TIMEOUT_SECONDS = 120


def audit_command() -> list[str]:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed; install Node.js 18 or later"
    elif not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        missing = "tests/audit/node_modules is missing; run scripts/install-assets.sh"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    return [str(node), str(AUDIT_DIR / "audit.mjs")]


def run_audit(server: LiveServer, api_key: str) -> list[dict[str, str]]:
    environment = os.environ | {"CONNECT_GATEWAY_AUDIT_API_KEY": api_key}
    completed = subprocess.run(
        [*audit_command(), server.graphql_url],
        capture_output=True,
        text=True,
        env=environment,
        cwd=AUDIT_DIR,
        timeout=AUDIT_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_audit_reports_no_errors_or_warnings(server: LiveServer, tenant: Tenant) -> None:
    results = run_audit(server, tenant.api_key)

    errors = [result for result in results if result["status"] == "error"]
    warnings = [result for result in results if result["status"] == "warn"]
    passes = [result for result in results if result["status"] == "ok"]
    assert errors == []
    assert warnings == []
    assert len(passes) == len(results)
    assert len(passes) > 0
