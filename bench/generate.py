"""Fill a database with N connectors shaped like the fixtures, for the benchmark.

Every fixture in tests/fixtures/connectors is first created with 1, 2 and 3 connections through
the product's create path (resolvers.connectors.create_http_connector, which validates the
definition and encrypts credentials with SecretBox through build_credential) in a scratch SQLite
database. Those rows are the templates. Each generated connector copies the rows of one template
with new ids, names and timestamps, and re-encrypts each credential secret for its new id. Its
draft version is replaced by 1 to 6 versions, some published. The rows are written with bulk
INSERTs on the tables of db/models.py. All connectors belong to one organisation, which gets one
API key.

Copying rows instead of building model objects one by one keeps 100,000 connectors to about a
minute, and whatever the create path writes (new tables and columns included) is copied along.

The same seed gives the same rows, ids and timestamps. Only the credential ciphertexts differ
between runs, because SecretBox draws a random nonce for each encryption, and the API key is
random.

    .venv/bin/python -m bench.generate --url sqlite+aiosqlite:///bench/data/x.db --connectors 1000
"""

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, Table, insert, or_, select
from sqlmodel import SQLModel
from ulid import ULID

from db import models
from db.engine import Database
from db.migrate import upgrade
from resolvers.api_keys import create_api_key
from resolvers.connectors import create_http_connector
from resolvers.context import Caller, Services
from resolvers.ids import new_id
from resolvers.secrets import SecretBox
from schema.convert import connector_spec
from schema.enums import HMACAlgorithm, HMACDigestInput, ParameterLocation

# Bump when the generated rows change, so cached SQLite files are built again.
GENERATOR_VERSION = 1
BENCH_SECRET_KEY = "bench-secret-key-not-for-production"
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "connectors"
# Connectors are created one minute apart from here on, so 100,000 of them span about 70 days.
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
CONNECTOR_SPACING = timedelta(minutes=1)
# Connectors copied and written per transaction.
CHUNK_SIZE = 5000

MAX_CONNECTIONS = 3
MAX_VERSIONS = 6
PUBLISHED_SHARE = 0.6
DEFAULT_VERSION_SHARE = 0.2
VERSION_MESSAGE_SHARE = 0.1
EXTRA_PUBLIC_SHARE = 0.05
UPDATED_LATER_SHARE = 0.3

# Fixture fields that hold GraphQL enum names, with the enum that maps them to wire values.
_ENUM_FIELDS = {"in": ParameterLocation, "algorithm": HMACAlgorithm, "digestInputs": HMACDigestInput}
# Tables that the templates are never read from.
_SKIPPED_TABLES = {models.ApiKey.__tablename__}


@dataclass
class Dataset:
    """Description of a generated database: its size, seed, organisation and API key."""

    url: str
    organisation_id: str
    api_key: str
    connectors: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    generator_version: int = GENERATOR_VERSION

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Template:
    """The rows that creating one fixture wrote, by table name, in foreign-key order."""

    organisation_id: str
    connector_id: str
    name: str
    created_at: datetime
    rows: dict[str, list[dict[str, Any]]]
    # Ids of the rows, in a fixed order, so copies draw new ids in the same order every run.
    ids: list[str]
    secrets: dict[str, dict[str, object]]


class SeededUlids:
    """ULIDs whose time part is `clock` and whose random part comes from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.clock = BASE_TIME

    def new_id(self) -> str:
        milliseconds = int(self.clock.timestamp() * 1000)
        return str(ULID.from_bytes(milliseconds.to_bytes(6, "big") + self._rng.getrandbits(80).to_bytes(10, "big")))


def _wire_values(node: Any) -> Any:
    """Replace GraphQL enum names in a fixture with the wire values that the REST shape uses."""
    if isinstance(node, list):
        return [_wire_values(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        enum = _ENUM_FIELDS.get(key)
        if enum is not None and isinstance(value, list):
            converted[key] = [enum[item].value for item in value]
        elif enum is not None and isinstance(value, str):
            converted[key] = enum[value].value
        else:
            converted[key] = _wire_values(value)
    return converted


def fixture_specs(directory: Path = FIXTURES) -> list[dict[str, Any]]:
    """Read every fixture as a connector spec in the REST shape that the create path takes."""
    specs = [connector_spec(_wire_values(json.loads(path.read_text()))) for path in sorted(directory.glob("*.json"))]
    if not specs:
        raise ValueError(f"no connector fixtures (*.json) found in {directory}")
    return specs


def _with_connections(spec: dict[str, Any], count: int) -> dict[str, Any]:
    """Copy a spec with `count` connections, all copies of its first one under distinct names."""
    first = spec["connections"][0]
    connections = [first | {"name": first["name"] if number == 1 else f"{first['name']}-{number}"} for number in range(1, count + 1)]
    return spec | {"connections": connections}


def _sorted_tables() -> list[Table]:
    return [table for table in SQLModel.metadata.sorted_tables if table.name not in _SKIPPED_TABLES]


def _string_key(table: Table) -> str | None:
    """Return the name of a table's single string primary key, whose values are row ids."""
    keys = list(table.primary_key.columns)
    if len(keys) == 1 and isinstance(keys[0].type, String):
        return keys[0].name
    return None


