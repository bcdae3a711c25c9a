"""The scheduler: admission by tier, quotas, placement, gangs, preemption, explanations (pure).

`schedule` decides one pass over a snapshot; `state.Scheduler` is the same rules kept between
passes. The units, each readable alone and lowest first (each imports only `model` and the units
before it; tests/architecture/test_scheduler_units.py checks it): `explanation` (reason codes and
sentences), `admission` (limits, ordering, fair share, groups), `preemption` (victims) and
`placement` (nodes, best fit, backfill, isolation). The pass that puts them together lives here:
`typepass` (one pass over one GPU type) with `arrivals`, `reclaim`, `explaining`, `passrecord`
and `pass_end`; its state is `world` and `typestate`. docs/scheduling.md maps them to the rules.
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
