"""The stateful scheduler: the same rules as `schedule`, kept between passes and indexed.

Still pure: no clock, no I/O, `now` is always passed in. The live server calls
`schedule(snapshot)`, which is `Scheduler(snapshot).step(snapshot.now)`; the simulator keeps one
`Scheduler` and tells it what happens:

    scheduler = Scheduler(snapshot)
    scheduler.submit(job)                 # a job starts waiting
    scheduler.withdraw(job_id)            # a pending job is cancelled
    scheduler.release(job_id, now)        # GPUs are free (the job ended, or a victim exited)
    scheduler.set_schedulable(node, ok)   # a node opens or closes to new work
    result = scheduler.step(now)          # one pass

A step's starts take effect at once (the job runs from `now`); its preemptions mark victims as
exiting (they keep their GPUs until `release`). Only GPU types where something changed are
re-examined: a release, a submission or withdrawal, a node change, the planned start of the
backfill reservation coming due, or a change in the fair-share order of orgs. A Wait is emitted
when a job's reason code changes (every job's first reason included), so a fresh scheduler
emits one for every pending job; `wait_of` gives any pending job's current reason and sentence.
"""

from __future__ import annotations

from dataclasses import replace

from neocloud.scheduler.admission.fairshare import accrue, org_ranks, share
from neocloud.scheduler.model import (
    NodeState,
    PendingJob,
    RunningJob,
    SchedulerInput,
    SchedulingResult,
    Wait,
)
from neocloud.scheduler.passrecord import Decisions
from neocloud.scheduler.typepass import TypePass
from neocloud.scheduler.world import World

TOTAL = "total"


