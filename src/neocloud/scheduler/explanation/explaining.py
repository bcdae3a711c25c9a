"""Why a job that neither starts nor preempts waits, as one pass sees it (`admission.typepass`)."""

from __future__ import annotations

from functools import partial

from neocloud.scheduler.admission.limits import LimitBlock
from neocloud.scheduler.admission.passstate import PassState
from neocloud.scheduler.explanation import sentences
from neocloud.scheduler.explanation.reasons import Blocked
from neocloud.scheduler.model import PendingJob, WaitReason


class Explaining(PassState):
    """The reasons: a limit, isolation, the reservation, GPUs set aside, fair share, capacity."""

    def _explain(self, job: PendingJob, block: LimitBlock | None, *, may_hold: bool) -> Blocked:
        """Why a job that neither starts nor preempts waits."""
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
        if self._aside_for and self._nodes.free_view.at_least(g) >= k:
            holders = tuple(sorted(self._aside_for))
            sentence = partial(sentences.priority_message, self._state.name, holders)
            return Blocked(WaitReason.PRIORITY, sentence, gpus=True)
        if may_hold and not reservation.tried:
            self._hold_key = self._key
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

    def _wait(self, job: PendingJob, why: Blocked) -> None:
        self._individual[job.id] = why
        if why.gpus:
            self._largest_need = max(self._largest_need, job.resources.gpus_per_node)
