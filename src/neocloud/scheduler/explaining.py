"""Why a job that neither starts nor preempts waits, as one pass sees it (`typepass`).

The reasons, in the order they are tried: the limit it breaks; isolation (it would fit only on
nodes closed to external work); `planned_start` (it fits only in GPUs set aside for the
reservation's holder); `priority` (the GPUs it fits are set aside for jobs waiting on their
victims); the reservation itself, for the first job that waits for GPUs; `fair_share` (GPUs it
would have fit at the start of the pass went to an org of its tier with a lower share); else
`capacity`. The pass tells the explainer what it needs as it goes: the first org of each tier
to start work (`first_start`), the nodes with at least g GPUs available when the pass began
(`start_ge`) and the jobs waiting on their victims (`aside_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from neocloud.domain.jobs import Tier
from neocloud.scheduler.admission.limits import LimitBlock
from neocloud.scheduler.admission.ordering import EntryKey
from neocloud.scheduler.explanation import sentences
from neocloud.scheduler.explanation.reasons import Blocked
from neocloud.scheduler.model import PendingJob, WaitReason
from neocloud.scheduler.placement.isolation import Isolation
from neocloud.scheduler.placement.reservation import Reservation
from neocloud.scheduler.typestate import TypeState


class Explainer:
    """The reasons of one pass over one GPU type: a limit, isolation, the reservation, GPUs set
    aside, fair share, capacity."""

    def __init__(
        self,
        state: TypeState,
        reservation: Reservation,
        isolation: Isolation,
        now: float,
        org_rank: Mapping[str, int],
        shares: Mapping[str, float],
    ) -> None:
        self._state = state
        self._nodes = state.nodes
        self._index = state.nodes.index
        self._reservation = reservation
        self._isolation = isolation
        self._now = now
        self._rank = org_rank
        self._shares = shares
        # The first org of each tier to start work in this pass (for `fair_share`).
        self.first_start: dict[Tier, str] = {}
        # Nodes with at least g available at the start of the pass, per g (for `fair_share`).
        self.start_ge: list[int] = []
        # Jobs waiting on their victims with GPUs set aside (later jobs get `priority`).
        self.aside_for: list[str] = []
        # The key of the job that took (or tried to take) the reservation in this pass.
        self.hold_key: EntryKey | None = None

    def explain(
        self, job: PendingJob, block: LimitBlock | None, hold_as: EntryKey | None
    ) -> Blocked:
        """Why a job that neither starts nor preempts waits. With `hold_as` (its key in the
        pass) it may take the reservation, if no job tried before it in this pass."""
        if block is not None:
            return Blocked(block.reason, block.sentence)
        isolation = self._isolation.block(job)
        if isolation is not None:
            return isolation
        g, k = job.resources.gpus_per_node, job.resources.nodes
        reservation = self._reservation
        plan, holder = reservation.plan, reservation.holder
        if plan is not None and holder is not None and reservation.fits_lifted(g, k):
            sentence = partial(
                sentences.delay_message, holder.id, plan.start - self._now, job.max_runtime_seconds
            )
            return Blocked(WaitReason.PLANNED_START, sentence, gpus=True, delay=True)
        if self.aside_for and self._nodes.free_view.at_least(g) >= k:
            holders = tuple(sorted(self.aside_for))
            sentence = partial(sentences.priority_message, self._state.name, holders)
            return Blocked(WaitReason.PRIORITY, sentence, gpus=True)
        if hold_as is not None and not reservation.tried:
            self.hold_key = hold_as
            largest, fitting = self._index.largest(), self._index.nodes_with(g)
            if reservation.hold(job):
                assert reservation.plan is not None
                sentence = partial(
                    sentences.planned_message,
                    job.resources,
                    largest,
                    fitting,
                    reservation.plan.start - self._now,
                    tuple(reservation.waits_for()),
                )
                return Blocked(WaitReason.PLANNED_START, sentence, gpus=True, holder=True)
        return self.capacity(job)

    def capacity(self, job: PendingJob) -> Blocked:
        """`fair_share` if GPUs it would have fit went to an org of its tier with a lower
        share during this pass, else `capacity` with the largest free block."""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        ahead = self.first_start.get(job.tier)
        rank = self._rank
        if (
            ahead is not None
            and ahead != job.org
            and rank.get(ahead, 0) < rank.get(job.org, 0)
            and g < len(self.start_ge)
            and self.start_ge[g] >= k
        ):
            shares = self._shares
            sentence = partial(
                sentences.fair_share_message,
                job.org,
                shares.get(job.org, 0.0),
                ahead,
                shares.get(ahead, 0.0),
                self._state.name,
            )
            return Blocked(WaitReason.FAIR_SHARE, sentence, gpus=True)
        index = self._index
        sentence = partial(
            sentences.capacity_message, job.resources, index.largest(), index.nodes_with(g)
        )
        return Blocked(WaitReason.CAPACITY, sentence, gpus=True)
