"""The incremental scheduler interface, on top of the one-pass `schedule(snapshot)`.

It keeps the snapshot between passes and applies each pass's decisions to it: a start makes
the job running from `now`; a preemption marks the victim as preempting (it keeps its GPUs
until `release`). The incremental `neocloud.scheduler.state.Scheduler` has the same methods.
"""

from __future__ import annotations

from dataclasses import replace

from neocloud.scheduler.model import (
    NodeState,
    PendingJob,
    RunningJob,
    SchedulerInput,
    SchedulingResult,
)
from neocloud.scheduler.schedule import schedule


class SnapshotScheduler:
    """Submit, withdraw, release, step: one `schedule` pass over a snapshot kept in memory."""

    def __init__(self, snapshot: SchedulerInput) -> None:
        self._base = snapshot
        self._nodes = {n.name: n for n in snapshot.nodes}
        self._running = {j.id: j for j in snapshot.running}
        self._pending = {j.id: j for j in snapshot.pending}
        self._started = max((j.started_order for j in snapshot.running), default=0)

    def submit(self, job: PendingJob) -> None:
        """Add a pending job."""
        if job.id in self._pending or job.id in self._running:
            raise ValueError(f"job {job.id} is already known")
        self._pending[job.id] = job

    def withdraw(self, job_id: str) -> None:
        """Remove a pending job (cancelled before it started)."""
        del self._pending[job_id]

    def release(self, job_id: str, now: float) -> None:
        """A running job's GPUs are free: it completed, or a preempted victim exited."""
        del self._running[job_id]

    def set_schedulable(self, node: str, schedulable: bool) -> None:
        """Open or close a node to new work (running jobs stay)."""
        self._nodes[node] = replace(self._nodes[node], schedulable=schedulable)

    def step(self, now: float) -> SchedulingResult:
        """One pass at `now`; its starts and preemptions take effect in the state at once."""
        snapshot = replace(
            self._base,
            nodes=tuple(self._nodes.values()),
            running=tuple(self._running.values()),
            pending=tuple(self._pending.values()),
            now=now,
        )
        result = schedule(snapshot)
        for start in result.starts:
            job = self._pending.pop(start.job_id)
            self._started += 1
            self._running[job.id] = RunningJob(
                id=job.id,
                org=job.org,
                org_kind=job.org_kind,
                tier=job.tier,
                gpu_type=job.resources.gpu_type,
                placement=start.placement,
                started_order=self._started,
                priority_class=job.priority_class,
                grace_seconds=job.grace_seconds,
                started_at=now,
                max_runtime_seconds=job.max_runtime_seconds,
            )
        for preempt in result.preemptions:
            victim = self._running[preempt.job_id]
            self._running[victim.id] = replace(victim, preempting_for=preempt.by_job_id)
        return result

    def pending(self) -> tuple[PendingJob, ...]:
        """Jobs waiting to start."""
        return tuple(self._pending.values())

    def running(self) -> tuple[RunningJob, ...]:
        """Jobs holding GPUs (preempted victims still exiting included)."""
        return tuple(self._running.values())

    def nodes(self) -> tuple[NodeState, ...]:
        """Nodes as the scheduler sees them."""
        return tuple(self._nodes.values())
