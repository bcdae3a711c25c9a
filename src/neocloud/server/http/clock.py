"""Where the control plane's edge reads the wall clock (the core never does).

Routers, loop ticks and the request dependencies read it here once and pass `now` down; services
never read it. The one other reading is the usage lock's stamp (store.usage_lock), which must be
taken after the lock is held and so cannot come from the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)
