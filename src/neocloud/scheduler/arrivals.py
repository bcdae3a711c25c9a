"""New jobs decided alone: when nothing but submissions happened since a type's last pass.

A full pass would find every other job waiting exactly as before (nothing freed GPUs or loosened
a limit), so only the new jobs need a decision — if each of them only waits, behind the
reservation, without taking anything. Otherwise the caller runs a full pass.
"""

from __future__ import annotations

from collections.abc import Mapping

from neocloud.scheduler.admission.groups import Group
from neocloud.scheduler.admission.ordering import entry_key
from neocloud.scheduler.explaining import Explainer
from neocloud.scheduler.explanation.reasons import Blocked, blocked
from neocloud.scheduler.model import PendingJob, Wait, WaitReason
from neocloud.scheduler.placement.isolation import Isolation
from neocloud.scheduler.placement.reservation import Reservation
from neocloud.scheduler.reclaim import Reclaimer
from neocloud.scheduler.typestate import TypeState
from neocloud.scheduler.world import World


class Arrivals:
    """Deciding the submissions of one GPU type alone, with the parts of a pass over it."""

    def __init__(
        self,
        world: World,
        state: TypeState,
        org_rank: Mapping[str, int],
        reservation: Reservation,
        isolation: Isolation,
        reclaimer: Reclaimer,
        explainer: Explainer,
    ) -> None:
        self._world = world
        self._state = state
        self._index = state.nodes.index
        self._rank = org_rank
        self._reservation = reservation
        self._isolation = isolation
        self._reclaimer = reclaimer
        self._explainer = explainer

    def decide(self, waits: list[Wait]) -> bool:
        """Decide the jobs submitted since the last pass alone, if that is what a full pass
        would do: each of them waits, behind the reservation, and changes nothing for anyone
        else; their waits go to `waits`. False (nothing done) if one of them could start,
        preempt, take the reservation, or backfill: the caller then runs a full pass."""
        state, world = self._state, self._world
        holder = world.pending.get(state.holder) if state.holder is not None else None
        self._reservation.resume(state.plan, holder)
        self._explainer.aside_for = sorted(state.counted)
        outcomes: list[tuple[PendingJob, Group, Blocked | None]] = []
        for job in state.arrivals:
            if job.id not in world.pending:
                continue  # withdrawn since
            if self._isolation.hides(job):
                return False  # decided with the closed nodes hidden, in a full pass
            group = world.group_of[job.id]
            if group.head() is not job:
                # Behind an earlier member: same limits, same shape, the group's reason; unless
                # backfill could let it (short) in.
                if group.reason is None or group.reason is WaitReason.PLANNED_START:
                    return False
                if not self._current_sentence(group):
                    return False
                outcomes.append((job, group, None))
                continue
            if len(group) > 1:
                return False  # ahead of an earlier head: the group's order changed
            why = self._alone(group, job)
            if why is None:
                return False
            outcomes.append((job, group, why))
        emitted = world.emitted
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

    def _current_sentence(self, group: Group) -> bool:
        """A group waiting on a limit whose holdings moved (within its verdict's ranges) tells
        new members the same reason with today's figures. False if the reason itself could
        have changed (then a full pass decides)."""
        verdict, head = group.verdict, group.head()
        if verdict is None or verdict.block is None or verdict.block.reason is not group.reason:
            return True
        limits = self._world.limits
        if head is None or not group.limits_ok or group.stamp == limits.stamp(head):
            return True
        block = self._world.judge(group, head).block
        if block is None or block.reason is not group.reason:  # pragma: no cover - in range
            group.settled = group.for_gpus = False
            return False
        group.sentence = block.sentence
        group.last = Blocked(block.reason, block.sentence)
        return True

    def _alone(self, group: Group, job: PendingJob) -> Blocked | None:
        """Why a new job waits if it certainly waits without changing anything, else None."""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        why = self._state.unsatisfiable_reason(g, k)
        if why is not None:
            return blocked(WaitReason.UNSATISFIABLE, why)
        limits, reservation = self._world.limits, self._reservation
        verdict = self._world.judge(group, job)
        key = entry_key(job, int(limits.would_borrow(job)), self._rank)
        hold_key = self._state.hold_key
        # Ahead of the reservation's holder, a job is not held back by the reservation (and,
        # waiting for GPUs, would take it): a full pass decides it.
        ahead = hold_key is None or key < hold_key
        if verdict.block is None:
            if ahead or self._index.fits(g, k):
                return None
            if reservation.ends_before(job) and reservation.fits_lifted(g, k):
                return None
        short = verdict.shortfall
        may_reclaim = verdict.reclaims_spot or verdict.reclaims_borrowed
        if (
            short is not None
            and may_reclaim
            and (ahead or self._reclaimer.possible(job, verdict, short))
        ):
            return None
        if verdict.block is not None:
            return Blocked(verdict.block.reason, verdict.block.sentence)
        return self._explainer.explain(job, None, hold_as=None)
