"""One pass over the pending work of one GPU type: start, preempt, or wait with a reason.

Order: jobs with victims already exiting for them first; then groups of identical jobs (see
`admission.groups`) by the admission key of their first job (see `admission.ordering`), except
that internal work that would borrow beyond its org's quota goes after all internal work within
quota (as in Kueue), so borrowing takes only what is left. A job, in turn:
1. waits `unsatisfiable` if no set of schedulable nodes could ever hold it;
2. starts if its limits allow it (`admission.limits`) and it fits the available GPUs — after
   the backfill reservation (`placement.reservation`), only in GPUs the reserved job will not
   need, unless it ends (by its max runtime) before the reserved job's planned start;
3. else preempts the cheapest sufficient victims if its limits let it reclaim (`reclaim`);
4. else waits: the limit it breaks; or `planned_start` (it fits but would delay the reserved
   job); or `priority` (the GPUs it fits are set aside for a job waiting on preemption); or, the
   first such job of the pass, it takes the backfill reservation and waits `planned_start` with
   its planned start; or `fair_share` (it would have fit at the start of the pass, but the GPUs
   went to an org of its tier with a lower share); or `capacity`.
A group whose first job waits waits as a whole, with that reason (backfill alone looks inside it
for jobs short enough to end before the planned start). A group that waited at the last pass and
whose inputs did not change is passed by (`_unchanged`, `_still_waits`; docs/scheduling.md §10).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from functools import partial

from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.admission.groups import Group, GroupKey
from neocloud.scheduler.admission.ordering import EntryKey, admission_key, entry_key
from neocloud.scheduler.arrivals import Arrivals
from neocloud.scheduler.explaining import Explainer
from neocloud.scheduler.explanation import sentences
from neocloud.scheduler.explanation.reasons import GPUS, REASON_KIND, Blocked
from neocloud.scheduler.model import PendingJob, Preempt, WaitReason
from neocloud.scheduler.pass_end import finish
from neocloud.scheduler.passrecord import Decisions, PassRecord
from neocloud.scheduler.placement.isolation import Isolation
from neocloud.scheduler.placement.reservation import Reservation
from neocloud.scheduler.preemption.victims import Held, reclaim_rule
from neocloud.scheduler.reclaim import Reclaimed, Reclaimer, choose, place_with
from neocloud.scheduler.typestate import TypeState
from neocloud.scheduler.world import World

INTERNAL = OrgKind.INTERNAL
# (tier rank, 1 if the job would borrow quota, rest of the admission key), tie-breaker, group,
# the job to decide, and whether it is a backfill candidate from inside a waiting group.
_Entry = tuple[EntryKey, int, Group, PendingJob, bool]


class TypePass:
    """One pass over one GPU type: the order, and the decision of each job.

    The parts it holds, each with its own inputs: `Reservation` (backfill), `Reclaimer`
    (preemption), `Isolation` (nodes closed to external work), `Explainer` (why a job waits),
    `PassRecord` (what the pass decided, reported at its end by `pass_end.finish`); and
    `Arrivals` when only new jobs are decided.
    """

    def __init__(
        self,
        world: World,
        state: TypeState,
        now: float,
        org_rank: Mapping[str, int],
        shares: Mapping[str, float],
        out: Decisions,
    ) -> None:
        self._world = world
        self._state = state
        self._nodes = state.nodes
        self._index = state.nodes.index
        self._now = now
        self._rank = org_rank
        self._out = out
        self._reservation = Reservation(state.nodes, now)
        self._reclaimer = Reclaimer(world, state, self._reservation)
        self._isolation = Isolation(state)
        self._explainer = Explainer(
            state, self._reservation, self._isolation, now, org_rank, shares
        )
        self._record = PassRecord()
        # The reservation of the type's last pass: (holder, plan).
        self._previous = (
            (state.holder, state.plan)
            if state.holder is not None and state.plan is not None
            else None
        )
        # A job short enough to end before the planned start took set-aside GPUs: the
        # reservation sets aside again after its start (`_place`, `_start`).
        self._lifted = False
        # Members of a waiting group short enough to backfill, still to try.
        self._shorts: dict[GroupKey, deque[PendingJob]] = {}
        # Tie-breaker of heap entries (insertion order).
        self._seq = 0
        # The key of the group being decided (the reservation's holder keeps it).
        self._key: EntryKey = ()
        # Per shape (g, k): whether it fits, fits lifted, could fit by reclaiming spot (bits,
        # see `_shape`), read at a version of the nodes.
        self._shapes: dict[tuple[int, int], int] = {}
        self._shapes_at = -1
        # Once the reservation has been tried: its planned start if it is the one of the last
        # pass (same holder, same plan), else None.
        self._kept_plan: tuple[float | None] | None = None

    def arrivals(self) -> bool:
        """Decide only the jobs submitted since the last pass, if a full pass would just make
        them wait (see `arrivals`); False if a full pass is needed."""
        arrivals = Arrivals(
            self._world,
            self._state,
            self._rank,
            self._reservation,
            self._isolation,
            self._reclaimer,
            self._explainer,
        )
        return arrivals.decide(self._out.waits)

    # -- the pass --------------------------------------------------------------------------
    def run(self) -> None:
        """Decide every pending job of the type once."""
        self._reset()
        rank = self._rank
        for job in sorted(self._state.promised.values(), key=lambda j: admission_key(j, rank)):
            self._decide_promised(job)
        limits = self._world.limits
        # Every group once, in the persisted order; groups coming back (a new first job, a
        # borrower deferred, a backfill candidate) go through a small heap merged with it.
        order = self._state.ordered(self._rank)
        at, end = 0, len(order)
        heap: list[_Entry] = []
        while at < end or heap:
            if heap and (at == end or heap[0][0] < order[at][0]):
                key, _, group, job, member = heapq.heappop(heap)
            else:
                key, group = order[at]
                at += 1
                if group.settled or group.for_gpus:
                    if (group.limits_ok or self._world.rewatch(group)) and (
                        group.settled or self._still_waits(group)
                    ):
                        continue  # nothing it waits on can have changed
                    group.settled = group.for_gpus = False
                head = group.head()
                if head is None or head.id != key[-1]:
                    continue  # its first job changed in this pass: it was pushed again
                job, member = head, False
            if member:
                if job.id in group.members and self._backfill(job):
                    self._push_short(heap, group)
                continue
            if not key[1] and job.org_kind is INTERNAL and limits.would_borrow(job):
                # Work within its org's quota goes first; borrowing only from what is left.
                self._push(heap, group, job, borrow=True)
                continue
            if self._unchanged(group, job):
                continue
            self._key = key
            outcome = self._decide(group, job)
            if outcome is None:
                head = group.head()
                if head is not None:
                    self._push(heap, group, head)
            else:
                self._block_group(heap, group, job, outcome)
        explainer = self._explainer
        finish(
            self._world,
            self._state,
            self._reservation,
            self._record,
            self._out.waits,
            hold_key=explainer.hold_key,
            awaiting=bool(explainer.aside_for),
        )

    def _push(
        self,
        heap: list[_Entry],
        group: Group,
        job: PendingJob,
        borrow: bool = False,
        member: bool = False,
    ) -> None:
        self._seq += 1
        heapq.heappush(
            heap, (entry_key(job, int(borrow), self._rank), self._seq, group, job, member)
        )

    def _same_delay(self, group: Group) -> bool:
        """A group that would delay the reservation's holder: it still would (and none of its
        members is short enough to backfill) if the holder and its plan are the same."""
        known = self._kept_plan
        if known is None:
            reservation, previous = self._reservation, self._previous
            plan, holder = reservation.plan, reservation.holder
            same = (
                plan is not None
                and holder is not None
                and previous is not None
                and holder.id == previous[0]
                and plan == previous[1]
            )
            known = (plan.start if same and plan is not None else None,)
            if reservation.tried:
                self._kept_plan = known  # the reservation does not move again in this pass
        kept = known[0]
        if kept is None:
            return False
        shortest = group.shortest_runtime()
        return shortest is not None and self._now + shortest > kept

    def _unchanged(self, group: Group, job: PendingJob) -> bool:
        """True if the group must wait as last time, for the same kind of reason: nothing it
        depends on changed (its limits' holdings left no range of its verdict, its shape still
        does not fit, preemption still cannot help, the reservation is the same)."""
        last, verdict = group.last, group.verdict
        if last is None or verdict is None or last.holder or not self._world.rewatch(group):
            return False
        if verdict.block is None:
            if REASON_KIND[last.reason] != GPUS or not self._still_waits(group):
                return False
            group.for_gpus = True
        elif verdict.may_reclaim or last.reason is not verdict.block.reason:
            return False
        elif group.fresh and group.stamp != self._world.limits.stamp(job):
            return False  # new members are told the reason with today's figures
        else:
            group.settled = True
        if group.fresh:
            self._record.blocked.append((group, last))
        return True

    def _still_waits(self, group: Group) -> bool:
        """A group that fits its limits and waited for GPUs still does, for the same kind of
        reason: the reservation was tried before it (as last time), its shape fits neither the
        available GPUs nor (unless it would delay the reservation, which is unchanged) the
        set-aside ones, and preemption still cannot make it fit. Counted as waiting if so."""
        last, verdict = group.last, group.verdict
        assert last is not None and verdict is not None and verdict.block is None
        if not self._reservation.tried:
            return False
        delay = last.delay
        if delay and not self._same_delay(group):
            return False
        # Unblocked, its shortfall is met and it may take no borrowed work: whether preemption
        # helps depends on its shape alone.
        reclaims = verdict.reclaims_spot
        shape = group.key[4], group.key[5]
        if self._nodes.version != self._shapes_at:
            self._shapes.clear()
            self._shapes_at = self._nodes.version
        known = self._shapes.get(shape)
        if known is None:
            known = self._shapes[shape] = self._shape(*shape)
        # Bit 1: fits; 2: fits with the set-asides lifted; 4: could fit by preempting spot.
        if known & (1 | (0 if delay else 2) | (4 if reclaims else 0)):
            return False
        record = self._record
        if reclaims:
            record.reclaimers.add((shape[0], shape[1], False))
        record.needs(shape[0])
        return True

    def _shape(self, g: int, k: int) -> int:
        """Does g × k fit the available GPUs (1); would it with the reservation's set-asides
        lifted (2); could it by preempting spot work (4)? Read once per shape while no node
        changes (within a pass GPUs only get taken or set aside: what does not fit never will)."""
        return (
            int(self._index.fits(g, k))
            | 2 * int(self._reservation.fits_lifted(g, k))
            | 4 * int(self._reclaimer.spot_could_fit(g, k))
        )

    def _reset(self) -> None:
        state, nodes = self._state, self._nodes
        # Verdicts this pass will see leave their ranges are collected from here on.
        self._world.limits.watch.fired.clear()
        # Jobs decided one by one last time go back to their group's reason unless decided
        # one by one again.
        for job_id in state.individual:
            group = self._world.group_of.get(job_id)
            if group is not None:
                group.tell_again(job_id)
        state.individual = {}
        state.arrivals = []
        for node in state.aside:
            promised = nodes.aside_promised[node]
            nodes.aside_promised[node] = 0
            nodes.aside_planned[node] = 0
            nodes.touch(node, timeline=promised > 0)
        state.aside = set()
        state.plan = None
        state.holder = None
        for job in state.counted.values():
            self._world.count_promised(job, -1)
        state.counted = {}
        self._explainer.start_ge = list(self._index.count_ge)

    # -- one job ---------------------------------------------------------------------------
    def _decide(self, group: Group, job: PendingJob) -> Blocked | None:
        """Start or preempt for `job` (None), or say why it waits."""
        with self._isolation.isolated(job):
            return self._decide_open(group, job)

    def _decide_open(self, group: Group, job: PendingJob) -> Blocked | None:
        """`_decide` on the nodes open to `job`."""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        never = self._isolation.unsatisfiable(job)
        if never is not None:
            return never
        verdict = group.verdict
        # A verdict still in range is reused if it lets the job start (its kind is all that
        # matters) or if nothing it read moved (its sentence stays exact).
        if (
            verdict is None
            or not group.limits_ok
            or (verdict.block is not None and group.stamp != self._world.limits.stamp(job))
        ):
            verdict = self._world.judge(group, job)
        if verdict.block is None:
            chosen = self._place(job, g, k)
            if chosen is not None:
                self._start(job, chosen)
                return None
        short = verdict.shortfall
        if short is not None and (verdict.reclaims_spot or verdict.reclaims_borrowed):
            found = self._reclaimer.find(job, verdict, short, {})
            if found is not None:
                self._preempt(job, found, ())
                return None
            self._record.reclaimers.add((g, k, verdict.reclaims_borrowed))
        return self._explainer.explain(job, verdict.block, hold_as=self._key)

    def _decide_promised(self, job: PendingJob) -> None:
        """A job with victims exiting for it: start, keep waiting for them, or preempt more."""
        with self._isolation.isolated(job):
            self._decide_promised_open(job)

    def _decide_promised_open(self, job: PendingJob) -> None:
        """`_decide_promised` on the nodes open to `job`."""
        world, nodes = self._world, self._nodes
        g, k = job.resources.gpus_per_node, job.resources.nodes
        own = [world.running[v] for v in sorted(world.victims_of.get(job.id, ()))]
        never = self._isolation.unsatisfiable(job)
        if never is not None:
            self._record.individual[job.id] = never
            return
        verdict = world.limits.check(job)
        if verdict.block is None and self._index.fits(g, k):
            self._start(job, choose(self._state, g, k))
            return
        short = verdict.shortfall
        if short is not None:
            extra: dict[int, int] = {}
            for victim in own:
                for node, gpus in victim.slots:
                    if nodes.schedulable[node]:
                        extra[node] = extra.get(node, 0) + len(gpus)
            if short.met:
                chosen = place_with(self._state, extra, g, k)
                if chosen is not None:
                    self._await(job, own, chosen, extra)
                    return
            if verdict.reclaims_spot or verdict.reclaims_borrowed:
                found = self._reclaimer.find(job, verdict, short, extra)
                if found is not None:
                    self._preempt(job, found, own)
                    return
                self._record.reclaimers.add((g, k, verdict.reclaims_borrowed))
        self._record.wait(job, self._explainer.explain(job, verdict.block, hold_as=None))

    def _backfill(self, job: PendingJob) -> bool:
        """Start a member of a waiting group that ends before the planned start, if it fits."""
        if self._world.limits.check(job).block is not None:
            return False
        with self._isolation.isolated(job):
            chosen = self._place(job, job.resources.gpus_per_node, job.resources.nodes)
            if chosen is None:
                return False
            self._start(job, chosen)
        return True

    def _block_group(self, heap: list[_Entry], group: Group, job: PendingJob, why: Blocked) -> None:
        record = self._record
        if why.holder:
            record.wait(job, why)
            # The rest of the group has the same shape: it waits for capacity too.
            rest = self._explainer.capacity(job)
        else:
            rest = why
        record.blocked.append((group, rest))
        group.last = rest
        group.mark()
        if rest.gpus:
            record.needs(job.resources.gpus_per_node)
        plan = self._reservation.plan
        if not rest.delay or plan is None:
            return
        shortest = group.shortest_runtime()
        if shortest is None or self._now + shortest > plan.start:
            return
        limit = plan.start - self._now
        self._shorts[group.key] = deque(
            m for m in group if m.max_runtime_seconds <= limit and m.id != job.id
        )
        self._push_short(heap, group)

    def _push_short(self, heap: list[_Entry], group: Group) -> None:
        shorts = self._shorts.get(group.key)
        while shorts:
            member = shorts.popleft()
            if member.id in group.members:
                self._push(heap, group, member, member=True)
                return

    # -- placing, starting, preempting -----------------------------------------------------
    def _place(self, job: PendingJob, g: int, k: int) -> list[int] | None:
        """Nodes for `job` now, respecting the backfill reservation; None if it does not fit."""
        if self._index.fits(g, k):
            return choose(self._state, g, k)
        reservation = self._reservation
        if not reservation.ends_before(job) or not reservation.fits_lifted(g, k):
            return None
        # It ends before the planned start: it may use the GPUs set aside for it.
        reservation.set_aside(False)
        self._lifted = True
        return choose(self._state, g, k)

    def _start(self, job: PendingJob, chosen: Sequence[int]) -> None:
        self._out.starts.append(self._world.start(job, chosen, self._now))
        record = self._record
        record.started = True
        if record.reclaimers and job.tier in (Tier.SPOT, Tier.INTERNAL):
            record.new_victims = True
        self._explainer.first_start.setdefault(job.tier, job.org)
        reservation = self._reservation
        if self._lifted or any(reservation.reserved(node) for node in chosen):
            # What the reserved job needs set aside there changed (this job ends before the
            # planned start, or took GPUs it does not need).
            self._lifted = False
            record.on_plan = True
            reservation.set_aside(True)

    def _preempt(self, job: PendingJob, found: Reclaimed, own: Sequence[Held]) -> None:
        for victim in found.victims:
            self._out.preemptions.append(
                Preempt(
                    job_id=victim.job.id,
                    by_job_id=job.id,
                    rule=reclaim_rule(victim.job, job.tier),
                    grace_seconds=victim.job.grace_seconds,
                )
            )
            self._world.preempt(victim, job)
        self._world.promise(job)
        self._record.preempted = True
        self._await(job, [*own, *found.victims], found.placement, found.released)
        # Victims no longer give GPUs back by the planned start; the job takes some: what the
        # reserved job needs set aside may have changed.
        self._reservation.set_aside(True)

    def _await(
        self,
        job: PendingJob,
        victims: Sequence[Held],
        placement: Sequence[int],
        released: Mapping[int, int],
    ) -> None:
        """`job` waits for its victims: the free part of its placement is set aside for it."""
        nodes, state = self._nodes, self._state
        g = job.resources.gpus_per_node
        for node in placement:
            aside = min(max(0, g - released.get(node, 0)), self._index.avail[node])
            if aside:
                nodes.aside_promised[node] += aside
                nodes.touch(node)
                self._record.aside.add(node)
        self._world.count_promised(job, +1)
        state.counted[job.id] = job
        self._explainer.aside_for.append(job.id)
        gpus = sum(v.gpus for v in victims)
        spot = sum(1 for v in victims if v.job.tier is Tier.SPOT)
        kind = "spot" if spot == len(victims) else "borrowed" if spot == 0 else "spot and borrowed"
        sentence = partial(sentences.preempting_message, len(victims), gpus, state.name, kind)
        self._record.wait(job, Blocked(WaitReason.PREEMPTING, sentence))
