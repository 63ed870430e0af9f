"""Run wrk (Debian package `wrk`) against one URL with a fixed POST body and parse its results.

wrk is a C load generator on one epoll thread, so on a 2-core machine it takes far less CPU from
the server under test than a Python client would, and it keeps every request in one HTTP/1.1
keep-alive connection. Bodies and the API key reach it through bench/wrk_post.lua.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk_post.lua")
RESULT_PREFIX = "WRK_RESULT "
# wrk counts a request that takes longer than its timeout (2 s by default) as an error and drops
# its latency, and a 100-connector tree under load can take far longer.
REQUEST_TIMEOUT = "600s"
# Whole seconds of responses needed before the steady-state rate replaces requests/duration.
MIN_STEADY_SECONDS = 3


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    steady_requests_per_second: float
    steady_seconds: int

    @property
    def requests_per_second(self) -> float:
        """Return the steady-state rate, or completed requests over the duration for short runs."""
        if self.steady_seconds >= MIN_STEADY_SECONDS:
            return self.steady_requests_per_second
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed; install it with `apt-get install wrk` (Debian) and run again.")
    return path


def run_wrk(url: str, body_path: Path, api_key: str, connections: int, seconds: float) -> LoadResult:
    """Send the body to `url` over `connections` keep-alive connections for `seconds`."""
    command = [
        wrk_path(),
        "--threads", "1",
        "--connections", str(connections),
        "--duration", f"{max(1, round(seconds))}s",
        "--timeout", REQUEST_TIMEOUT,
        "--script", str(SCRIPT),
        url,
        "--",
        str(body_path),
        api_key,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed with exit code {completed.returncode}: {completed.stderr.strip()}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise RuntimeError(f"wrk printed no {RESULT_PREFIX.strip()} line; output was:\n{completed.stdout}")
    raw = json.loads(lines[-1][len(RESULT_PREFIX) :])
    latency = raw["latency_us"]
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=sum(raw["errors"].values()),
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        steady_requests_per_second=raw["steady_requests_per_second"],
        steady_seconds=raw["steady_seconds"],
    )
