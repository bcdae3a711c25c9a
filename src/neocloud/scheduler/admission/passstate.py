"""What one pass over one GPU type keeps while it runs, shared by the parts of the pass.

The pass itself is `typepass.TypePass`; three of its parts are still mixins over this state,
because they read and write most of it: `explanation.explaining` (why a job waits),
`arrivals` (new jobs decided alone) and `explanation.announcing` (what the pass reports at its
end). The parts that need less are objects the pass holds, with explicit inputs:
`placement.reservation.Reservation`, `preemption.reclaim.Reclaimer` and
`placement.isolation.Isolation`. The persisted admission order of the type's groups is
refreshed here.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from neocloud.domain.jobs import Tier
from neocloud.scheduler.admission.groups import Group, GroupKey
from neocloud.scheduler.admission.ordering import admission_key
from neocloud.scheduler.explanation.reasons import GPUS, REASON_KIND, Blocked
from neocloud.scheduler.model import PendingJob, Preempt, Start, Wait
from neocloud.scheduler.placement.isolation import Isolation
from neocloud.scheduler.placement.reservation import Reservation
from neocloud.scheduler.preemption.reclaim import Reclaimer
from neocloud.scheduler.typestate import TypeState
from neocloud.scheduler.world import World

EntryKey = tuple[int | str, ...]


@dataclass(slots=True)
class Decisions:
    """What a step decided, in the order it decided it."""

    starts: list[Start] = field(default_factory=list)
    preemptions: list[Preempt] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)


class PassState:
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
        # The reservation of the type's last pass: (holder, plan).
        self._previous = (
            (state.holder, state.plan)
            if state.holder is not None and state.plan is not None
            else None
        )
        self._reclaimer = Reclaimer(world, state, self._reservation)
        self._isolation = Isolation(state)
        # A job short enough to end before the planned start took set-aside GPUs: the
        # reservation sets aside again after its start (`TypePass._place`, `_start`).
        self._lifted = False
        # Nodes with GPUs set aside for jobs waiting on their victims, and those jobs' ids
        # (`TypePass._await`; `explaining` gives later jobs `priority` while there are any).
        self._aside: set[int] = set()
        self._aside_for: list[str] = []
        # Waits decided job by job, and groups that wait as a whole with their reason: what
        # `announcing` reports at the end of the pass.
        self._individual: dict[str, Blocked] = {}
        self._blocked: list[tuple[Group, Blocked]] = []
        # The first org of each tier to start work in this pass (`explaining`: fair_share).
        self._first_start: dict[Tier, str] = {}
        # Members of a waiting group short enough to backfill, still to try.
        self._shorts: dict[GroupKey, deque[PendingJob]] = {}
        # Largest GPUs per node among jobs waiting for GPUs (fragmentation reads it).
        self._largest_need = 0
        # Tie-breaker of heap entries (insertion order).
        self._seq = 0
        # Nodes with at least g available at the start of the pass, per g (`explaining`).
        self._start_ge: list[int] = []
        # Shapes (g, k, may take borrowed) of jobs left waiting that may reclaim, and whether
        # work they could take started after them: then the next step must look again, as a
        # fresh pass over the new state would.
        self._reclaimers: set[tuple[int, int, bool]] = set()
        self._new_victims = False
        self._preempted = False
        self._started = False
        # Work started on nodes planned for the reservation (it may plan differently now).
        self._on_plan = False
        # Whether the reservation's holder came to wait on a limit after it got the reservation.
        self._holder_moved = False
        # The key of the group being decided, and the key of the job that took (or tried to
        # take) the reservation (`explaining` sets it; `arrivals` and `announcing` read it).
        self._key: EntryKey = ()
        self._hold_key: EntryKey | None = None
        # Per shape (g, k): whether it fits, fits lifted, could fit by reclaiming spot (bits,
        # see `TypePass._shape`), read at a version of the nodes.
        self._shapes: dict[tuple[int, int], int] = {}
        self._shapes_at = -1
        # Once the reservation has been tried: its planned start if it is the one of the last
        # pass (same holder, same plan), else None.
        self._kept_plan: tuple[float | None] | None = None

    def _refresh_order(self) -> list[tuple[EntryKey, Group]]:
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

    def _mark(self, group: Group) -> None:
        """Whether later passes may pass the group by (see `Group.settled`, `for_gpus`)."""
        last, verdict = group.last, group.verdict
        group.settled = group.for_gpus = False
        if last is None or verdict is None or last.holder or not group.limits_ok:
            return
        if verdict.block is None:
            group.for_gpus = REASON_KIND[last.reason] == GPUS
        else:
            group.settled = last.reason is verdict.block.reason and not verdict.may_reclaim

    def _entry_key(self, job: PendingJob, borrow: int) -> EntryKey:
        tier, org, klass, order, job_id = admission_key(job, self._rank)
        return (tier, borrow, org, klass, order, job_id)
