"""The discrete-event simulator: replays a trace through the scheduler on a virtual clock.

Events are arrivals, completions and preempted jobs' exits. After every batch of events at
the same virtual time the scheduler takes one step at that time: starts schedule a
completion at `now + run time`; a preemption schedules the victim's exit after its grace
period (or lets it complete, if it would finish within the grace). An exited victim releases
its GPUs and counts one preemption; what happens next is the server's own rule
(`domain.attempts.after_attempt`): while its retry policy allows, it is requeued as a new
submission that restarts from scratch (no checkpoints: the work done before the preemption is
lost), else it stays preempted. A job that runs to its max runtime before its duration is done
ends failed, as the server ends it. Fragmentation is the scheduler's own figure after each
step, integrated over virtual time.

Pure: no clock, no I/O; the same inputs give the same outcome.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from neocloud.domain.attempts import AttemptEnd, EndKind, after_attempt
from neocloud.domain.jobs import DEFAULT_GRACE_SECONDS, JobState
from neocloud.scheduler.model import (
    NodeState,
    PendingJob,
    SchedulerInput,
    SchedulingResult,
)
from neocloud.scheduler.state import TOTAL, Scheduler
from neocloud.sim.records import Attempt, JobRecord, SimOutcome
from neocloud.sim.trace import TraceJob

# Same-time events: completions, then exits of preempted jobs, then arrivals (arrivals are
# merged from the sorted trace rather than pushed on the heap).
_COMPLETE = 0
_EXIT = 1


class SchedulerLike(Protocol):
    """The incremental scheduler interface the simulator drives."""

    def submit(self, job: PendingJob) -> None:
        """Add a pending job."""

    def release(self, job_id: str, now: float) -> None:
        """Free a running job's GPUs."""

    def step(self, now: float) -> SchedulingResult:
        """One pass at `now`."""


SchedulerFactory = Callable[[SchedulerInput], SchedulerLike]
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """The fleet and the policy inputs a simulation runs under."""

    nodes: tuple[NodeState, ...]
    quotas: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # (org, GPU type) → GPUs under a reserved contract: reserved work runs only under one.
    contracts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    sellable_cap: Mapping[str, float] = field(default_factory=dict)
    spot_grace_s: int = DEFAULT_GRACE_SECONDS


def simulate(
    jobs: Sequence[TraceJob],
    config: SimConfig,
    *,
    scheduler: SchedulerFactory = Scheduler,
    progress: Progress | None = None,
) -> SimOutcome:
    """Run every job of a trace (in submit order) to its end, or until nothing can change."""
    return _Run(jobs, config, scheduler, progress).run()


@dataclass(slots=True)
class _Job:
    """A job's mutable state during the run."""

    job: TraceJob
    queued_at: float
    attempt: int = 0
    started_at: float | None = None
    first_start: float | None = None
    end: float | None = None
    pending_s: float = 0.0
    preemptions: int = 0
    gpu_seconds: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    state: JobState = JobState.PENDING
    # The job the running attempt was preempted for, once it was.
    preempted_by: str = ""


