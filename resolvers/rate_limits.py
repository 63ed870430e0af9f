"""Cost-based rate limits: token buckets per API key and per organisation, kept in the database.

Every request is charged its cost in tokens from two kinds of bucket: the caller's own (one
per API key) and one per organisation it acts for. A request runs only when every bucket
contains its cost, and the buckets refill continuously up to their capacity. Because the
buckets are rows of `rate_limit_bucket`, every replica over one database shares them.

A charge happens in two steps. `charge` takes the cost estimated before execution, and
`settle` adds back the difference once the actual cost is known, or takes more when the
estimate was too low. A bucket may go below zero that way; it then refills from its debt.

Replicas use their own clocks. A clock behind the one that last wrote a bucket adds no
tokens (elapsed time counts as zero), so skew can delay a refill but never add to it.
"""

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from db import models
from db.engine import Database
from resolvers.context import Caller

logger = logging.getLogger(__name__)

ORGANISATION_PREFIX = "organisation:"

_BUCKETS = models.RateLimitBucket.__table__
# Core statements, built once: they run on every request.
_STORE_LEVEL = (
    update(_BUCKETS).where(_BUCKETS.c.bucket == bindparam("name")).values(tokens=bindparam("tokens"), refilled_at=bindparam("refilled_at"))
)


@dataclass(frozen=True)
class BucketPolicy:
    """The size of a bucket in tokens and the tokens it regains per second."""

    capacity: float
    refill_per_second: float


@dataclass(frozen=True)
class RateLimitPolicy:
    per_key: BucketPolicy
    per_organisation: BucketPolicy

    @property
    def max_cost(self) -> int:
        """The maximum cost of one request, which is the capacity of its smallest bucket."""
        return math.floor(min(self.per_key.capacity, self.per_organisation.capacity))


@dataclass(frozen=True)
class Charge:
    """The outcome of charging a request.

    `remaining` is the whole number of tokens left in the emptiest bucket. When the
    request is rejected, `retry_after_seconds` is the wait until every bucket contains its cost.
    """

    granted: bool
    cost: int
    remaining: int
    retry_after_seconds: int
    buckets: tuple[str, ...]


class CostOverCapacity(Exception):
    """A request costs more than a full bucket contains, so no wait lets it run."""

    def __init__(self, cost: int, max_cost: int) -> None:
        super().__init__(f"cost {cost} is over the largest cost {max_cost}")
        self.cost = cost
        self.max_cost = max_cost


@dataclass
class _Level:
    """A bucket's tokens at one instant, after adding its refill since it was last written."""

    bucket: str
    tokens: float
    policy: BucketPolicy
    # The instant that `tokens` describes, which is never earlier than the bucket's last write.
    as_of: float

    def seconds_until(self, cost: int) -> int:
        missing = cost - self.tokens
        if missing <= 0:
            return 0
        return max(1, math.ceil(missing / self.policy.refill_per_second))


def bucket_names(caller: Caller) -> tuple[str, ...]:
    """Name the caller's buckets in lock order: its own, then one per organisation."""
    organisations = (ORGANISATION_PREFIX + organisation_id for organisation_id in caller.organisation_ids)
    return tuple(sorted({caller.subject, *organisations}))