async def _read_template_rows(database: Database, organisation_id: str) -> dict[str, list[dict[str, Any]]]:
    """Read the rows of one organisation: those carrying its id and those referencing them."""
    rows: dict[str, list[dict[str, Any]]] = {}
    referenced = {(key.column.table.name, key.column.name) for table in _sorted_tables() for key in table.foreign_keys}
    included: dict[tuple[str, str], set[Any]] = {}
    async with database.read() as session:
        for table in _sorted_tables():
            conditions = []
            if "organisation_id" in table.columns:
                conditions.append(table.c.organisation_id == organisation_id)
            for foreign_key in table.foreign_keys:
                values = included.get((foreign_key.column.table.name, foreign_key.column.name))
                if values:
                    conditions.append(foreign_key.parent.in_(values))
            if not conditions:
                continue
            found = [dict(row) for row in (await session.execute(select(table).where(or_(*conditions)))).mappings()]
            if not found:
                continue
            rows[table.name] = found
            for column in table.columns:
                if (table.name, column.name) in referenced:
                    included[(table.name, column.name)] = {row[column.name] for row in found}
    return rows


async def build_templates(scratch_url: str, box: SecretBox) -> list[list[Template]]:
    """Create every fixture with 1 to 3 connections; return the templates by fixture, then count."""
    database = Database(scratch_url)
    services = Services(database=database, secret_box=box)
    templates = []
    try:
        for spec in fixture_specs():
            by_count = []
            for count in range(1, MAX_CONNECTIONS + 1):
                organisation_id = new_id()
                caller = Caller(subject="bench:generate", organisation_ids=frozenset({organisation_id}))
                connector = await create_http_connector(services, caller, organisation_id, _with_connections(spec, count))
                rows = await _read_template_rows(database, organisation_id)
                by_count.append(_template(box, organisation_id, connector, rows))
            templates.append(by_count)
    finally:
        await database.dispose()
    return templates


def _template(box: SecretBox, organisation_id: str, connector: models.Connector, rows: dict[str, list[dict[str, Any]]]) -> Template:
    versions = rows.get(models.ConnectorVersion.__tablename__, [])
    if len(versions) != 1:
        raise ValueError(f"expected the create path to write one draft version, found {len(versions)}")
    ids = [organisation_id]
    for table in _sorted_tables():
        key = _string_key(table)
        if key is not None:
            ids += [row[key] for row in rows.get(table.name, [])]
    secrets = {
        row["id"]: box.decrypt(organisation_id, row["id"], row["secret"]) for row in rows.get(models.Credential.__tablename__, [])
    }
    return Template(organisation_id, connector.id, connector.name, connector.created_at, rows, ids, secrets)


def _remap(value: Any, ids: dict[str, str], old_time: datetime, new_time: datetime) -> Any:
    """Replace template ids (also inside JSON) and the template's creation time."""
    if type(value) is str:
        return ids.get(value, value)
    if isinstance(value, datetime):
        return new_time if value == old_time else value
    if isinstance(value, dict):
        return {key: _remap(item, ids, old_time, new_time) for key, item in value.items()}
    if isinstance(value, list):
        return [_remap(item, ids, old_time, new_time) for item in value]
    return value


