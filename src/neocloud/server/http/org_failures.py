"""One org's failure stops nobody else: per-org isolation for every loop and cross-org report.

Each loop (credit guard, budgets, webhook delivery) and each report over many orgs (margin,
invoice runs, exports, spend) does one org's share of its work inside `per_org(...)`. An
exception there is caught, rolled back to a savepoint taken just before (so the org's partial
writes go and the session stays usable), logged with the org's name and id, counted in
/metrics (`neocloud_org_failures_total{loop}`, `neocloud_failing_orgs{loop}`), and kept in
`FAILURES`, which the health routes and the org's own views read. Then the next org goes on.
The next success of that org in that loop clears its record.

The record is the process's own (as the metrics are): each replica reports what it saw.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy.orm import Session

from neocloud.schemas import org_failures as api
from neocloud.schemas.common import ErrorEnvelope
from neocloud.server.http import metrics
from neocloud.server.http.clock import utcnow
from neocloud.server.http.errors import ApiError

log = logging.getLogger("neocloud.org_failures")
ERROR_CHARS = 500
# The response header of a cross-org report or run that left orgs out: their ids.
FAILED_ORGS_HEADER = "Neocloud-Failed-Orgs"
# What a read about one org answers when that org's share fails (declared in OpenAPI).
ORG_FAILED_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorEnvelope,
        "description": "The org's usage cannot be rated or exported now (`org_failed`,"
        " `missing_price`)",
    }
}


class Loop(StrEnum):
    """The loops and reports that work org by org."""

    CREDIT_GUARD = "credit_guard"
    BUDGETS = "budgets"
    WEBHOOKS = "webhooks"
    INVOICE_RUN = "invoice_run"
    MARGIN = "margin"
    SPEND = "spend"
    EXPORTS = "exports"


# Labelled by loop only: orgs are created by customers, so an org label would grow unbounded.
ORG_FAILURES = Counter(
    "neocloud_org_failures_total",
    "Failures of one org's share of a loop or report (the other orgs went on)",
    ["loop"],
    registry=metrics.REGISTRY,
)
FAILING_ORGS = Gauge(
    "neocloud_failing_orgs",
    "Orgs whose last pass of a loop or report failed",
    ["loop"],
    registry=metrics.REGISTRY,
)


@dataclass(frozen=True, slots=True)
class OrgFailure:
    """An org whose share of a loop failed: the last error, since when, and how many times."""

    loop: Loop
    org_id: str
    org_name: str
    error: str
    since: datetime
    last: datetime
    count: int


class OrgFailures:
    """The orgs failing now, per loop; shared by the loops' threads and the API's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by: dict[tuple[Loop, str], OrgFailure] = {}

    def record(
        self, loop: Loop, org_id: str, org_name: str, exc: BaseException, now: datetime
    ) -> OrgFailure:
        """Remember that the org's share of the loop failed with exc (now)."""
        error = public_error(exc)
        with self._lock:
            old = self._by.get((loop, org_id))
            if old is None:
                new = OrgFailure(loop, org_id, org_name, error, now, now, 1)
            else:
                new = replace(old, org_name=org_name, error=error, last=now, count=old.count + 1)
            self._by[(loop, org_id)] = new
            FAILING_ORGS.labels(loop=loop.value).set(self._count(loop))
        return new

    def clear(self, loop: Loop, org_id: str) -> None:
        """Forget the org's failure in the loop: its share just succeeded."""
        with self._lock:
            if self._by.pop((loop, org_id), None) is not None:
                FAILING_ORGS.labels(loop=loop.value).set(self._count(loop))

    def current(self, org_id: str | None = None) -> list[OrgFailure]:
        """Failing orgs (or one org's failures), by loop then org name."""
        with self._lock:
            found = [f for f in self._by.values() if org_id is None or f.org_id == org_id]
        return sorted(found, key=lambda f: (f.loop.value, f.org_name, f.org_id))

    def counts(self) -> dict[str, int]:
        """How many orgs are failing per loop (loops without failures are left out)."""
        out: dict[str, int] = {}
        for failure in self.current():
            out[failure.loop.value] = out.get(failure.loop.value, 0) + 1
        return out

    def reset(self) -> None:
        """Forget everything (a fresh process, or a test)."""
        with self._lock:
            loops = {loop for loop, _ in self._by}
            self._by.clear()
            for loop in loops:
                FAILING_ORGS.labels(loop=loop.value).set(0)

    def _count(self, loop: Loop) -> int:
        return sum(1 for key in self._by if key[0] is loop)


FAILURES = OrgFailures()


def failure_out(failure: OrgFailure) -> api.OrgFailure:
    """Wire form of a failure."""
    return api.OrgFailure(
        loop=failure.loop.value,
        org_id=failure.org_id,
        org_name=failure.org_name,
        error=failure.error,
        since=failure.since,
        last=failure.last,
        count=failure.count,
    )


def public_error(exc: BaseException) -> str:
    """What the org and the operator read: the message of a refusal about the org's own data
    (ValueError, such as a missing price, or an API error), else only the kind of error (the
    log has the rest: a database error's text may show what the org must not see)."""
    if isinstance(exc, ApiError):
        return f"{exc.code}: {exc.message}"[:ERROR_CHARS]
    if isinstance(exc, ValueError):
        return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
    return f"{type(exc).__name__} (the server log has the details)"


@dataclass(slots=True)
class Attempt:
    """One org's share of a loop; `failure` is set when it failed (and was contained)."""

    failure: OrgFailure | None = None


@contextmanager
def per_org(
    loop: Loop,
    org_id: str,
    org_name: str | None = None,
    session: Session | None = None,
    *,
    answer: bool = False,
) -> Iterator[Attempt]:
    """Run one org's share of a loop: a failure is contained, logged, counted and recorded.

    With a session, the share runs in a savepoint, rolled back on failure: the org's partial
    writes are undone and the transaction stays usable for the next org. With answer=True (a
    request about this one org), the failure is recorded and then answered as a 409 naming
    the org, instead of being contained.
    """
    attempt = Attempt()
    name = org_name or org_id
    savepoint = session.begin_nested() if session is not None else None
    try:
        yield attempt
        if savepoint is not None and savepoint.is_active:
            savepoint.commit()
    except Exception as exc:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()
        log.exception("%s failed for org %s (%s); the other orgs go on", loop.value, name, org_id)
        ORG_FAILURES.labels(loop=loop.value).inc()
        attempt.failure = FAILURES.record(loop, org_id, name, exc, utcnow())
        if answer and isinstance(exc, ApiError):
            raise
        if answer:
            raise ApiError(
                409,
                "org_failed",
                f"cannot work out {loop.value} for org {name}: {attempt.failure.error}",
                {"org": name, "loop": loop.value},
            ) from exc
    else:
        FAILURES.clear(loop, org_id)
