"""Usage events: batches validated whole, stored once per (org, id), atomically."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from neocloud.billing.document import GPU_METER
from neocloud.domain.tenancy import Permission
from neocloud.schemas import metering as api
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import invalid
from neocloud.server.http.pagination import decode_cursor, page_of, paginate
from neocloud.server.metering.meters import reported_meters
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.models import OrgRow, ProjectRow, UsageEventRow
from neocloud.store.usage_lock import hold_shared

_CURSOR_TAG = "evt_"
_T = TypeVar("_T")


def event_out(row: UsageEventRow) -> api.UsageEvent:
    """Wire form of a stored event."""
    return api.UsageEvent(
        id=row.id,
        org_id=row.org_id,
        project_id=row.project_id,
        meter=row.meter,
        value=row.value,
        time=row.time,
        dimensions=dict(row.dimensions),
        received_at=row.received_at,
    )


def ingest(
    s: Session,
    p: Principal,
    batch: api.UsageEventBatch,
    max_age_seconds: int,
    max_future_seconds: int,
) -> api.UsageEventsAccepted:
    """Store a batch: every event is checked first, so one bad event stores nothing.

    An event whose (org, id) is already stored, or repeats an earlier event of the batch, is a
    duplicate: it counts once, the first one wins. Concurrent retries of the same events are
    safe because the database, not this code, decides which insert is first.
    """
    p.require(Permission.OPERATE)
    # Stamped only now that the usage lock is held (see store.usage_lock).
    now = hold_shared(s)
    events = batch.events
    orgs = _org_ids(s, events)
    projects = _project_ids(s, events, orgs)
    meters = reported_meters(s)
    oldest = now - timedelta(seconds=max_age_seconds)
    latest = now + timedelta(seconds=max_future_seconds)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for i, ev in enumerate(events):
        where = f"events[{i}]"
        org_id = orgs.get(ev.org)
        if org_id is None:
            raise invalid(f"{where}.org", f"unknown org {ev.org!r}")
        project_id = None
        if ev.project is not None:
            project_id = projects.get((org_id, ev.project))
            if project_id is None:
                raise invalid(f"{where}.project", f"org {ev.org!r} has no project {ev.project!r}")
        meter = meters.get(ev.meter)
        if meter is None:
            if ev.meter == GPU_METER:
                raise invalid(
                    f"{where}.meter",
                    f"{GPU_METER} is measured by the platform from allocations, not reported",
                )
            known = ", ".join(sorted(meters)) or "none declared"
            raise invalid(f"{where}.meter", f"unknown meter {ev.meter!r} (known: {known})")
        if ev.time > latest:
            raise invalid(
                f"{where}.time",
                f"{ev.time.isoformat()} is more than {max_future_seconds} s ahead of the"
                " server's clock",
            )
        if ev.time < oldest:
            raise invalid(
                f"{where}.time",
                f"{ev.time.isoformat()} is older than the {max_age_seconds // 86_400}-day"
                " limit for usage events",
            )
        for key in (meter.unique_by, *meter.group_by):
            if key is not None and key not in ev.dimensions:
                raise invalid(
                    f"{where}.dimensions", f"meter {ev.meter!r} needs the dimension {key!r}"
                )
        rows.setdefault(
            (org_id, ev.id),
            {
                "org_id": org_id,
                "id": ev.id,
                "project_id": project_id,
                "meter": ev.meter,
                "value": ev.value,
                "time": ev.time,
                "dimensions": dict(ev.dimensions),
                "received_at": now,
            },
        )
    # Inserting in key order means two concurrent batches sharing events wait on each other's
    # keys in the same order, so they queue instead of deadlocking.
    accepted = _insert_new(s, [rows[k] for k in sorted(rows)])
    return api.UsageEventsAccepted(
        received=len(events), accepted=accepted, duplicates=len(events) - accepted
    )


def _insert_new(s: Session, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT DO NOTHING; the rows returned are exactly the ones newly stored."""
    if not rows:
        return 0
    if s.get_bind().dialect.name == "postgresql":
        return _insert_new_postgresql(s, rows)
    # One statement over many parameter sets: compiled once and sent in multi-row batches,
    # instead of compiling a thousand-row VALUES clause for every request. RETURNING names the
    # mapped column: SQLAlchemy then gathers the rows of every batch, where with a bare text()
    # column it kept only the last batch's, and a batch of 10,000 counted 1,000 as new.
    stmt = (
        sqlite.insert(UsageEventRow)
        .on_conflict_do_nothing(index_elements=["org_id", "id"])
        .returning(UsageEventRow.id)
    )
    return len(s.connection().execute(stmt, list(rows)).all())


