"""ULID identifiers: generated here, accepted in any case, always stored upper-case."""

import re

from ulid import ULID

_ULID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")

ULID_HINT = "must be a 26-character ULID in Crockford base32 (digits and letters other than I, L, O and U)"


def new_id() -> str:
    return str(ULID())


def parse_ulid(value: object) -> str | None:
    """Return the canonical upper-case ULID, or None when `value` is not one.

    Only ASCII is accepted, so look-alike letters (Cyrillic, dotless i) never case-fold
    into a valid id.
    """
    if not isinstance(value, str) or len(value) != 26 or not value.isascii():
        return None
    canonical = value.upper()
    return canonical if _ULID_PATTERN.fullmatch(canonical) else None
