"""Path and query parameters are identifiers, ids, dates and cursors: no control characters.

Checked for every route before anything else runs, so a NUL in `/v1/jobs/{id}` or `?org=` is a
422 naming the parameter on both databases, instead of PostgreSQL failing the query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import Request

from neocloud.domain.text import instant_problem, name_problem
from neocloud.server.http.errors import invalid

MAX_PARAM_LENGTH = 2048


def check_params(request: Request) -> None:
    """Dependency: 422 for a path or query parameter that no identifier may hold."""
    values = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in values:
        if not isinstance(value, str):
            continue
        problem = name_problem(value)
        if problem is None and len(value) > MAX_PARAM_LENGTH:
            problem = f"longer than {MAX_PARAM_LENGTH} characters"
        if problem is not None:
            raise invalid(name, problem)


def parse_instant(field: str, value: str) -> datetime:
    """An ISO date (midnight UTC) or an ISO datetime with a timezone."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            t = datetime(d.year, d.month, d.day, tzinfo=UTC)
        else:
            t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise invalid(field, f"not an ISO date or datetime: {value!r}") from exc
    if t.tzinfo is None:
        raise invalid(field, "datetime must include a timezone (use Z for UTC)")
    problem = instant_problem(t)
    if problem is not None:
        raise invalid(field, problem)
    return t.astimezone(UTC)


def window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """[from, to) with defaults: the current month so far."""
    lo = (
        parse_instant("from", start)
        if start
        else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    hi = parse_instant("to", end) if end else now
    return lo, hi
