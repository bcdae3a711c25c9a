"""One scheduling pass over a snapshot: every pending job starts, preempts to start, or waits.

The live server calls `schedule` with a snapshot and applies its decisions; it reads no clock
and keeps no state between passes. It is the stateful `Scheduler` built from the snapshot and
stepped once, so the server and the simulator run the same code. The rules are in
`typepass` (what a job does), `admission.limits` (quotas, borrowing, contracts, the
sellable cap), `admission.ordering` and `admission.fairshare` (who goes first),
`preemption.victims` (who may be a victim), `placement.index` (placement),
`placement.reservation` and `placement.timeline` (planned starts for backfill) and
`explanation` (why a job waits); docs/scheduling.md reads them as a specification.
"""

from __future__ import annotations

from neocloud.scheduler.model import SchedulerInput, SchedulingResult
from neocloud.scheduler.state import Scheduler


def schedule(snapshot: SchedulerInput) -> SchedulingResult:
    """Decide one pass: which pending jobs start where, which jobs to preempt, who waits."""
    return Scheduler(snapshot).step(snapshot.now)
