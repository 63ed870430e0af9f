"""Relay cursor pagination over (updated_at, id), newest first, as keyset queries.

A cursor records the list it came from (kind, organisation and filter), so a cursor
reused on another list or tenant is rejected instead of silently paging elsewhere.
"""

import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from db.loaders import execute_core, row_shape
from db.snapshot import ReadRunner
from db.types import UTCDateTime
from resolvers.errors import DomainError, ErrorCode, FieldError
from resolvers.ids import parse_ulid

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageRequest:
    first: int | None
    after: str | None
    last: int | None
    before: str | None


class TotalCount:
    """The number of rows of a whole list, counted on the first `get()` and then kept.

    Counting can cost more than the page itself (every row of the organisation), so it runs
    only for documents that select totalCount.
    """

    def __init__(self, count: Callable[[], Awaitable[int]]) -> None:
        self._count = count
        self._task: asyncio.Future[int] | None = None

    async def get(self) -> int:
        # One task, so that several totalCount fields of one page run a single count.
        if self._task is None:
            self._task = asyncio.ensure_future(self._count())
        return await self._task


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    total_count: TotalCount


@dataclass(frozen=True)
class _Position:
    updated_at: datetime
    id: str


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_ARGUMENT, f"{field} {message}", [FieldError(field, message)])


def scope_of(kind: str, organisation_id: str, filters: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps([kind, organisation_id, filters], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def encode_cursor(scope: str, updated_at: datetime, row_id: str) -> str:
    payload = json.dumps([1, scope, updated_at.isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(field: str, cursor: str, scope: str) -> _Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, cursor_scope, updated_at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        updated = datetime.fromisoformat(updated_at)
        if updated.tzinfo is None:
            raise ValueError("cursor timestamp has no timezone")
        # astimezone raises OverflowError for a timestamp with no UTC equivalent, such as
        # year 1 at +05:00, so that cursor is rejected here instead of in the database.
        position = _Position(updated.astimezone(UTC), str(row_id))
    except (ValueError, TypeError, UnicodeError, OverflowError, binascii.Error):
        raise _invalid(field, "is not a cursor issued by this API; pass endCursor or startCursor from a previous page.") from None
    # Issued cursors always hold a row id, which is a ULID. Any other text, such as one with
    # a NUL byte, would otherwise reach PostgreSQL and fail there.
    if parse_ulid(position.id) != position.id:
        raise _invalid(field, "is not a cursor issued by this API; pass endCursor or startCursor from a previous page.")
    if version != 1 or cursor_scope != scope:
        raise _invalid(field, "was issued for a different list, organisation or filter; start again from the first page.")
    return position


def check_page_request(request: PageRequest) -> None:
    for name, value in (("first", request.first), ("last", request.last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise _invalid(name, f"must be between 0 and {MAX_PAGE_SIZE}.")
    if request.first is not None and request.last is not None:
        raise _invalid("last", "cannot be combined with first; page forwards with first/after or backwards with last/before.")


def page_size(request: PageRequest) -> int:
    """Return the number of rows a page request reads: `last`, else `first`, else DEFAULT_PAGE_SIZE."""
    if request.last is not None:
        return request.last
    if request.first is not None:
        return request.first
    return DEFAULT_PAGE_SIZE


async def paginate(read: ReadRunner, table: Any, conditions: list[Any], request: PageRequest, scope: str) -> Page:
    """Run one keyset page query for `table` under `conditions`, and prepare its count query.

    `read` runs both, so in a request's shared snapshot the count matches the page. The
    page's rows are the named tuples that the loaders return for `table`.
    """
    check_page_request(request)
    after = decode_cursor("after", request.after, scope) if request.after else None
    before = decode_cursor("before", request.before, scope) if request.before else None

    keyset = list(conditions)
    if after:
        keyset.append(_older_than(table, after))
    if before:
        keyset.append(_newer_than(table, before))

    backwards = request.last is not None
    size = page_size(request)
    order = (table.updated_at.asc(), table.id.asc()) if backwards else (table.updated_at.desc(), table.id.desc())
    shape = row_shape(table)
    statement = select(*shape.columns).where(*keyset).order_by(*order).limit(size + 1)

    async def fetch_page(session: AsyncSession) -> list[Any]:
        return [shape.make(row) for row in (await execute_core(session, statement)).all()]

    async def count(session: AsyncSession) -> int:
        return (await session.execute(select(func.count()).select_from(table).where(*conditions))).scalar_one()

    rows = await read(fetch_page)
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    return Page(
        rows=rows,
        cursors=[encode_cursor(scope, row.updated_at, row.id) for row in rows],
        has_next_page=before is not None if backwards else has_more,
        has_previous_page=has_more if backwards else after is not None,
        total_count=TotalCount(lambda: read(count)),
    )


def _keyset(table: Any, position: _Position) -> tuple[Any, Any]:
    """Return (row key, cursor key) as row values, so both backends range-scan the index."""
    cursor = tuple_(literal(position.updated_at, type_=UTCDateTime), literal(position.id, type_=String))
    return tuple_(table.updated_at, table.id), cursor


def _older_than(table: Any, position: _Position) -> Any:
    row, cursor = _keyset(table, position)
    return row < cursor


def _newer_than(table: Any, position: _Position) -> Any:
    row, cursor = _keyset(table, position)
    return row > cursor
