"""Reading the audit log: the operator reads everything, an org's owner or admin its own org."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from neocloud.domain.tenancy import Permission
from neocloud.schemas.audit import AuditEntry, AuditOutcome
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import forbidden, invalid
from neocloud.server.http.pagination import MAX_LIMIT, page_of, paginate
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.db import Database
from neocloud.store.models import AuditRow


@dataclass(frozen=True)
class AuditFilter:
    """What to select: each field set narrows the entries; times are [since, until)."""

    org: str | None = None
    key: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None


def _select(s: Session, p: Principal, f: AuditFilter) -> Select[Any]:
    # Owners and admins manage their org, so they may see who changed it; nobody else may.
    p.require(Permission.MANAGE_ORG)
    if p.project_id is not None and not p.is_operator:
        raise forbidden("a project-scoped key may not read the audit log: it covers the whole org")
    stmt = select(AuditRow)
    if f.org:
        stmt = stmt.where(AuditRow.org_id == resolve_org(s, p, f.org).id)
    elif not p.is_operator:
        stmt = stmt.where(AuditRow.org_id == p.org_id)
    if f.key:
        stmt = stmt.where(AuditRow.key_id == f.key)
    if f.action:
        # "POST /v1/keys" names one route; "POST" every call of a method.
        a = f.action.strip()
        stmt = stmt.where(AuditRow.action == a if " " in a else AuditRow.action.startswith(a + " "))
    if f.target:
        # "api_keys:key_…" is one row; "api_keys" any row of that table.
        t = f.target
        stmt = stmt.where(
            AuditRow.target == t
            if ":" in t
            else (AuditRow.target == t) | AuditRow.target.startswith(t + ":")
        )
    if f.outcome:
        try:
            stmt = stmt.where(AuditRow.outcome == AuditOutcome(f.outcome).value)
        except ValueError:
            known = ", ".join(o.value for o in AuditOutcome)
            raise invalid("outcome", f"unknown outcome {f.outcome!r}; known: {known}") from None
    if f.since is not None:
        stmt = stmt.where(AuditRow.at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditRow.at < f.until)
    return stmt


def entry_out(row: AuditRow) -> AuditEntry:
    """A stored entry as the API shows it."""
    return AuditEntry(
        id=row.id,
        at=row.at,
        org_id=row.org_id,
        key_id=row.key_id,
        actor_org_id=row.actor_org_id,
        role=row.role,
        client=row.client,
        action=row.action,
        path=row.path,
        target=row.target,
        outcome=AuditOutcome(row.outcome),
        status=row.status,
        error_code=row.error_code,
        changes=row.changes,
    )


def list_entries(
    s: Session, p: Principal, f: AuditFilter, cursor: str | None, limit: int
) -> tuple[list[AuditEntry], str | None]:
    """One page of the entries the caller may read, oldest first."""
    rows = s.scalars(paginate(_select(s, p, f), AuditRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [entry_out(r) for r in items], nxt


def check(db: Database, p: Principal, f: AuditFilter) -> None:
    """Refuse an export the caller may not read before its stream starts (403/404/422)."""
    with db.session() as s:
        _select(s, p, f)


def export_lines(db: Database, p: Principal, f: AuditFilter) -> Iterator[str]:
    """Every selected entry as one JSON line, oldest first, read a page per transaction."""
    cursor: str | None = None
    while True:
        with db.session() as s:
            items, cursor = list_entries(s, p, f, cursor, MAX_LIMIT)
        for item in items:
            yield item.model_dump_json() + "\n"
        if cursor is None:
            return
