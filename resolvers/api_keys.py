"""API keys: issued once, stored only as a SHA-256 hash, each bound to one organisation.

The keys carry 256 bits of randomness, so a fast hash is enough because searching that
space is infeasible, and lookups stay one indexed query.
"""

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from db import models
from db.engine import Database
from resolvers.context import Caller
from resolvers.ids import new_id

KEY_PREFIX = "cgw_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(database: Database, organisation_id: str) -> tuple[str, str]:
    """Create a key for the organisation; return its id and the key, which is shown only once."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = models.ApiKey(id=new_id(), organisation_id=organisation_id, key_hash=hash_key(key), created_at=datetime.now(UTC))
    async with database.transaction() as session:
        session.add(row)
    return row.id, key


async def authenticate_api_key(database: Database, key: str) -> Caller | None:
    if not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    async with database.read() as session:
        statement = select(models.ApiKey).where(models.ApiKey.key_hash == hash_key(key))
        row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        return None
    return Caller(subject=f"api-key:{row.id}", organisation_ids=frozenset({row.organisation_id}))
