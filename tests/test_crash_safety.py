"""SIGKILL a gateway process over SQLite while it writes, restart it, and check the file.

Each round starts a gateway on the same database file and streams createHTTPConnector calls
at it from a few clients. Once the first create succeeds, the gateway is killed after a
short random delay, usually mid-request. At the end the file must pass PRAGMA
integrity_check and hold only whole connector trees: every connector has the rows its
fixture defines, and no row points at a missing parent or is left without one. Every create
that returned a connector must still be there.

The gateways are forked by tests/gateway_launcher.py, which imports the application once,
so a restart costs a fork instead of the seconds a fresh interpreter spends on imports.
"""

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from db.migrate import upgrade
from resolvers.ids import new_id
from tests.conftest import FIXTURES, TEST_BACKENDS, TEST_SECRET_KEY, free_port, issue_api_key
from tests.documents import CREATE_CONNECTOR
from tests.gateway_process import REPOSITORY, START_TIMEOUT_SECONDS

pytestmark = pytest.mark.skipif("sqlite" not in TEST_BACKENDS, reason="CONNECT_GATEWAY_TEST_BACKENDS leaves out sqlite")

KILLS = 50
# Rounds stop early once this budget is spent, so a slow machine cannot stall the suite.
# MIN_KILLS keeps the test from passing on a handful of rounds.
TIME_BUDGET_SECONDS = 240
MIN_KILLS = 10
STREAMS = 3
MAX_KILL_DELAY_SECONDS = 0.4
# A round kills the gateway anyway when no create has succeeded by then.
FIRST_CREATE_TIMEOUT_SECONDS = 20
# Separates the fixture file name from the round and call numbers in a connector name.
NAME_SEPARATOR = " #"
FIXTURE_DEFINITIONS = {path.stem: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}


@dataclass
class Stream:
    """Results of one round: acknowledged creates, calls cut off by the kill, and any other response."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    interrupted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def definition_for(stem: str, label: str) -> dict[str, Any]:
    definition = json.loads(json.dumps(FIXTURE_DEFINITIONS[stem]))
    definition["name"] = f"{stem}{NAME_SEPARATOR}{label}"
    return definition


async def stream_creates(
    url: str, api_key: str, organisation_id: str, label: str, first_fixture: int, stream: Stream, stop: asyncio.Event
) -> None:
    """Send creates one after another, cycling through the fixtures, until the server goes away or `stop` is set."""
    stems = list(FIXTURE_DEFINITIONS)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(timeout=30) as client:
        for sequence in range(10_000):
            if stop.is_set():
                return
            stem = stems[(first_fixture + sequence) % len(stems)]
            variables = {"organisationId": organisation_id, "input": definition_for(stem, f"{label}.{sequence}")}
            try:
                response = await client.post(url, json={"query": CREATE_CONNECTOR, "variables": variables}, headers=headers)
            except httpx.TransportError:
                stream.interrupted += 1
                return
            body = response.json()
            result = (body.get("data") or {}).get("createHTTPConnector") or {}
            if result.get("__typename") == "HTTPConnector":
                stream.acknowledged[result["id"]] = stem
            else:
                stream.rejected.append(body)


async def run_round(
    gateway: "ForkedGateway", api_key: str, organisation_id: str, round_index: int, delay: float
) -> Stream:
    """Stream creates at `gateway`, and kill it `delay` seconds after the first create succeeds."""
    stream = Stream()
    stop = asyncio.Event()
    tasks = []
    for index in range(STREAMS):
        label = f"{round_index}.{index}"
        first_fixture = round_index * STREAMS + index
        creates = stream_creates(gateway.graphql_url, api_key, organisation_id, label, first_fixture, stream, stop)
        tasks.append(asyncio.create_task(creates))

    waited = 0.0
    while not stream.acknowledged and not stream.rejected and waited < FIRST_CREATE_TIMEOUT_SECONDS:
        await asyncio.sleep(0.01)
        waited += 0.01
    await asyncio.sleep(delay)
    gateway.kill()
    stop.set()
    await asyncio.gather(*tasks)
    return stream


class ForkedGateway:
    """One gateway process forked by the launcher, known by its pid and port."""

    def __init__(self, pid: int, port: int) -> None:
        self.pid = pid
        self.url = f"http://127.0.0.1:{port}"
        self.graphql_url = self.url + "/graphql"

    def is_alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait_ready(self, log_path: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with httpx.Client(timeout=2) as client:
            while True:
                assert self.is_alive(), f"gateway {self.pid} exited during start-up; log:\n{log_path.read_text()[-4000:]}"
                try:
                    if client.get(self.url + "/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"gateway {self.pid} was not ready within {START_TIMEOUT_SECONDS} s"
                time.sleep(0.02)

    def kill(self) -> None:
        """Send SIGKILL and wait until the kernel has removed the process."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)


