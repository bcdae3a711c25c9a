"""Following `next_cursor` so callers can iterate a whole list without thinking about pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from neocloud.schemas.common import Page
from neocloud.sdk.errors import BAD_RESPONSE, NeocloudError

T = TypeVar("T")


def follow_pages(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of every page, fetching the next page only when the previous one is used up."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        if page.next_cursor in seen:
            # A server handing back a cursor twice would otherwise make us loop forever.
            raise NeocloudError(None, BAD_RESPONSE, "the server repeated a page cursor")
        seen.add(page.next_cursor)
        cursor = page.next_cursor
