"""Gateway servers in their own processes, for tests that kill them or run several at once.

Each process runs `python -m uvicorn app.main:app` on a loopback port, with its output in a
log file that failure messages quote.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET_KEY, free_port

REPOSITORY = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
LOG_TAIL_CHARACTERS = 4000


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def log_tail(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARACTERS:]

    def wait_until(self, path: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Poll GET `path` until it returns 200; raise if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gateway exited with code {self.process.returncode}; log:\n{self.log_tail()}")
                try:
                    if client.get(self.url + path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"gateway at {self.url} did not answer {path} within {timeout} s; log:\n{self.log_tail()}")
                time.sleep(0.05)

    def kill(self) -> None:
        """Send SIGKILL, so the process gets no chance to finish requests or close files."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Ask the process to shut down (SIGTERM) and kill it if it has not exited in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()


def spawn_gateway(
    database_url: str, log_path: Path, *, secret_key: str = TEST_SECRET_KEY, settings: dict[str, str] | None = None
) -> GatewayProcess:
    """Start a gateway process without waiting for it; the caller polls with `wait_until`.

    `settings` adds CONNECT_GATEWAY_* variables, given without the prefix.
    """
    port = free_port()
    environment = os.environ | {
        "CONNECT_GATEWAY_DATABASE_URL": database_url,
        "CONNECT_GATEWAY_SECRET_KEY": secret_key,
        "CONNECT_GATEWAY_LOG_LEVEL": os.environ.get("CONNECT_GATEWAY_LOG_LEVEL", "WARNING"),
    }
    environment |= {f"CONNECT_GATEWAY_{name.upper()}": value for name, value in (settings or {}).items()}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, env=environment, cwd=REPOSITORY, stdout=log, stderr=subprocess.STDOUT)
    return GatewayProcess(process, f"http://127.0.0.1:{port}", log_path)

