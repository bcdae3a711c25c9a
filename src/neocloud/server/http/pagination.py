"""Cursor pagination over time-ordered ids: stable under inserts, no offsets."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select

from neocloud.server.http.errors import invalid

T = TypeVar("T")
MAX_LIMIT = 500

# The `limit` of every list: declared bounds, so a bad one is a 422 naming it.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, 1 to {MAX_LIMIT}")]


def encode_cursor(last_id: str) -> str:
    """Opaque cursor for the item after `last_id`."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor points after; 422 if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("cursor", "not a valid cursor") from exc
    if "_" not in value:
        raise invalid("cursor", "not a valid cursor")
    return value


def paginate(stmt: Select[Any], id_column: Any, cursor: str | None, limit: int) -> Select[Any]:
    """Apply cursor and limit (+1 to know whether another page exists)."""
    if limit < 1 or limit > MAX_LIMIT:
        raise invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    if cursor:
        stmt = stmt.where(id_column > decode_cursor(cursor))
    return stmt.order_by(id_column).limit(limit + 1)


def page_of(rows: Sequence[T], limit: int, id_of: Any) -> tuple[list[T], str | None]:
    """Split the fetched rows into this page and the next cursor."""
    items = list(rows[:limit])
    nxt = encode_cursor(id_of(items[-1])) if len(rows) > limit and items else None
    return items, nxt
