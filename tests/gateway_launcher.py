"""Fork gateway server processes from one process that has already imported the application.

Run as `python -m tests.gateway_launcher` with the CONNECT_GATEWAY_* variables set. Each
line `start PORT` on stdin forks a child that serves `app.main` with uvicorn on 127.0.0.1:PORT
and prints the child's pid. A restart then takes milliseconds, where a fresh interpreter
spends seconds on imports. Each child builds its own app and engine after the fork, so it
opens the database as a newly started gateway would. EOF or `quit` kills the children
that are still running and exits.
"""

import os
import signal
import sys

import uvicorn

from app.main import create_app


def serve(port: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sys.stdin.close()
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False)


def main() -> int:
    # The kernel reaps the children, so os.kill(pid, 0) fails as soon as a killed child is gone.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    children: list[int] = []
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "quit":
            break
        if command != "start" or len(arguments) != 1 or not arguments[0].isdigit():
            print(f"error: expected `start PORT` or `quit`, got {line.strip()!r}", flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                serve(int(arguments[0]))
            finally:
                os._exit(0)
        children.append(pid)
        print(pid, flush=True)

    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
