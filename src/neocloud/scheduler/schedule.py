"""One scheduling pass over a snapshot: every pending job starts, preempts to start, or waits.

The live server calls `schedule` with a snapshot and applies its decisions; it reads no clock
and keeps no state between passes. It is the stateful `Scheduler` built from the snapshot and
stepped once, so the server and the simulator run the same code. The rules are in `typepass`
(what a job does), `limits` (quotas, borrowing, contracts, the sellable cap), `preemption`
(who may be a victim), `ordering` and `fairshare` (who goes first), `timeline` (planned starts
for backfill) and `index` (placement); docs/scheduling.md reads them as a specification.
"""

from __future__ import annotations

from neocloud.scheduler.model import SchedulerInput, SchedulingResult
from neocloud.scheduler.state import Scheduler


def schedule(snapshot: SchedulerInput) -> SchedulingResult:
    """Decide one pass: which pending jobs start where, which jobs to preempt, who waits."""
    return Scheduler(snapshot).step(snapshot.now)