class RateLimiter:
    def __init__(self, database: Database, policy: RateLimitPolicy, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._policy = policy
        self._clock = clock

    @property
    def policy(self) -> RateLimitPolicy:
        return self._policy

    def _policy_for(self, bucket: str) -> BucketPolicy:
        return self._policy.per_organisation if bucket.startswith(ORGANISATION_PREFIX) else self._policy.per_key

    async def charge(self, caller: Caller, cost: int) -> Charge:
        """Take `cost` tokens from every bucket of the caller, or from none when one is short.

        Raises CostOverCapacity when the cost is more than a full bucket contains.
        """
        if cost > self._policy.max_cost:
            raise CostOverCapacity(cost, self._policy.max_cost)
        names = bucket_names(caller)
        charge = await self._try_charge(caller, names, cost)
        if charge is None:
            # A first request leaves its transaction before creating the missing rows, so it
            # never holds one bucket's lock while it waits for another out of name order.
            await self._create_missing(names)
            charge = await self._try_charge(caller, names, cost)
        if charge is None:
            raise LookupError(f"rate-limit buckets {names} were created but cannot be read")
        return charge

    async def _try_charge(self, caller: Caller, names: tuple[str, ...], cost: int) -> Charge | None:
        """Charge the buckets under their row locks; return None when one does not exist yet."""
        async with self._database.row_lock_transaction() as connection:
            now = self._clock()
            levels = await self._locked_levels(connection, names, now)
            if levels is None:
                return None
            short = [level for level in levels if level.tokens < cost]
            if short:
                retry_after = max(level.seconds_until(cost) for level in short)
                logger.info(
                    "rate limit reached",
                    extra={"caller": caller.subject, "buckets": [level.bucket for level in short], "cost": cost, "retry_after_seconds": retry_after},
                )
                return Charge(False, cost, _remaining(levels), retry_after, names)
            for level in levels:
                level.tokens -= cost
            await connection.execute(
                _STORE_LEVEL,
                [{"name": level.bucket, "tokens": level.tokens, "refilled_at": level.as_of} for level in levels],
            )
        return Charge(True, cost, _remaining(levels), 0, names)

    async def settle(self, charge: Charge, actual: int) -> int:
        """Correct a granted charge to the actual cost; return the tokens now remaining."""
        difference = charge.cost - actual
        if difference == 0:
            return charge.remaining
        columns = _BUCKETS.c
        least = func.least if self._database.dialect == "postgresql" else func.min
        capacity = case(
            (columns.bucket.startswith(ORGANISATION_PREFIX), self._policy.per_organisation.capacity), else_=self._policy.per_key.capacity
        )
        # One statement for all the buckets. It locks them in name order, as `charge` does, so
        # a settle and a charge never wait on each other in a cycle. The refill since
        # `refilled_at` is added by the next reader, so only the difference is written.
        locked = select(columns.bucket).where(columns.bucket.in_(charge.buckets)).order_by(columns.bucket).with_for_update().subquery()
        statement = (
            update(_BUCKETS)
            .where(columns.bucket == locked.c.bucket)
            .values(tokens=least(columns.tokens + difference, capacity))
            .returning(columns.bucket, columns.tokens, columns.refilled_at)
        )
        async with self._database.row_lock_transaction() as connection:
            now = self._clock()
            rows = (await connection.execute(statement)).all()
        levels = [_refilled(row.bucket, row.tokens, row.refilled_at, self._policy_for(row.bucket), now) for row in rows]
        return _remaining(levels)

    async def _locked_levels(self, connection: AsyncConnection, names: tuple[str, ...], now: float) -> list[_Level] | None:
        """Lock the buckets in name order and return their levels, or None when one is missing."""
        columns = _BUCKETS.c
        statement = (
            select(columns.bucket, columns.tokens, columns.refilled_at).where(columns.bucket.in_(names)).order_by(columns.bucket).with_for_update()
        )
        rows = (await connection.execute(statement)).all()
        if len(rows) < len(names):
            return None
        return [_refilled(row.bucket, row.tokens, row.refilled_at, self._policy_for(row.bucket), now) for row in rows]

    async def _create_missing(self, names: Iterable[str]) -> None:
        """Add full buckets for a first-time caller; a concurrent first request may add them too."""
        now = self._clock()
        rows = [{"bucket": name, "tokens": self._policy_for(name).capacity, "refilled_at": now} for name in names]
        dialect = postgresql if self._database.dialect == "postgresql" else sqlite
        async with self._database.row_lock_transaction() as connection:
            await connection.execute(dialect.insert(_BUCKETS).values(rows).on_conflict_do_nothing())
        logger.info("rate-limit buckets created", extra={"buckets": list(names)})


def _refilled(bucket: str, tokens: float, refilled_at: float, policy: BucketPolicy, now: float) -> _Level:
    elapsed = max(0.0, now - refilled_at)
    return _Level(bucket, min(policy.capacity, tokens + elapsed * policy.refill_per_second), policy, max(now, refilled_at))


def _remaining(levels: list[_Level]) -> int:
    return max(0, math.floor(min(level.tokens for level in levels)))
