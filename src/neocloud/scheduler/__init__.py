"""The scheduler: admission by tier, quotas, placement, gangs, preemption, explanations (pure)."""

from neocloud.scheduler.model import (
    GpuSlot,
    Placement,
    PendingJob,
    Preempt,
    RunningJob,
    SchedulerInput,
    SchedulingResult,
    Start,
    Wait,
    WaitReason,
)

__all__ = [
    "GpuSlot",
    "PendingJob",
    "Placement",
    "Preempt",
    "RunningJob",
    "SchedulerInput",
    "SchedulingResult",
    "Start",
    "Wait",
    "WaitReason",
]
