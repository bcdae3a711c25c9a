"""One scheduling pass: every pending job starts, preempts spot work to start, or waits.

The live server and the simulator call `schedule` with a snapshot and apply its decisions; it
reads no clock and keeps no state between passes.

A job that does not start gets one reason, the first that applies: unsatisfiable; quota;
sellable cap; preempting (spot work is exiting for it); priority (the free GPUs it would fit
are set aside for a job waiting on preemption); capacity.

Known limit (v1): jobs are admitted greedily in priority order without backfill reservations.
A lower job may start in GPUs that a higher waiting job cannot use yet, so a big gang can be
starved by a stream of small jobs that keep every node partly busy. EASY backfill (using each
job's max runtime) and fair share with decaying usage are planned to close this gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neocloud.domain.jobs import Resources
from neocloud.scheduler.explain import capacity_message, preempting_message, priority_message
from neocloud.scheduler.feasibility import unsatisfiable_reason
from neocloud.scheduler.limits import LimitBlock, Limits, Shortfall
from neocloud.scheduler.model import (
    GpuSlot,
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
from neocloud.scheduler.ordering import admission_order
from neocloud.scheduler.placement import (
    fits,
    largest_block,
    nodes_with,
    place,
    usable_counts,
    with_gpus,
)
from neocloud.scheduler.pool import GpuPool
from neocloud.scheduler.preemption import (
    choose_victims,
    is_victim_candidate,
    may_preempt,
    reclaim_rule,
)


def schedule(snapshot: SchedulerInput) -> SchedulingResult:
    """Decide one pass: which pending jobs start where, which spot jobs to preempt, who waits."""
    return _Pass(snapshot).run()


class _Pass:
    """The mutable bookkeeping of one pass; nothing outlives `run`."""

    def __init__(self, snapshot: SchedulerInput) -> None:
        self._snapshot = snapshot
        self._pool = GpuPool(snapshot.nodes, snapshot.running)
        gpu_types = {n.gpu_type for n in snapshot.nodes if n.schedulable}
        self._limits = Limits(snapshot, {t: self._pool.total(t) for t in gpu_types})
        pending_ids = {job.id for job in snapshot.pending}
        running = sorted(snapshot.running, key=lambda job: job.id)
        # Victims already exiting for a job that is still pending: their GPUs are its to take.
        self._promised: dict[str, list[RunningJob]] = {}
        for job in running:
            if job.preempting_for is not None and job.preempting_for in pending_ids:
                self._promised.setdefault(job.preempting_for, []).append(job)
        self._spot: dict[str, list[RunningJob]] = {}
        for job in running:
            if is_victim_candidate(job, job.gpu_type):
                self._spot.setdefault(job.gpu_type, []).append(job)
        self._claimed: set[str] = set()
        self._impossible: dict[Resources, str | None] = {}
        self._starts: list[Start] = []
        self._preemptions: list[Preempt] = []
        self._waits: list[Wait] = []

    def run(self) -> SchedulingResult:
        """Consider every pending job once, in admission order."""
        for job in admission_order(self._snapshot.pending, self._promised.keys()):
            self._decide(job)
        return SchedulingResult(
            starts=tuple(self._starts),
            preemptions=tuple(self._preemptions),
            waits=tuple(self._waits),
        )

    def _decide(self, job: PendingJob) -> None:
        resources = job.resources
        gpu_type = resources.gpu_type
        impossible = self._unsatisfiable(resources)
        if impossible is not None:
            self._wait(job, WaitReason.UNSATISFIABLE, impossible)
            return
        block = self._limits.block(job)
        available = self._pool.available(gpu_type)
        if block is None:
            placement = place(resources, available, self._pool.domains)
            if placement is not None:
                self._start(job, placement)
                return
        own = self._promised.get(job.id, [])
        shortfall = self._limits.shortfall(job)
        if shortfall is not None and (own or may_preempt(job.tier)):
            with_own = with_gpus(available, _slots(own)) if own else available
            if own and shortfall.met:
                placement = place(resources, with_own, self._pool.domains)
                if placement is not None:
                    # Its victims are still exiting: wait for them, preempt nobody new.
                    self._wait_on_preemption(job, own, (), placement)
                    return
            if may_preempt(job.tier) and self._try_preempting(job, own, with_own, shortfall):
                return
        self._explain(job, block, own)

    def _unsatisfiable(self, resources: Resources) -> str | None:
        # Queues hold many jobs of the same shape; the answer depends on the shape alone.
        if resources not in self._impossible:
            nodes = self._pool.nodes_of(resources.gpu_type)
            self._impossible[resources] = unsatisfiable_reason(resources, nodes)
        return self._impossible[resources]

    def _try_preempting(
        self,
        job: PendingJob,
        own: Sequence[RunningJob],
        base: Mapping[str, Sequence[int]],
        shortfall: Shortfall,
    ) -> bool:
        """Preempt the cheapest sufficient set of spot jobs for `job`; True if it did."""
        usable = usable_counts(base, ())
        candidates = self._candidates(job.resources.gpu_type)
        chosen = choose_victims(job.resources, usable, shortfall, candidates)
        # No victims needed means the job only waits for exits already under way for someone
        # else: it is then explained by the limit it hits now, and preempts nobody.
        if not chosen:
            return False
        placement = place(job.resources, with_gpus(base, _slots(chosen)), self._pool.domains)
        if placement is None:  # pragma: no cover - victims are chosen so that the job fits
            return False
        for victim in chosen:
            self._claimed.add(victim.id)
            self._preemptions.append(
                Preempt(
                    job_id=victim.id,
                    by_job_id=job.id,
                    rule=reclaim_rule(job.tier),
                    grace_seconds=victim.grace_seconds,
                )
            )
        self._wait_on_preemption(job, own, chosen, placement)
        return True

    def _candidates(self, gpu_type: str) -> list[RunningJob]:
        return [job for job in self._spot.get(gpu_type, []) if job.id not in self._claimed]

    def _start(self, job: PendingJob, placement: Placement) -> None:
        self._pool.take(placement)
        self._limits.start(job)
        self._starts.append(Start(job_id=job.id, placement=placement))

    def _wait_on_preemption(
        self,
        job: PendingJob,
        own: Sequence[RunningJob],
        new: Sequence[RunningJob],
        placement: Placement,
    ) -> None:
        # The free part of the tentative placement is set aside so that no later job of this
        # pass can make the promised job unplaceable again.
        self._pool.reserve(placement, job.id)
        self._limits.promise(job, new)
        victims = [*own, *new]
        gpu_type = job.resources.gpu_type
        releasing = sum(v.gpus for v in victims if v.gpu_type == gpu_type)
        self._wait(
            job, WaitReason.PREEMPTING, preempting_message(len(victims), releasing, gpu_type)
        )

    def _explain(
        self, job: PendingJob, block: LimitBlock | None, own: Sequence[RunningJob]
    ) -> None:
        if block is not None:
            self._wait(job, block.reason, block.message)
            return
        resources = job.resources
        gpu_type = resources.gpu_type
        holders = self._pool.reserved_for(gpu_type)
        if holders:
            reclaimable = self._candidates(gpu_type) if may_preempt(job.tier) else []
            unreserved = usable_counts(self._pool.free(gpu_type), _slots([*own, *reclaimable]))
            if fits(resources, unreserved):
                self._wait(job, WaitReason.PRIORITY, priority_message(gpu_type, holders))
                return
        available = self._pool.available(gpu_type)
        message = capacity_message(
            resources, largest_block(available), nodes_with(available, resources.gpus_per_node)
        )
        self._wait(job, WaitReason.CAPACITY, message)

    def _wait(self, job: PendingJob, reason: WaitReason, message: str) -> None:
        self._waits.append(Wait(job_id=job.id, reason=reason, message=message))


def _slots(jobs: Sequence[RunningJob]) -> list[GpuSlot]:
    return [slot for job in jobs for slot in job.placement]
