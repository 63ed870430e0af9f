"""Custom scalars: ULID and an RFC 3339 DateTime that always prints UTC with a Z suffix."""

from datetime import UTC, datetime
from typing import NewType

import strawberry

from resolvers.ids import ULID_HINT, parse_ulid


def _parse_ulid(value: object) -> str:
    canonical = parse_ulid(value)
    if canonical is None:
        # The submitted value is left out on purpose: error messages never echo input.
        raise ValueError(f"Expected a ULID: the value {ULID_HINT}.")
    return canonical


def serialize_datetime(value: datetime) -> str:
    if value.tzinfo is UTC:
        # The database layer returns UTC, whose isoformat always ends in "+00:00". Slicing it
        # off is the cheaper path for the thousands of timestamps of a large response.
        return value.isoformat(timespec="microseconds")[:-6] + "Z"
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_datetime(value: object) -> datetime:
    hint = "Expected an RFC 3339 timestamp with a timezone, such as 2026-01-31T12:00:00Z."
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(hint)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(hint) from None
    if parsed.tzinfo is None:
        raise ValueError(hint)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # A timestamp near year 1 or 9999 can fall outside datetime's range in UTC,
        # such as 0001-01-01T00:00:00+14:00.
        raise ValueError(f"{hint} The timestamp is outside the range of years 1 to 9999 in UTC.") from None


ULID = NewType("ULID", str)
DateTime = NewType("DateTime", datetime)

ULID_SCALAR = strawberry.scalar(
    name="ULID",
    description="26-character ULID in Crockford base32. Accepted in any case; always returned upper-case.",
    serialize=lambda value: str(value).upper(),
    parse_value=_parse_ulid,
)

DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="RFC 3339 timestamp, always returned in UTC with a Z suffix.",
    serialize=serialize_datetime,
    parse_value=_parse_datetime,
)

SCALAR_MAP = {ULID: ULID_SCALAR, DateTime: DATETIME_SCALAR, datetime: DATETIME_SCALAR}