class _Run:
    """One simulation; nothing outlives `run`."""

    def __init__(
        self,
        jobs: Sequence[TraceJob],
        config: SimConfig,
        factory: SchedulerFactory,
        progress: Progress | None,
    ) -> None:
        self._jobs = sorted(jobs, key=lambda j: (j.submit_time, j.line))
        self._config = config
        self._progress = progress
        self._scheduler = factory(
            SchedulerInput(
                nodes=config.nodes,
                running=(),
                pending=(),
                quotas=config.quotas,
                contracts=config.contracts,
                sellable_cap=config.sellable_cap,
            )
        )
        self._state = [_Job(job, queued_at=job.submit_time) for job in self._jobs]
        self._index = {job.id: i for i, job in enumerate(self._jobs)}
        if len(self._index) != len(self._jobs):
            raise ValueError("job ids must be unique")
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self._order = 0
        # Fragmentation as the scheduler reports it after each step, integrated over time.
        self._stranded = 0.0
        self._stranded_now = 0
        self._done = 0
        self._pending = 0
        self._last_end: float | None = None
        self._steps = 0
        self._events = 0

    def run(self) -> SimOutcome:
        """Process events in time order until none are left."""
        arrivals = 0
        now = self._jobs[0].submit_time if self._jobs else 0.0
        start, last = now, now
        batches = 0
        while arrivals < len(self._jobs) or self._heap:
            batches += 1
            if self._progress is not None and batches % 4096 == 0:
                self._progress(self._done, len(self._jobs))
            now = self._next_time(arrivals)
            while self._heap and self._heap[0][0] == now:
                _, kind, _, index, attempt = heapq.heappop(self._heap)
                self._events += 1
                if kind == _COMPLETE:
                    self._complete(index, attempt, now)
                else:
                    self._exit(index, attempt, now)
            while arrivals < len(self._jobs) and self._jobs[arrivals].submit_time == now:
                self._events += 1
                self._submit(arrivals, now)
                arrivals += 1
            self._integrate(last, now)
            last = now
            # With nothing pending a step could decide nothing (only GPUs were freed): skip it.
            if self._pending == 0:
                self._stranded_now = 0
                continue
            self._apply(self._scheduler.step(now), now)
            self._steps += 1
        if self._progress is not None:
            self._progress(self._done, len(self._jobs))
        return SimOutcome(
            records=tuple(self._record(s) for s in self._state),
            fleet_gpus=sum(n.gpus for n in self._config.nodes if n.schedulable),
            start=start,
            # Makespan ends with the last job to end (arrivals that never run do not extend it).
            end=self._last_end if self._last_end is not None else start,
            stranded_gpu_seconds=self._stranded,
            scheduler_steps=self._steps,
            events=self._events,
        )

    def _next_time(self, arrivals: int) -> float:
        candidates = []
        if arrivals < len(self._jobs):
            candidates.append(self._jobs[arrivals].submit_time)
        if self._heap:
            candidates.append(self._heap[0][0])
        return min(candidates)

    def _push(self, when: float, kind: int, index: int, attempt: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, kind, self._seq, index, attempt))

    def _submit(self, index: int, now: float) -> None:
        state = self._state[index]
        job = state.job
        state.queued_at = now
        self._pending += 1
        self._order += 1
        self._scheduler.submit(
            PendingJob(
                id=job.id,
                org=job.org,
                org_kind=job.org_kind,
                tier=job.tier,
                resources=job.resources,
                order=self._order,
                priority_class=job.priority_class,
                grace_seconds=self._config.spot_grace_s,
                max_runtime_seconds=math.ceil(job.max_runtime),
                submitted_at=now,
            )
        )

    def _apply(self, result: SchedulingResult, now: float) -> None:
        for start in result.starts:
            index = self._index[start.job_id]
            state = self._state[index]
            self._pending -= 1
            state.started_at = now
            state.state = JobState.RUNNING
            state.pending_s += now - state.queued_at
            if state.first_start is None:
                state.first_start = now
            self._push(now + state.job.run_time, _COMPLETE, index, state.attempt)
        for preempt in result.preemptions:
            index = self._index[preempt.job_id]
            state = self._state[index]
            assert state.started_at is not None, f"{preempt.job_id} is not running"
            remaining = state.started_at + state.job.run_time - now
            # A victim that finishes within its grace period simply completes.
            if remaining > preempt.grace_seconds:
                state.preempted_by = preempt.by_job_id
                self._push(now + preempt.grace_seconds, _EXIT, index, state.attempt)
        self._stranded_now = result.fragmentation.get(TOTAL, 0)

    def _complete(self, index: int, attempt: int, now: float) -> None:
        state = self._state[index]
        if state.attempt != attempt or state.started_at is None:
            return  # that attempt was preempted and has already exited
        self._release(state, now)
        job = state.job
        # Cut at its max runtime before its duration was done: the platform killed it.
        end = (
            AttemptEnd(EndKind.MAX_RUNTIME, str(math.ceil(job.max_runtime)))
            if job.max_runtime < job.duration
            else AttemptEnd(EndKind.COMPLETED)
        )
        state.state = self._outcome(state, end)
        state.end = now
        self._done += 1

    def _exit(self, index: int, attempt: int, now: float) -> None:
        state = self._state[index]
        if state.attempt != attempt or state.started_at is None:
            return  # pragma: no cover - an exit is only scheduled for a running attempt
        self._release(state, now)
        state.preemptions += 1
        state.state = self._outcome(state, AttemptEnd(EndKind.PREEMPTED, state.preempted_by))
        if state.state is JobState.PENDING:
            state.attempt += 1
            self._submit(index, now)
        else:
            self._done += 1

    def _outcome(self, state: _Job, end: AttemptEnd) -> JobState:
        """Where the server's rule leaves a job after this end of its latest attempt."""
        job = state.job
        made = len(state.attempts)
        return after_attempt(end, job.requeue_on_preemption, made, job.max_attempts).next_state

    def _release(self, state: _Job, now: float) -> None:
        assert state.started_at is not None
        state.gpu_seconds += state.job.gpus * (now - state.started_at)
        state.attempts.append((state.started_at, now))
        self._scheduler.release(state.job.id, now)
        self._last_end = now
        state.started_at = None

    def _integrate(self, since: float, now: float) -> None:
        self._stranded += self._stranded_now * (now - since)

    def _record(self, state: _Job) -> JobRecord:
        job = state.job
        return JobRecord(
            job=job,
            first_start=state.first_start,
            end=state.end,
            pending_s=state.pending_s,
            preemptions=state.preemptions,
            gpu_seconds=state.gpu_seconds,
            attempts=tuple(state.attempts),
            state=state.state,
        )