class Launcher:
    """The launcher process; `start` forks a new gateway from it."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        environment = os.environ | {
            "CONNECT_GATEWAY_DATABASE_URL": database_url,
            "CONNECT_GATEWAY_SECRET_KEY": TEST_SECRET_KEY,
            "CONNECT_GATEWAY_LOG_LEVEL": os.environ.get("CONNECT_GATEWAY_LOG_LEVEL", "WARNING"),
        }
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.gateway_launcher"],
                env=environment,
                cwd=REPOSITORY,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def start(self) -> ForkedGateway:
        assert self.process.stdin is not None and self.process.stdout is not None
        port = free_port()
        self.process.stdin.write(f"start {port}\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        assert reply.strip().isdigit(), f"launcher replied {reply!r}; log:\n{self.log_path.read_text()[-4000:]}"
        gateway = ForkedGateway(int(reply), port)
        gateway.wait_ready(self.log_path)
        return gateway

    def close(self) -> None:
        """Close stdin, which makes the launcher kill its remaining children and exit."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    upgrade(database_url)
    launcher = Launcher(database_url, tmp_path / "gateway.log")
    try:
        yield launcher
    finally:
        launcher.close()


def expected_rows(definition: dict[str, Any]) -> dict[str, Any]:
    """Return the rows that createHTTPConnector writes for one fixture definition."""
    configs = []
    grant_clients = 0
    for config in definition["authSchemeConfigs"]:
        (scheme, body), = config.items()
        configs.append(body["id"])
        grant = body.get("grant", {})
        if scheme == "oauth2" and "clientCredentials" not in grant:
            (grant_body,) = grant.values()
            grant_clients += 0 if grant_body.get("credentialId") else 1
    links = {}
    inline_credentials = 0
    for connection in definition["connections"]:
        credentials = connection.get("credentials") or {}
        for purpose in ("action", "trigger"):
            items = credentials.get(purpose) or []
            links[(connection["name"], purpose)] = [item["authSchemeConfigId"] for item in items]
            inline_credentials += sum(1 for item in items if "credential" in item)
    tags = sum(max(1, len(tag["values"])) for tag in definition.get("tags") or [])
    return {"configs": configs, "links": links, "credentials": inline_credentials + grant_clients, "tags": tags}


def check_trees(database: Path) -> tuple[set[str], list[str]]:
    """Return the connector ids in the file and a list of every problem found in it."""
    problems = []
    with sqlite3.connect(database) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity}")
        dangling = connection.execute("PRAGMA foreign_key_check").fetchall()
        if dangling:
            problems.append(f"foreign_key_check: {dangling}")

        connectors = connection.execute("SELECT id, name FROM connector").fetchall()
        referenced_credentials: set[str] = set()
        for connector_id, name in connectors:
            stem = name.split(NAME_SEPARATOR)[0]
            if stem not in FIXTURE_DEFINITIONS:
                problems.append(f"connector {connector_id} has a name from no fixture: {name!r}")
                continue
            expected = expected_rows(FIXTURE_DEFINITIONS[stem])
            problems += check_tree(connection, connector_id, name, expected, referenced_credentials)

        credentials = {row[0] for row in connection.execute("SELECT id FROM credential")}
        orphans = credentials - referenced_credentials
        if orphans:
            problems.append(f"{len(orphans)} credentials belong to no connector, such as {sorted(orphans)[:3]}")
        for table, parent in (("connection", "connector_id"), ("connector_version", "connector_id"), ("auth_scheme_config", "connector_id"), ("connector_tag", "connector_id")):
            count = connection.execute(f"SELECT count(*) FROM {table} WHERE {parent} NOT IN (SELECT id FROM connector)").fetchone()[0]
            if count:
                problems.append(f"{count} {table} rows name a missing connector")
        count = connection.execute("SELECT count(*) FROM connection_credential WHERE connection_id NOT IN (SELECT id FROM connection)").fetchone()[0]
        if count:
            problems.append(f"{count} connection_credential rows name a missing connection")
    return {connector_id for connector_id, _ in connectors}, problems


