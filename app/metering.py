"""Rate-limit metering of one GraphQL operation: the charge and the cost report.

The endpoint starts a `Metering` once the limit checks pass, which charges the estimated
cost, and finishes it with the actual cost once the response data exists. Every response
of an operation that got that far carries `extensions.cost`.
"""

from dataclasses import dataclass
from typing import Any

from app.cost import cost_extension
from app.observability import note_outcome
from resolvers.context import Caller
from resolvers.rate_limits import Charge, RateLimiter

RATE_LIMITED = "RATE_LIMITED"


@dataclass
class Metering:
    limiter: RateLimiter | None
    requested: int
    charge: Charge | None

    @classmethod
    async def start(cls, limiter: RateLimiter | None, caller: Caller, requested: int) -> "Metering":
        charge = None if limiter is None else await limiter.charge(caller, requested)
        return cls(limiter, requested, charge)

    @property
    def rejected(self) -> bool:
        return self.charge is not None and not self.charge.granted

    def rejection(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Build the body and headers of the HTTP 429 response to a rejected operation."""
        assert self.charge is not None and not self.charge.granted
        note_outcome("rate_limited")
        wait = self.charge.retry_after_seconds
        message = (
            f"Rate limit reached: this operation costs {self.requested} tokens and the caller's bucket refills enough "
            f"in {wait} seconds. Retry after that, or request fewer objects; `extensions.cost.remaining` shows what is left."
        )
        body = {
            "errors": [{"message": message, "extensions": {"code": RATE_LIMITED, "retryAfterSeconds": wait}}],
            "extensions": {"cost": cost_extension(self.requested, 0, self.charge.remaining)},
        }
        return body, {"Retry-After": str(wait)}

    async def finish(self, actual: int) -> dict[str, Any]:
        """Correct the charge to the actual cost and return the response's `extensions` entry."""
        if self.charge is None or self.limiter is None:
            return {"extensions": {"cost": {"requested": self.requested, "actual": actual}}}
        remaining = await self.limiter.settle(self.charge, actual)
        return {"extensions": {"cost": cost_extension(self.requested, actual, remaining)}}

    def charged_in_full(self) -> dict[str, Any]:
        """Build the `extensions` entry of an operation that keeps its whole estimated charge."""
        remaining = None if self.charge is None else self.charge.remaining
        cost: dict[str, Any] = {"requested": self.requested, "actual": self.requested}
        if remaining is not None:
            cost["remaining"] = remaining
        return {"extensions": {"cost": cost}}
