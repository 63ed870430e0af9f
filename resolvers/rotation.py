"""Re-encrypting stored credential secrets with the current (first) secret key.

Safe while the gateway serves traffic. Each batch is read without a lock and decrypted
outside any transaction. A short write transaction then reads each row again and updates
it only if its ciphertext is still the one that was decrypted, so a credential that a
request changed in between keeps that request's value. Such rows are counted as changed and
left for the next run.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from db import models
from db.engine import Database
from resolvers.secrets import SecretBox, SecretDecryptionError

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100


@dataclass
class StoredSecret:
    credential_id: str
    organisation_id: str
    secret: bytes


@dataclass
class RotationReport:
    """Counts of one rotation run.

    Each examined credential is counted in exactly one of rotated, already_current, changed and failed.
    """

    examined: int = 0
    batches: int = 0
    rotated: int = 0
    already_current: int = 0
    changed: int = 0
    failed: int = 0

    def add(self, other: "RotationReport") -> None:
        self.examined += other.examined
        self.batches += other.batches
        self.rotated += other.rotated
        self.already_current += other.already_current
        self.changed += other.changed
        self.failed += other.failed


async def read_batch(database: Database, after_id: str | None, limit: int) -> list[StoredSecret]:
    """Return up to `limit` credentials with an id greater than `after_id`, in id order."""
    table = models.Credential
    statement = select(table.id, table.organisation_id, table.secret).order_by(table.id).limit(limit)
    if after_id is not None:
        statement = statement.where(table.id > after_id)
    async with database.read() as session:
        rows = (await session.execute(statement)).all()
    return [StoredSecret(row.id, row.organisation_id, row.secret) for row in rows]


async def reencrypt_batch(database: Database, box: SecretBox, batch: list[StoredSecret], dry_run: bool = False) -> RotationReport:
    """Re-encrypt the credentials of `batch` that are not under the current key, in one transaction."""
    report = RotationReport(examined=len(batch), batches=1)
    replacements: dict[str, tuple[bytes, bytes]] = {}
    for stored in batch:
        if box.is_current(stored.secret):
            report.already_current += 1
            continue
        try:
            plaintext = box.decrypt(stored.organisation_id, stored.credential_id, stored.secret)
        except SecretDecryptionError as error:
            report.failed += 1
            logger.error(
                "credential secret cannot be decrypted with any configured key",
                extra={"credential_id": stored.credential_id, "organisation_id": stored.organisation_id, "error": str(error)},
            )
            continue
        new_secret = box.encrypt(stored.organisation_id, stored.credential_id, plaintext)
        replacements[stored.credential_id] = (stored.secret, new_secret)

    if not replacements:
        return report
    if dry_run:
        report.rotated += len(replacements)
        return report

    table = models.Credential
    async with database.transaction() as session:
        # Database.transaction serializes writers (BEGIN IMMEDIATE on SQLite, an advisory
        # lock on PostgreSQL), so no other writer runs between this read and the updates.
        # FOR UPDATE keeps that true on PostgreSQL for writers that bypass Database; SQLite
        # ignores it.
        statement = select(table.id, table.secret).where(table.id.in_(replacements)).with_for_update()
        current = {row.id: row.secret for row in await session.execute(statement)}
        for credential_id, (old_secret, new_secret) in replacements.items():
            if current.get(credential_id) != old_secret:
                # The row was updated or deleted after it was read, so the other writer's value stays.
                report.changed += 1
                continue
            # updated_at stays as it is, because only the encryption changes, not the credential's data.
            await session.execute(
                update(table).where(table.id == credential_id, table.secret == old_secret).values(secret=new_secret)
            )
            report.rotated += 1
    return report


async def rotate_credential_secrets(
    database: Database, box: SecretBox, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> RotationReport:
    """Re-encrypt every stored credential that is not under the first key, `batch_size` rows per transaction.

    With `dry_run`, nothing is written, and `rotated` counts the credentials that would be re-encrypted.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    report = RotationReport()
    after_id: str | None = None
    while batch := await read_batch(database, after_id, batch_size):
        batch_report = await reencrypt_batch(database, box, batch, dry_run)
        report.add(batch_report)
        after_id = batch[-1].credential_id
        logger.info(
            "credential rotation batch done",
            extra={"after_id": after_id, "rotated": batch_report.rotated, "changed": batch_report.changed, "failed": batch_report.failed},
        )
    return report