def _insert_new_postgresql(s: Session, rows: Sequence[dict[str, Any]]) -> int:
    # Eight arrays and one statement: the server unnests them, so the request's cost does not
    # grow with a placeholder per value (psycopg re-parses large multi-row statements).
    columns = ("org_id", "id", "project_id", "meter", "value", "time", "dimensions")
    arrays = {c: [r[c] for r in rows] for c in columns}
    arrays["value"] = [v.quantize(Decimal("0.000001")) for v in arrays["value"]]
    arrays["dimensions"] = [json.dumps(d, sort_keys=True) for d in arrays["dimensions"]]
    stmt = text(
        "INSERT INTO usage_events"
        " (org_id, id, project_id, meter, value, time, dimensions, received_at)"
        " SELECT o, i, p, m, v, t, d::json, :received_at"
        " FROM unnest(CAST(:org_id AS varchar[]), CAST(:id AS varchar[]),"
        " CAST(:project_id AS varchar[]), CAST(:meter AS varchar[]), CAST(:value AS numeric[]),"
        " CAST(:time AS timestamptz[]), CAST(:dimensions AS text[]))"
        " AS e(o, i, p, m, v, t, d) ORDER BY o, i"
        " ON CONFLICT (org_id, id) DO NOTHING RETURNING id"
    )
    params = {**arrays, "received_at": rows[0]["received_at"]}
    return len(s.execute(stmt, params).all())


def _org_ids(s: Session, events: Iterable[api.UsageEventIn]) -> dict[str, str]:
    """Org name or id as sent → org id, for every org the batch names that exists."""
    idents = {ev.org for ev in events}
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(idents)):
        for org_id, name in s.execute(
            select(OrgRow.id, OrgRow.name).where(or_(OrgRow.id.in_(chunk), OrgRow.name.in_(chunk)))
        ):
            for ident in (org_id, name):
                if ident in idents:
                    found[ident] = org_id
    return found


def _project_ids(
    s: Session, events: Iterable[api.UsageEventIn], orgs: dict[str, str]
) -> dict[tuple[str, str], str]:
    """(org id, project name or id as sent) → project id."""
    wanted = {(orgs[ev.org], ev.project) for ev in events if ev.project and ev.org in orgs}
    found: dict[tuple[str, str], str] = {}
    for chunk in _chunks(sorted(wanted)):
        clauses = [
            and_(ProjectRow.org_id == o, or_(ProjectRow.id == ident, ProjectRow.name == ident))
            for o, ident in chunk
        ]
        for pid, org_id, name in s.execute(
            select(ProjectRow.id, ProjectRow.org_id, ProjectRow.name).where(or_(*clauses))
        ):
            for ident in (pid, name):
                if (org_id, ident) in wanted:
                    found[(org_id, ident)] = pid
    return found


def _chunks(items: Sequence[_T], size: int = 500) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def list_events(
    s: Session,
    p: Principal,
    org_ident: str | None,
    meter: str | None,
    start: datetime,
    end: datetime,
    cursor: str | None,
    limit: int,
) -> tuple[list[api.UsageEvent], str | None]:
    """One org's stored events in [start, end) by usage time, in id order (own org by default)."""
    p.require(Permission.READ_BILLING)
    org_id = resolve_org(s, p, org_ident).id if org_ident else p.org_id
    stmt = select(UsageEventRow).where(
        UsageEventRow.org_id == org_id, UsageEventRow.time >= start, UsageEventRow.time < end
    )
    if meter:
        stmt = stmt.where(UsageEventRow.meter == meter)
    # Event ids are the sender's, not ours: wrap them so the cursor codec recognises its own.
    after = decode_cursor(cursor).removeprefix(_CURSOR_TAG) if cursor else None
    if after is not None:
        stmt = stmt.where(UsageEventRow.id > after)
    rows = s.scalars(paginate(stmt, UsageEventRow.id, None, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: _CURSOR_TAG + r.id)
    return [event_out(r) for r in items], nxt
