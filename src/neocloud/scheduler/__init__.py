"""The scheduler: admission by tier, quotas, placement, gangs, preemption, explanations (pure)."""

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
