"""Start and stop the gateway under uvicorn for the benchmark, and read its workers from /proc.

The server is the uvicorn command line over bench.server:create_bench_app, in its own process
group, bound to 127.0.0.1 on a free port. Peak memory and CPU time come from /proc, so this
module runs on Linux only.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPOSITORY = Path(__file__).resolve().parent.parent
UVICORN = Path(sys.executable).with_name("uvicorn")
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# The workers count as idle once they use less than this much CPU time in one interval.
IDLE_INTERVAL_SECONDS = 0.3
IDLE_CPU_SECONDS = 0.02
# Token-bucket sizes and refill rates of the GraphQL rate limiter, set so high that the
# benchmark load is never throttled while the limiter's bookkeeping still runs and is measured.
# Settings ignores unknown CONNECT_GATEWAY_* variables, so these are harmless on a build
# without the limiter.
UNTHROTTLED_RATE_LIMITS = {
    "CONNECT_GATEWAY_RATE_LIMIT_KEY_CAPACITY": "1000000000",
    "CONNECT_GATEWAY_RATE_LIMIT_KEY_REFILL_PER_SECOND": "1000000000",
    "CONNECT_GATEWAY_RATE_LIMIT_ORGANISATION_CAPACITY": "1000000000",
    "CONNECT_GATEWAY_RATE_LIMIT_ORGANISATION_REFILL_PER_SECOND": "1000000000",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time that a process has used so far."""
    # Fields after the command name, which is in parentheses and may contain spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND


def peak_resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def reset_peak_resident(pid: int) -> None:
    """Restart the VmHWM count of a process at its current resident size (Linux 4.0 and later)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class Server:
    """One uvicorn server process tree serving bench.server:create_bench_app."""

    def __init__(self, database_url: str, secret_key: str, workers: int, log_path: Path) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = os.environ | UNTHROTTLED_RATE_LIMITS | {
            "CONNECT_GATEWAY_DATABASE_URL": database_url,
            "CONNECT_GATEWAY_SECRET_KEY": secret_key,
            # One log line per request would be measured too; warnings and errors still show.
            "CONNECT_GATEWAY_LOG_LEVEL": "WARNING",
        }
        command = [
            str(UVICORN),
            "bench.server:create_bench_app",
            "--factory",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", str(workers),
            "--no-access-log",
            "--log-level", "warning",
        ]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=REPOSITORY, env=environment, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.log_path = log_path

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200 and len(self.worker_pids()) == self.workers:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"uvicorn did not respond to /healthz within {START_TIMEOUT_SECONDS} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """Return the processes that serve requests: uvicorn itself with one worker, else its workers."""
        if self.workers == 1:
            return [self.process.pid]
        workers = []
        for child in _children(self.process.pid):
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            # uvicorn's workers are multiprocessing spawn children; skip the resource tracker.
            if b"multiprocessing" in command and b"resource_tracker" not in command:
                workers.append(child)
        return workers

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.worker_pids())

    def wait_until_idle(self, timeout: float = 600) -> None:
        """Wait until the workers stop using CPU, so requests that wrk abandoned at its deadline finish."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(IDLE_INTERVAL_SECONDS)
            now = self.cpu_seconds()
            if now - before < IDLE_CPU_SECONDS:
                return
            before = now
        raise RuntimeError(f"the server was still busy {timeout} s after the load stopped; see {self.log_path}")

    def reset_peak_resident(self) -> None:
        for pid in self.worker_pids():
            reset_peak_resident(pid)

    def peak_resident_kib(self) -> list[int]:
        return [peak_resident_kib(pid) for pid in self.worker_pids()]

    def stop(self) -> None:
        """Stop uvicorn gracefully, or kill its process group after STOP_TIMEOUT_SECONDS."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def __enter__(self) -> "Server":
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
