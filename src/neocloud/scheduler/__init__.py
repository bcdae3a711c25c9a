"""The scheduler: admission by tier, quotas, placement, gangs, preemption, explanations (pure).

`schedule` decides one pass over a snapshot; `state.Scheduler` is the same rules kept between
passes. The units, each readable alone: `admission` (limits, ordering, fair share, the per-type
pass), `placement` (nodes, best fit, backfill, isolation), `preemption` (victims) and
`explanation` (why a job waits); docs/scheduling.md maps them to the rules.
"""

from neocloud.scheduler.model import (
    GpuSlot,
    NodeState,
    PendingJob,
    Placement,
    Preempt,
    RunningJob,
    SchedulerInput,
    SchedulingResult,
    Start,
    Wait,
    WaitReason,
)
from neocloud.scheduler.schedule import schedule

__all__ = [
    "GpuSlot",
    "NodeState",
    "PendingJob",
    "Placement",
    "Preempt",
    "RunningJob",
    "SchedulerInput",
    "SchedulingResult",
    "Start",
    "Wait",
    "WaitReason",
    "schedule",
]