class Scheduler:
    """Pending and running work over a fleet, decided one step at a time."""

    def __init__(self, snapshot: SchedulerInput) -> None:
        if snapshot.fair_share_half_life_seconds <= 0:
            raise ValueError("fair_share_half_life_seconds must be positive")
        self._base = snapshot
        self._nodes = {n.name: n for n in sorted(snapshot.nodes, key=lambda n: n.name)}
        self._world = world = World(snapshot)
        self._weights = dict(snapshot.weights)
        self._usage = dict(snapshot.usage)
        self._clock = snapshot.now
        self._orgs = {*snapshot.org_kinds, *snapshot.weights, *snapshot.usage}
        self._ranks: dict[str, int] = {}
        self._shares: dict[str, float] = {}
        self._ranked_at: float | None = None
        self._check_weights()
        for run in sorted(snapshot.running, key=lambda j: j.id):
            world.add_running(run)
            self._orgs.add(run.org)
        pending_ids = {job.id for job in snapshot.pending}
        for held in world.running.values():
            target = held.job.preempting_for
            if target is not None and target in pending_ids:
                world.victims_of.setdefault(target, set()).add(held.job.id)
        for job in sorted(snapshot.pending, key=lambda j: (j.order, j.id)):
            self.submit(job)

    # -- events ----------------------------------------------------------------------------
    def submit(self, job: PendingJob) -> None:
        """A job starts waiting."""
        if job.id in self._world.pending or job.id in self._world.running:
            raise ValueError(f"job {job.id} is already known to the scheduler")
        self._world.add_pending(job)
        self._orgs.add(job.org)

    def withdraw(self, job_id: str) -> None:
        """A pending job is cancelled (victims already exiting for it keep exiting)."""
        world = self._world
        job = world.pending.get(job_id)
        if job is None:
            raise KeyError(f"job {job_id} is not pending")
        state = world.types[job.resources.gpu_type]
        # Others only waited behind it if it held the reservation or GPUs set aside for it.
        if job_id == state.holder or job_id in state.promised or job_id in state.counted:
            state.dirty = True
        world.remove_pending(job_id)

    def release(self, job_id: str, now: float) -> None:
        """A running job's GPUs are free: it ended, or a preempted victim exited."""
        if job_id not in self._world.running:
            raise KeyError(f"job {job_id} is not running")
        self._advance(now)
        self._world.release(job_id)

    def set_schedulable(self, node: str, schedulable: bool) -> None:
        """Open or close a node to new work (jobs running on it stay)."""
        if node not in self._nodes:
            raise KeyError(f"node {node} is not in the fleet")
        self._nodes[node] = replace(self._nodes[node], schedulable=schedulable)
        self._world.set_schedulable(node, schedulable)

    def step(self, now: float) -> SchedulingResult:
        """One pass at `now`: starts, preemptions, and the waits whose reason changed."""
        self._advance(now)
        world = self._world
        self._rank(now)
        ranks, shares = self._ranks, self._shares
        out = Decisions()
        for name in sorted(world.types):
            state = world.types[name]
            due = state.plan is not None and now >= state.plan.start
            if not (state.dirty or due) and state.arrivals:
                # Only new jobs: decide them alone unless one of them could change others.
                fast = TypePass(world, state, now, ranks, shares, out)
                state.dirty = not fast.arrivals()
            if state.dirty or due:
                TypePass(world, state, now, ranks, shares, out).run()
        return SchedulingResult(
            starts=tuple(out.starts),
            preemptions=tuple(out.preemptions),
            waits=tuple(out.waits),
            fragmentation=self.fragmentation(),
        )

    # -- reading ---------------------------------------------------------------------------
    def running(self) -> tuple[RunningJob, ...]:
        """Jobs holding GPUs (preempted victims still exiting included), by id."""
        return tuple(self._world.running[j].job for j in sorted(self._world.running))

    def pending(self) -> tuple[PendingJob, ...]:
        """Jobs waiting to start, by id."""
        return tuple(self._world.pending[j] for j in sorted(self._world.pending))

    def nodes(self) -> tuple[NodeState, ...]:
        """Nodes as the scheduler sees them, by name."""
        return tuple(self._nodes.values())

    def free_gpus(self) -> dict[str, int]:
        """Free GPUs per type over schedulable nodes."""
        return {name: s.nodes.free_total() for name, s in sorted(self._world.types.items())}

    def usage(self) -> dict[str, float]:
        """Decayed GPU-seconds per org, as of the latest time the scheduler was given."""
        return dict(sorted(self._usage.items()))

    def wait_of(self, job_id: str) -> Wait | None:
        """A pending job's current reason and sentence (None before its first step)."""
        job = self._world.pending.get(job_id)
        if job is None:
            raise KeyError(f"job {job_id} is not pending")
        state = self._world.types[job.resources.gpu_type]
        why = state.individual.get(job_id)
        if why is not None:
            return why.wait(job_id)
        group = self._world.group_of.get(job_id)
        if group is None or group.reason is None or group.sentence is None:
            return None
        if job_id in group.fresh:
            return None
        return Wait(job_id, group.reason, group.sentence())

    def waits(self) -> tuple[Wait, ...]:
        """Every pending job's current reason, by job id (None-free once a step decided it)."""
        out = (self.wait_of(job_id) for job_id in sorted(self._world.pending))
        return tuple(w for w in out if w is not None)

    def planned_start(self, gpu_type: str) -> tuple[str, float] | None:
        """The backfill reservation of a type: (job id, planned start), if any."""
        state = self._world.types.get(gpu_type)
        if state is None or state.plan is None or state.holder is None:
            return None
        return state.holder, state.plan.start

    def fragmentation(self) -> dict[str, int]:
        """Per type and in total: free GPUs unusable by the largest job waiting for capacity."""
        out: dict[str, int] = {}
        for name, state in sorted(self._world.types.items()):
            hist = state.nodes.free_hist
            need = min(state.largest_need, len(hist))
            out[name] = sum(count * hist[count] for count in range(need))
        out[TOTAL] = sum(out.values())
        return out

    def snapshot(self, now: float) -> SchedulerInput:
        """The scheduler's state as a snapshot at `now` (usage advanced to `now`)."""
        self._advance(now)
        return replace(
            self._base,
            nodes=self.nodes(),
            running=self.running(),
            pending=self.pending(),
            now=now,
            usage=self.usage(),
            org_kinds={org: self._world.kind_of(org) for org in sorted(self._orgs)},
        )

    # -- time ------------------------------------------------------------------------------
    def _advance(self, now: float) -> None:
        """Accrue fair-share usage up to `now` (time never runs backwards here)."""
        elapsed = now - self._clock
        if elapsed <= 0:
            return
        half_life = self._base.fair_share_half_life_seconds
        held = self._world.held_by_org
        for org in {*self._usage, *held}:
            self._usage[org] = accrue(
                self._usage.get(org, 0.0), held.get(org, 0), elapsed, half_life
            )
        self._clock = now

    def _rank(self, now: float) -> None:
        """Re-rank orgs by fair share when the interval has passed or new orgs appeared."""
        interval = self._base.fair_share_interval_seconds
        due = self._ranked_at is None or now - self._ranked_at >= interval
        if not due and self._orgs.issubset(self._ranks):
            return
        self._ranked_at = now
        ranks = org_ranks(self._orgs, self._usage, self._weights)
        self._shares = {org: share(self._usage, self._weights, org) for org in self._orgs}
        if ranks != self._ranks:
            # The fair-share order moved: every type's order may have changed.
            self._ranks = ranks
            for state in self._world.types.values():
                state.dirty = True

    def _check_weights(self) -> None:
        for org, weight in self._weights.items():
            if weight <= 0:
                raise ValueError(f"fair-share weight of org {org} must be positive, got {weight}")
