"""Persisted GraphQL documents in the database, keyed by the SHA-256 hash of their text."""

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db import models
from db.engine import Database


def document_hash(document: str) -> str:
    """Return the lowercase hex SHA-256 of the UTF-8 text, as the persistedQuery extension defines it."""
    return hashlib.sha256(document.encode()).hexdigest()


async def find_persisted_query(database: Database, sha256: str) -> str | None:
    async with database.read() as session:
        statement = select(models.PersistedQuery.document).where(models.PersistedQuery.sha256 == sha256)
        return (await session.execute(statement)).scalar_one_or_none()


async def save_persisted_query(database: Database, document: str) -> str:
    """Store the document under its hash unless it is stored already; return the hash.

    Two replicas registering the same document at once both succeed, because the insert
    does nothing on a primary key conflict.
    """
    sha256 = document_hash(document)
    values = {"sha256": sha256, "document": document, "created_at": datetime.now(UTC)}
    insert = postgresql_insert if database.dialect == "postgresql" else sqlite_insert
    statement = insert(models.PersistedQuery).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
    async with database.transaction() as session:
        await session.execute(statement)
    return sha256