class Copier:
    """Copies templates into new connectors of one organisation, drawing from seeded generators."""

    def __init__(self, box: SecretBox, organisation_id: str, templates: list[list[Template]], seed: int) -> None:
        self.box = box
        self.organisation_id = organisation_id
        self.templates = templates
        self.rng = random.Random(seed)
        self.ids = SeededUlids(random.Random(seed + 1))
        self._autoincrement = {table.name: _integer_keys(table) for table in _sorted_tables()}

    def connector_rows(self, index: int) -> dict[str, list[dict[str, Any]]]:
        """Return every row of connector number `index`, by table name."""
        rng = self.rng
        template = rng.choice(self.templates)[rng.randint(1, MAX_CONNECTIONS) - 1]
        created = BASE_TIME + index * CONNECTOR_SPACING + timedelta(microseconds=rng.randrange(59_000_000))
        self.ids.clock = created
        ids = {old: self.ids.new_id() for old in template.ids}
        ids[template.organisation_id] = self.organisation_id

        copied: dict[str, list[dict[str, Any]]] = {}
        for table_name, rows in template.rows.items():
            skipped = self._autoincrement[table_name]
            copied[table_name] = [
                {key: _remap(value, ids, template.created_at, created) for key, value in row.items() if key not in skipped}
                for row in rows
            ]

        name = f"{template.name} #{index}"
        connector = copied[models.Connector.__tablename__][0]
        connector |= {"name": name, "name_folded": name.casefold(), "public": connector["public"] or rng.random() < EXTRA_PUBLIC_SHARE}
        if rng.random() < UPDATED_LATER_SHARE:
            connector["updated_at"] = created + timedelta(hours=rng.randint(1, 24 * 30))
        for credential in copied.get(models.Credential.__tablename__, []):
            old_id = next(old for old, new in ids.items() if new == credential["id"])
            credential_name = credential["name"].replace(template.name, name, 1)
            credential |= {
                "name": credential_name,
                "name_folded": credential_name.casefold(),
                "secret": self.box.encrypt(self.organisation_id, credential["id"], template.secrets[old_id]),
            }
        draft = copied[models.ConnectorVersion.__tablename__][0]
        copied[models.ConnectorVersion.__tablename__] = self._versions(draft, created)
        return copied

    def _versions(self, draft: dict[str, Any], created: datetime) -> list[dict[str, Any]]:
        """Build 1 to 6 versions a second apart from the draft; some are published, at most one is default."""
        versions = []
        for number in range(1, self.rng.randint(1, MAX_VERSIONS) + 1):
            version_created = created + timedelta(seconds=number)
            self.ids.clock = version_created
            published = version_created + timedelta(hours=1) if self.rng.random() < PUBLISHED_SHARE else None
            messages = []
            if self.rng.random() < VERSION_MESSAGE_SHARE:
                messages.append({"text": f"Version {number} calls a deprecated endpoint", "severity": "warning", "detail": ["baseUrl"]})
            versions.append(
                draft
                | {
                    "id": self.ids.new_id(),
                    "name": str(number),
                    "description": f"Release {number}",
                    "is_default": False,
                    "published_at": published,
                    "messages": messages,
                    "created_at": version_created,
                    "updated_at": published or version_created,
                }
            )
        published_versions = [version for version in versions if version["published_at"] is not None]
        if published_versions and self.rng.random() < DEFAULT_VERSION_SHARE:
            self.rng.choice(published_versions)["is_default"] = True
        return versions


def _integer_keys(table: Table) -> set[str]:
    # Integer primary keys (connector_tag.id) are left to the database to assign.
    return {column.name for column in table.primary_key.columns if isinstance(column.type, Integer)}


async def _write_chunk(database: Database, chunk: dict[str, list[dict[str, Any]]]) -> None:
    async with database.transaction() as session:
        connection = await session.connection()
        for table in _sorted_tables():
            rows = chunk.get(table.name)
            if rows:
                await connection.execute(insert(table), rows)


async def fill(url: str, scratch_url: str, connectors: int, seed: int, progress: bool) -> Dataset:
    started = time.perf_counter()
    box = SecretBox([BENCH_SECRET_KEY])
    templates = await build_templates(scratch_url, box)
    organisation_id = SeededUlids(random.Random(seed)).new_id()
    copier = Copier(box, organisation_id, templates, seed)
    database = Database(url)
    totals: dict[str, int] = {}
    try:
        for chunk_start in range(0, connectors, CHUNK_SIZE):
            chunk: dict[str, list[dict[str, Any]]] = {}
            for index in range(chunk_start, min(chunk_start + CHUNK_SIZE, connectors)):
                for table_name, rows in copier.connector_rows(index).items():
                    chunk.setdefault(table_name, []).extend(rows)
            await _write_chunk(database, chunk)
            for table_name, rows in chunk.items():
                totals[table_name] = totals.get(table_name, 0) + len(rows)
            if progress:
                done = min(chunk_start + CHUNK_SIZE, connectors)
                print(f"  {done}/{connectors} connectors written ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
        _, api_key = await create_api_key(database, organisation_id)
    finally:
        await database.dispose()
    return Dataset(url, organisation_id, api_key, connectors, seed, totals, round(time.perf_counter() - started, 1))


def generate(url: str, connectors: int, seed: int, progress: bool = True) -> Dataset:
    """Migrate the database at `url`, then fill it. The database should hold no connectors yet."""
    upgrade(url)
    with tempfile.TemporaryDirectory(prefix="cg-bench-templates-") as scratch:
        scratch_url = f"sqlite+aiosqlite:///{Path(scratch) / 'templates.db'}"
        upgrade(scratch_url)
        return asyncio.run(fill(url, scratch_url, connectors, seed, progress))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy async URL of an empty database (sqlite+aiosqlite:///... or postgresql+asyncpg://...)")
    parser.add_argument("--connectors", type=int, default=1000, help="number of connectors to write (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random shapes, ids and timestamps (default 1)")
    args = parser.parse_args(argv)
    if args.connectors < 1:
        parser.error("--connectors must be at least 1")
    dataset = generate(args.url, args.connectors, args.seed)
    print(json.dumps(dataset.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
