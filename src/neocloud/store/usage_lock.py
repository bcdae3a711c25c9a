"""The usage lock: finalizing an invoice waits for usage writes in flight, and they for it.

Writers of usage (usage events, usage records) hold it shared; finalizing an invoice holds it
exclusively. Each writer stamps its rows (received_at, recorded_at) only after it holds the
lock, and finalizing reads its cutoff only after it holds the lock. So every row stamped before
an invoice's cutoff was committed before the invoice read it, and every row committed after has
a later stamp: usage is never missed by an invoice nor billed by two.

PostgreSQL: a transaction-scoped advisory lock (shared or exclusive). SQLite: every write
transaction already holds the database's single writer lock from its first statement
(BEGIN IMMEDIATE), so taking the lock only means starting the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

# An arbitrary constant naming this lock among PostgreSQL advisory locks.
_KEY = 0x6E63_7573  # "ncus"


def hold_shared(s: Session, not_before: datetime | None = None) -> datetime:
    """Hold the usage lock shared until the transaction ends (usage writers); returns the stamp.

    The stamp is the wall clock read once the lock is held, never before `not_before` (the
    caller's clock reading, so a test clock ahead of the wall clock still holds). Only the lock
    knows when it was acquired, so it, not its callers, reads the clock here.
    """
    _hold(s, "pg_advisory_xact_lock_shared")
    return _stamp(not_before)


def hold_exclusive(s: Session, not_before: datetime | None = None) -> datetime:
    """Hold the usage lock exclusively until the transaction ends (finalizing); the stamp."""
    _hold(s, "pg_advisory_xact_lock")
    return _stamp(not_before)


def _stamp(not_before: datetime | None) -> datetime:
    now = datetime.now(UTC)
    return now if not_before is None else max(not_before, now)


def _hold(s: Session, function: str) -> None:
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text(f"SELECT {function}(:key)"), {"key": _KEY})
    else:
        s.execute(text("SELECT 1"))
