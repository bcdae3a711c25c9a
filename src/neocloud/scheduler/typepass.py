"""One pass over the pending work of one GPU type: start, preempt, or wait with a reason.

Order: jobs with victims already exiting for them first; then groups of identical jobs (see
`groups`) by the admission key of their first job (see `ordering`), except that internal work
that would borrow beyond its org's quota goes after all internal work within quota (as in Kueue),
so borrowing takes only what is left. A job, in turn:
1. waits `unsatisfiable` if no set of schedulable nodes could ever hold it;
2. starts if its limits allow it (`limits`) and it fits the available GPUs — after the backfill
   reservation (`reservation`), only in GPUs the reserved job will not need, unless it ends
   (by its max runtime) before the reserved job's planned start;
3. else preempts the cheapest sufficient victims if its limits let it reclaim (`reclaim`);
4. else waits: the limit it breaks; or `planned_start` (it fits but would delay the reserved
   job); or `priority` (the GPUs it fits are set aside for a job waiting on preemption); or, the
   first such job of the pass, it takes the backfill reservation and waits `planned_start` with
   its planned start; or `fair_share` (it would have fit at the start of the pass, but the GPUs
   went to an org of its tier with a lower share); or `capacity`.
A group whose first job waits waits as a whole, with that reason (backfill alone looks inside it
for jobs short enough to end before the planned start).
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler import explain
from neocloud.scheduler.groups import Group, GroupKey
from neocloud.scheduler.limits import LimitBlock, Stamp
from neocloud.scheduler.model import PendingJob, Preempt, Start, Wait, WaitReason
from neocloud.scheduler.ordering import admission_key
from neocloud.scheduler.preemption import Held, reclaim_rule
from neocloud.scheduler.reasons import GPUS, REASON_KIND, Blocked, blocked
from neocloud.scheduler.reclaim import Reclaimed, Reclaimer, choose, place_with
from neocloud.scheduler.reservation import Reservation
from neocloud.scheduler.world import TypeState, World


@dataclass(slots=True)
class Decisions:
    """What a step decided, in the order it decided it."""

    starts: list[Start] = field(default_factory=list)
    preemptions: list[Preempt] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)


INTERNAL = OrgKind.INTERNAL

# (tier rank, 1 if the job would borrow quota, rest of the admission key), tie-breaker, group,
# the job to decide, and whether it is a backfill candidate from inside a waiting group.
_Entry = tuple[tuple[int | str, ...], int, Group, PendingJob, bool]


class TypePass:
    """The mutable bookkeeping of one pass over one GPU type."""

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
        self._shares = shares
        self._out = out
        self._reservation = Reservation(state.nodes, now)
        self._reclaimer = Reclaimer(world, state, self._reservation)
        self._lifted = False
        self._aside: set[int] = set()
        self._aside_for: list[str] = []
        self._individual: dict[str, Blocked] = {}
        self._blocked: list[tuple[Group, Blocked]] = []
        self._first_start: dict[Tier, str] = {}
        self._shorts: dict[GroupKey, deque[PendingJob]] = {}
        self._largest_need = 0
        self._seq = 0
        self._start_ge: list[int] = []
        # Shapes (g, k, may take borrowed) of jobs left waiting that may reclaim, and whether
        # work they could take started after them: then the next step must look again, as a
        # fresh pass over the new state would.
        self._reclaimers: set[tuple[int, int, bool]] = set()
        self._new_victims = False
        # Groups left waiting, in the order decided, and whether the reservation's holder came
        # to wait on a limit after it was given the reservation.
        self._waiting: list[Group] = []
        self._holder_moved = False
        self._key: tuple[int | str, ...] = ()
        # The stamp `_unchanged` read for the job about to be decided (saves reading it twice).
        self._stamp: Stamp | None = None
        self._hold_key: tuple[int | str, ...] | None = None

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
        order = self._refresh_order()
        at, end = 0, len(order)
        heap: list[_Entry] = []
        while at < end or heap:
            if heap and (at == end or heap[0][0] < order[at][0]):
                key, _, group, job, member = heapq.heappop(heap)
            else:
                key, group = order[at]
                at += 1
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
        self._finish()

    def _push(
        self,
        heap: list[_Entry],
        group: Group,
        job: PendingJob,
        borrow: bool = False,
        member: bool = False,
    ) -> None:
        self._seq += 1
        heapq.heappush(heap, (self._entry_key(job, int(borrow)), self._seq, group, job, member))

    def _refresh_order(self) -> list[tuple[tuple[int | str, ...], Group]]:
        """The groups by the key of their first job (re-sorted when the org ranks moved)."""
        state = self._state
        if state.order_ranks != self._rank:
            state.order = []
            for group in state.groups.values():
                head = group.head()
                group.order_key = None if head is None else self._entry_key(head, 0)
                if group.order_key is not None:
                    state.order.append((group.order_key, group))
            state.order.sort(key=lambda entry: entry[0])
            state.order_ranks = dict(self._rank)
        else:
            order = state.order
            for group in state.stale.values():
                if group.order_key is not None:
                    at = bisect.bisect_left(order, (group.order_key,))
                    if at < len(order) and order[at][1] is group:
                        del order[at]
                head = group.head() if group.key in state.groups else None
                group.order_key = None if head is None else self._entry_key(head, 0)
                if group.order_key is not None:
                    bisect.insort(order, (group.order_key, group), key=lambda entry: entry[0])
        state.stale = {}
        return list(state.order)

    def _unchanged(self, group: Group, job: PendingJob) -> bool:
        """True if the group must wait as last time, for the same kind of reason: nothing it
        depends on changed (its limits' holdings, its shape's fit, the reservation)."""
        last, verdict = group.last, group.verdict
        if last is None or verdict is None or last.holder or last.delay:
            return False
        stamp = self._world.limits.stamp(job)
        if group.stamp != stamp:
            self._stamp = stamp
            return False
        may_reclaim = verdict.shortfall is not None and (
            verdict.reclaims_spot or verdict.reclaims_borrowed
        )
        g, k = job.resources.gpus_per_node, job.resources.nodes
        if verdict.block is None:
            reservation = self._reservation
            if (
                REASON_KIND[last.reason] != GPUS
                or not reservation.tried
                or self._index.fits(g, k)
                or reservation.fits_lifted(g, k)
            ):
                return False
            if may_reclaim:
                assert verdict.shortfall is not None
                if self._reclaimer.possible(job, verdict, verdict.shortfall):
                    return False
                self._reclaimers.add((g, k, verdict.reclaims_borrowed))
            self._largest_need = max(self._largest_need, g)
        elif may_reclaim or last.reason is not verdict.block.reason:
            return False
        if group.fresh:
            self._blocked.append((group, last))
        self._waiting.append(group)
        return True

    def _entry_key(self, job: PendingJob, borrow: int) -> tuple[int | str, ...]:
        tier, org, klass, order, job_id = admission_key(job, self._rank)
        return (tier, borrow, org, klass, order, job_id)

    def _reset(self) -> None:
        state, nodes = self._state, self._nodes
        # Jobs decided one by one last time go back to their group's reason unless decided
        # one by one again.
        for job_id in state.individual:
            group = self._world.group_of.get(job_id)
            if group is not None:
                group.fresh.add(job_id)
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
        self._start_ge = list(self._index.count_ge)

    def _recheck(self) -> None:
        """Starts late in a pass tighten the limits of groups decided before them: read their
        verdicts again, so each keeps the reason a pass over the final state would give it."""
        limits, holder = self._world.limits, self._reservation.holder
        at = {id(group): i for i, (group, _) in enumerate(self._blocked)}
        for group in self._waiting:
            head, last = group.head(), group.last
            if head is None or (last is not None and last.reason is WaitReason.UNSATISFIABLE):
                continue
            stamp = limits.stamp(head)
            if stamp == group.stamp:
                continue
            verdict = limits.check(head)
            group.stamp, group.verdict = stamp, verdict
            block = verdict.block
            if block is None or (last is not None and last.reason is block.reason):
                continue
            now = Blocked(block.reason, block.sentence)
            group.last = now
            if id(group) in at:
                self._blocked[at[id(group)]] = (group, now)
            else:
                self._blocked.append((group, now))
            if holder is not None and holder.id in group.members:
                # Another job would hold the reservation now: look again at the next step.
                self._individual[holder.id] = now
                self._holder_moved = True

    def _finish(self) -> None:
        self._recheck()
        state, world, waits = self._state, self._world, self._out.waits
        reservation = self._reservation
        state.plan = reservation.plan
        state.holder = reservation.holder.id if reservation.holder is not None else None
        state.hold_key = self._hold_key
        state.aside = self._aside | reservation.touched
        state.individual = self._individual
        state.largest_need = self._largest_need
        emitted = world.emitted
        for job_id, why in self._individual.items():
            if emitted.get(job_id) is not why.reason:
                waits.append(why.wait(job_id))
                emitted[job_id] = why.reason
        for group, why in self._blocked:
            if not group.members:
                continue
            reason, kind = why.reason, REASON_KIND[why.reason]
            # Members are told when the kind of thing they wait for changes; moves inside a
            # kind (capacity, fair share, planned start) follow capacity at every pass and are
            # read with `Scheduler.wait_of`.
            changed = group.reason is None or REASON_KIND[group.reason] != kind
            members = list(group.members) if changed else list(group.fresh)
            text: str | None = None
            for job_id in sorted(members, key=lambda j: (group.members[j].order, j)):
                told = emitted.get(job_id)
                if job_id in self._individual or (told is not None and REASON_KIND[told] == kind):
                    continue
                if text is None:
                    text = why.sentence()
                waits.append(Wait(job_id, reason, text))
                emitted[job_id] = reason
            group.reason, group.sentence = reason, why.sentence
            group.fresh.clear()
        state.dirty = self._holder_moved or (self._new_victims and self._could_reclaim())

    def _could_reclaim(self) -> bool:
        """Could a job left waiting now reclaim GPUs from work that started after it?"""
        nodes = self._nodes
        for g, k, borrowed in self._reclaimers:
            view = nodes.reclaim_view if borrowed else nodes.spot_view
            if view.at_least(g) >= k:
                return True
        return False

    # -- new jobs alone --------------------------------------------------------------------
    def arrivals(self) -> bool:
        """Decide the jobs submitted since the last pass alone, if that is what a full pass
        would do: each of them waits, behind the reservation, and changes nothing for anyone
        else. False (nothing done) if one of them could start, preempt, take the reservation,
        or backfill: the caller then runs a full pass."""
        state, world = self._state, self._world
        holder = world.pending.get(state.holder) if state.holder is not None else None
        self._reservation.resume(state.plan, holder)
        self._aside_for = sorted(state.counted)
        outcomes: list[tuple[PendingJob, Group, Blocked | None]] = []
        for job in state.arrivals:
            if job.id not in world.pending:
                continue  # withdrawn since
            group = world.group_of[job.id]
            if group.head() is not job:
                # Behind an earlier member: same limits, same shape, the group's reason; unless
                # backfill could let it (short) in.
                if group.reason is None or group.reason is WaitReason.PLANNED_START:
                    return False
                outcomes.append((job, group, None))
                continue
            if len(group) > 1:
                return False  # ahead of an earlier head: the group's order changed
            why = self._alone(group, job)
            if why is None:
                return False
            outcomes.append((job, group, why))
        emitted, waits = world.emitted, self._out.waits
        for job, group, why in outcomes:
            if why is None:
                assert group.reason is not None and group.sentence is not None
                waits.append(Wait(job.id, group.reason, group.sentence()))
                emitted[job.id] = group.reason
            else:
                group.reason, group.sentence = why.reason, why.sentence
                waits.append(why.wait(job.id))
                emitted[job.id] = why.reason
                if why.gpus:
                    state.largest_need = max(state.largest_need, job.resources.gpus_per_node)
            group.fresh.discard(job.id)
        state.arrivals = []
        return True

    def _alone(self, group: Group, job: PendingJob) -> Blocked | None:
        """Why a new job waits if it certainly waits without changing anything, else None."""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        why = self._state.unsatisfiable_reason(g, k)
        if why is not None:
            return blocked(WaitReason.UNSATISFIABLE, why)
        limits, reservation = self._world.limits, self._reservation
        verdict = group.verdict = limits.check(job)
        group.stamp = limits.stamp(job)
        if verdict.block is None:
            if self._index.fits(g, k):
                return None
            if reservation.ends_before(job) and reservation.fits_lifted(g, k):
                return None
        short = verdict.shortfall
        may_reclaim = verdict.reclaims_spot or verdict.reclaims_borrowed
        if short is not None and may_reclaim and self._reclaimer.possible(job, verdict, short):
            return None
        if verdict.block is not None:
            return Blocked(verdict.block.reason, verdict.block.sentence)
        tier, *rest = admission_key(job, self._rank)
        key = (tier, int(limits.would_borrow(job)), *rest)
        hold_key = self._state.hold_key
        if hold_key is None or key < hold_key:
            return None  # it would take the reservation
        return self._explain(job, None, may_hold=False)

    # -- one job ---------------------------------------------------------------------------
    def _decide(self, group: Group, job: PendingJob) -> Blocked | None:
        """Start or preempt for `job` (None), or say why it waits."""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        why = self._state.unsatisfiable_reason(g, k)
        if why is not None:
            return blocked(WaitReason.UNSATISFIABLE, why)
        limits = self._world.limits
        stamp = self._stamp if self._stamp is not None else limits.stamp(job)
        self._stamp = None
        if group.stamp == stamp and group.verdict is not None:
            verdict = group.verdict
        else:
            verdict = group.verdict = limits.check(job)
            group.stamp = stamp
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
            self._reclaimers.add((g, k, verdict.reclaims_borrowed))
        return self._explain(job, verdict.block, may_hold=True)

    def _decide_promised(self, job: PendingJob) -> None:
        """A job with victims exiting for it: start, keep waiting for them, or preempt more."""
        world, nodes = self._world, self._nodes
        g, k = job.resources.gpus_per_node, job.resources.nodes
        own = [world.running[v] for v in sorted(world.victims_of.get(job.id, ()))]
        why = self._state.unsatisfiable_reason(g, k)
        if why is not None:
            self._individual[job.id] = blocked(WaitReason.UNSATISFIABLE, why)
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
                self._reclaimers.add((g, k, verdict.reclaims_borrowed))
        self._wait(job, self._explain(job, verdict.block, may_hold=False))

    def _backfill(self, job: PendingJob) -> bool:
        """Start a member of a waiting group that ends before the planned start, if it fits."""
        if self._world.limits.check(job).block is not None:
            return False
        chosen = self._place(job, job.resources.gpus_per_node, job.resources.nodes)
        if chosen is None:
            return False
        self._start(job, chosen)
        return True

    def _block_group(self, heap: list[_Entry], group: Group, job: PendingJob, why: Blocked) -> None:
        if why.holder:
            self._wait(job, why)
            # The rest of the group has the same shape: it waits for capacity too.
            rest = self._capacity(job)
        else:
            rest = why
        self._blocked.append((group, rest))
        self._waiting.append(group)
        group.last = rest
        if rest.gpus:
            self._largest_need = max(self._largest_need, job.resources.gpus_per_node)
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
        if self._reclaimers and job.tier in (Tier.SPOT, Tier.INTERNAL):
            self._new_victims = True
        self._first_start.setdefault(job.tier, job.org)
        if self._lifted:
            self._lifted = False
            self._reservation.set_aside(True)

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
        self._await(job, [*own, *found.victims], found.placement, found.released)

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
                self._aside.add(node)
        self._world.count_promised(job, +1)
        state.counted[job.id] = job
        self._aside_for.append(job.id)
        gpus = sum(v.gpus for v in victims)
        spot = sum(1 for v in victims if v.job.tier is Tier.SPOT)
        kind = "spot" if spot == len(victims) else "borrowed" if spot == 0 else "spot and borrowed"
        sentence = partial(explain.preempting_message, len(victims), gpus, state.name, kind)
        self._wait(job, Blocked(WaitReason.PREEMPTING, sentence))

    # -- explaining ------------------------------------------------------------------------
    def _explain(self, job: PendingJob, block: LimitBlock | None, *, may_hold: bool) -> Blocked:
        """Why a job that neither starts nor preempts waits."""
        if block is not None:
            return Blocked(block.reason, block.sentence)
        g, k = job.resources.gpus_per_node, job.resources.nodes
        reservation = self._reservation
        plan, holder = reservation.plan, reservation.holder
        if plan is not None and holder is not None and reservation.fits_lifted(g, k):
            sentence = partial(
                explain.delay_message, holder.id, plan.start - self._now, job.max_runtime_seconds
            )
            return Blocked(WaitReason.PLANNED_START, sentence, gpus=True, delay=True)
        if self._aside_for and self._nodes.free_view.at_least(g) >= k:
            holders = tuple(sorted(self._aside_for))
            sentence = partial(explain.priority_message, self._state.name, holders)
            return Blocked(WaitReason.PRIORITY, sentence, gpus=True)
        if may_hold and not reservation.tried:
            self._hold_key = self._key
            largest, fitting = self._index.largest(), self._index.nodes_with(g)
            if reservation.hold(job):
                assert reservation.plan is not None
                sentence = partial(
                    explain.planned_message,
                    job.resources,
                    largest,
                    fitting,
                    reservation.plan.start - self._now,
                    tuple(reservation.waits_for()),
                )
                return Blocked(WaitReason.PLANNED_START, sentence, gpus=True, holder=True)
        return self._capacity(job)

    def _capacity(self, job: PendingJob) -> Blocked:
        """`fair_share` if GPUs it would have fit went to an org of its tier with a lower
        share during this pass, else `capacity` with the largest free block."""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        ahead = self._first_start.get(job.tier)
        rank = self._rank
        if (
            ahead is not None
            and ahead != job.org
            and rank.get(ahead, 0) < rank.get(job.org, 0)
            and g < len(self._start_ge)
            and self._start_ge[g] >= k
        ):
            shares = self._shares
            sentence = partial(
                explain.fair_share_message,
                job.org,
                shares.get(job.org, 0.0),
                ahead,
                shares.get(ahead, 0.0),
                self._state.name,
            )
            return Blocked(WaitReason.FAIR_SHARE, sentence, gpus=True)
        index = self._index
        sentence = partial(
            explain.capacity_message, job.resources, index.largest(), index.nodes_with(g)
        )
        return Blocked(WaitReason.CAPACITY, sentence, gpus=True)

    def _wait(self, job: PendingJob, why: Blocked) -> None:
        self._individual[job.id] = why
        if why.gpus:
            self._largest_need = max(self._largest_need, job.resources.gpus_per_node)
