"""Facts about the machine and software that a benchmark run records beside its figures."""

import asyncio
import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

REPOSITORY = Path(__file__).resolve().parent.parent
PACKAGES = ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "sqlalchemy", "aiosqlite", "asyncpg", "orjson")
PRODUCT_DIRECTORIES = ("app", "schema", "resolvers", "db")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _git(*arguments: str) -> str:
    completed = subprocess.run(["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True, check=False)
    return completed.stdout.strip() if completed.returncode == 0 else ""


async def _postgres_version(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text("SHOW server_version"))).scalar_one()
    finally:
        await engine.dispose()


def machine_facts(backend: str, database_url: str) -> dict[str, Any]:
    changed = _git("status", "--porcelain", "--", *PRODUCT_DIRECTORIES)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "database": f"SQLite {sqlite3.sqlite_version}" if backend == "sqlite" else f"PostgreSQL {asyncio.run(_postgres_version(database_url))}",
        "packages": {name: metadata.version(name) for name in PACKAGES},
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_product_files": len(changed.splitlines()),
        "load_average_start": os.getloadavg(),
    }