def check_tree(connection: sqlite3.Connection, connector_id: str, name: str, expected: dict[str, Any], referenced: set[str]) -> list[str]:
    problems = []
    versions = connection.execute("SELECT name FROM connector_version WHERE connector_id = ?", (connector_id,)).fetchall()
    if versions != [("1",)]:
        problems.append(f"{name}: versions {versions}, expected one named 1")

    rows = connection.execute(
        "SELECT config_id, settings FROM auth_scheme_config WHERE connector_id = ? ORDER BY position", (connector_id,)
    ).fetchall()
    if [row[0] for row in rows] != expected["configs"]:
        problems.append(f"{name}: auth scheme configs {[row[0] for row in rows]}, expected {expected['configs']}")

    tags = connection.execute("SELECT count(*) FROM connector_tag WHERE connector_id = ?", (connector_id,)).fetchone()[0]
    if tags != expected["tags"]:
        problems.append(f"{name}: {tags} tag rows, expected {expected['tags']}")

    links = connection.execute(
        "SELECT c.name, l.purpose, l.auth_scheme_config_id, l.credential_id FROM connection c"
        " LEFT JOIN connection_credential l ON l.connection_id = c.id WHERE c.connector_id = ? ORDER BY c.name, l.purpose, l.position",
        (connector_id,),
    ).fetchall()
    found: dict[tuple[str, str], list[str]] = {}
    connection_names = set()
    for connection_name, purpose, config_id, credential_id in links:
        connection_names.add(connection_name)
        if purpose is not None:
            found.setdefault((connection_name, purpose), []).append(config_id)
    expected_links = {key: value for key, value in expected["links"].items() if value}
    if connection_names != {key[0] for key in expected["links"]}:
        problems.append(f"{name}: connections {sorted(connection_names)}, expected {sorted({key[0] for key in expected['links']})}")
    if found != expected_links:
        problems.append(f"{name}: credential links {found}, expected {expected_links}")

    credential_ids = {row[3] for row in links if row[3]}
    for _, settings in rows:
        grant_credential = (json.loads(settings).get("grant") or {}).get("credentialId")
        if grant_credential:
            credential_ids.add(grant_credential)
    stored = 0
    if credential_ids:
        placeholders = ",".join("?" * len(credential_ids))
        statement = f"SELECT count(*) FROM credential WHERE id IN ({placeholders})"
        stored = connection.execute(statement, tuple(credential_ids)).fetchone()[0]
    if stored != expected["credentials"]:
        problems.append(f"{name}: {stored} credentials, expected {expected['credentials']}")
    referenced |= credential_ids
    return problems


def test_killed_gateway_leaves_whole_trees(launcher: Launcher, tmp_path: Path) -> None:
    database = tmp_path / "gateway.db"
    organisation_id = new_id()
    api_key = issue_api_key(f"sqlite+aiosqlite:///{database}", organisation_id)
    seed = int(os.environ.get("CONNECT_GATEWAY_CRASH_SEED", random.randrange(2**32)))
    delays = random.Random(seed)

    acknowledged: dict[str, str] = {}
    interrupted = 0
    rejected: list[dict[str, Any]] = []
    kills = 0
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    while kills < KILLS and time.monotonic() < deadline:
        gateway = launcher.start()
        try:
            stream = asyncio.run(run_round(gateway, api_key, organisation_id, kills, delays.uniform(0, MAX_KILL_DELAY_SECONDS)))
        finally:
            gateway.kill()
        kills += 1
        acknowledged |= stream.acknowledged
        interrupted += stream.interrupted
        rejected += stream.rejected

    # One more start shows the file still opens and reports the schema at head.
    launcher.start().kill()
    stored, problems = check_trees(database)

    context = f"seed {seed} (set CONNECT_GATEWAY_CRASH_SEED to repeat), {kills} kills"
    assert kills >= MIN_KILLS, f"only {kills} kills fitted in {TIME_BUDGET_SECONDS} s; {context}"
    assert problems == [], context
    assert rejected == [], context
    assert acknowledged, f"no create was acknowledged; {context}"
    assert interrupted > 0, f"no kill hit a request in flight; {context}"
    assert set(acknowledged) <= stored, f"acknowledged creates missing after the kills: {sorted(set(acknowledged) - stored)}; {context}"
    stems = Counter(acknowledged.values())
    assert len(stems) > 1, f"creates covered only {stems}; {context}"
