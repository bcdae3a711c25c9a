"""Every committed change made for a request becomes one audit entry in the same transaction.

Listeners on every Session and Engine, so no route can forget to audit: an ORM flush is read
from the objects (before/after per row), a core INSERT/UPDATE/DELETE from its statement (rows
counted). Just before a request's transaction commits, its changes are added as one AuditRow,
so the entry commits if and only if the change does. Sessions without a request principal
(the control and webhook loops, `neocloud up`'s seeding) are not audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from neocloud.server.audit.changes import Changes
from neocloud.server.http.audit_scope import AuditScope, current
from neocloud.server.http.clock import utcnow
from neocloud.store.ids import new_id
from neocloud.store.models import AuditRow

_CHANGES = "neocloud_audit_changes"
_CONNECTION = "neocloud_audit_connection"


def _audited() -> AuditScope | None:
    scope = current()
    return scope if scope is not None and scope.principal is not None else None


def _changes(session: Session) -> Changes:
    found = session.info.get(_CHANGES)
    if found is None:
        found = session.info[_CHANGES] = Changes()
    assert isinstance(found, Changes)
    return found


def _before_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    scope = _audited()
    if scope is not None:
        scope.flushing = True


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    scope = _audited()
    if scope is None:
        return
    scope.flushing = False
    changes = _changes(session)
    # Still the pre-flush view here, with primary keys assigned and attribute history intact.
    for obj in session.new:
        changes.note_object(obj, "insert")
    for obj in session.dirty:
        changes.note_object(obj, "update")
    for obj in session.deleted:
        changes.note_object(obj, "delete")


def _after_begin(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    scope = _audited()
    if scope is not None:
        session.info[_CONNECTION] = id(connection)
        scope.statements[id(connection)] = []


def _after_execute(
    conn: Connection,
    statement: Any,
    multiparams: Any,
    params: Any,
    _options: Any,
    result: Any,
) -> None:
    scope = _audited()
    if scope is None or scope.flushing:
        return
    pending = scope.statements.get(id(conn))
    if pending is None:
        return
    sets = list(multiparams) if multiparams else [params] if params else []
    rowcount = getattr(result, "rowcount", -1) if not getattr(result, "returns_rows", True) else -1
    pending.append({"statement": statement, "params": sets, "rowcount": rowcount})


def _before_commit(session: Session) -> None:
    scope = _audited()
    if scope is None or session.in_nested_transaction():
        return
    # Changes still pending are flushed now, so they are noted before the entry is written.
    session.flush()
    changes = session.info.pop(_CHANGES, None) or Changes()
    for note in scope.statements.pop(session.info.pop(_CONNECTION, None) or 0, []):
        changes.note_statement(note["statement"], note["params"], note["rowcount"])
    if changes:
        session.add(success_entry(scope, changes))


def _after_transaction_end(session: Session, tx: SessionTransaction) -> None:
    if tx.parent is not None:
        return
    # Committed or rolled back: nothing of this transaction may reach a later entry.
    session.info.pop(_CHANGES, None)
    conn = session.info.pop(_CONNECTION, None)
    scope = current()
    if scope is not None:
        scope.flushing = False
        if conn is not None:
            scope.statements.pop(conn, None)


def success_entry(scope: AuditScope, changes: Changes) -> AuditRow:
    """The entry for a request whose changes are about to commit."""
    p = scope.principal
    assert p is not None
    orgs = changes.orgs()
    # One org's rows: its entry. None: the caller's own org, unless the operator changed
    # platform-wide things (fleet, prices). Several orgs: platform-wide, the operator's to read.
    org = next(iter(orgs)) if len(orgs) == 1 else None if orgs or p.is_operator else p.org_id
    return AuditRow(
        id=new_id("aud"),
        at=utcnow(),
        org_id=org,
        key_id=p.key_id,
        actor_org_id=p.org_id,
        role=p.role.value,
        client=scope.client,
        action=scope.action[:250],
        path=scope.path[:2000],
        target=(changes.target() or "")[:300] or None,
        outcome="success",
        status=scope.success_status,
        error_code=None,
        changes=changes.entries(),
    )


def install() -> None:
    """Listen on every Session and Engine (idempotent)."""
    hooks: list[tuple[Any, str, Any]] = [
        (Session, "before_flush", _before_flush),
        (Session, "after_flush", _after_flush),
        (Session, "after_begin", _after_begin),
        (Session, "before_commit", _before_commit),
        (Session, "after_transaction_end", _after_transaction_end),
        (Engine, "after_execute", _after_execute),
    ]
    for target, name, fn in hooks:
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)
