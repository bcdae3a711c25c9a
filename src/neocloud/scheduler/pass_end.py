"""The end of a pass: re-read limits that later starts tightened, then report the waits.

Jobs decided one by one (the reservation's holder, jobs waiting on preemption) are reported
when their reason changes. The members of a group of identical jobs are reported when the kind
of thing they wait for changes (GPUs, a given limit, preemption, nothing possible): moves inside
a kind (capacity, fair share, planned start, priority) follow capacity at every pass, and are
read with `Scheduler.wait_of`.
"""

from __future__ import annotations

from collections.abc import Iterable

from neocloud.scheduler.admission.groups import Group
from neocloud.scheduler.admission.ordering import EntryKey
from neocloud.scheduler.explanation.reasons import REASON_KIND, Blocked
from neocloud.scheduler.model import Wait, WaitReason
from neocloud.scheduler.passrecord import PassRecord
from neocloud.scheduler.placement.nodes import TypeNodes
from neocloud.scheduler.placement.reservation import Reservation
from neocloud.scheduler.typestate import TypeState
from neocloud.scheduler.world import World


def finish(
    world: World,
    state: TypeState,
    reservation: Reservation,
    record: PassRecord,
    waits: list[Wait],
    *,
    hold_key: EntryKey | None,
    awaiting: bool,
) -> None:
    """The end of a pass: leave its results in the type's state, report the waits whose kind
    changed, and say whether the next step must look at the type again. `hold_key` is the key
    of the job that took (or tried to take) the reservation; `awaiting`, whether jobs waiting
    on their victims were given GPUs in this pass."""
    recheck(world, state, reservation, record, hold_key)
    state.plan = reservation.plan
    state.holder = reservation.holder.id if reservation.holder is not None else None
    state.hold_key = hold_key
    state.aside = record.aside | reservation.touched
    state.individual = record.individual
    state.largest_need = record.largest_need
    _report(world, record, waits)
    # Look again at the next step if a fresh pass over the new state could decide
    # differently: the reservation moved; a new preemption put a job among those waiting on
    # preemption (which go first, in admission order); work started that a job left
    # waiting could preempt; work started after jobs waiting on preemption were given their
    # GPUs (a fresh pass would choose them among fewer); or a fresh plan differs.
    state.dirty = (
        record.holder_moved
        or record.preempted
        or (record.new_victims and could_reclaim(state.nodes, record.reclaimers))
        or (record.started and awaiting)
        or (record.on_plan and reservation.replanned())
    )


def recheck(
    world: World,
    state: TypeState,
    reservation: Reservation,
    record: PassRecord,
    hold_key: EntryKey | None,
) -> None:
    """Starts late in a pass tighten the limits of groups decided before them: read their
    verdicts again, so each keeps the reason a pass over the final state would give it.
    Only groups whose holdings a start moved out of their verdict's ranges can differ."""
    holder = reservation.holder
    limits = world.limits
    if (
        holder is not None
        and hold_key is not None
        and hold_key[1] != int(limits.would_borrow(holder))
    ):
        # Its org took more since: it would now borrow, and wait behind work within quota.
        record.holder_moved = True
    blocked = record.blocked
    at = {id(group): i for i, (group, _) in enumerate(blocked)}
    for group in left_range(world, state):
        head, last = group.head(), group.last
        if head is None or (last is not None and last.reason is WaitReason.UNSATISFIABLE):
            continue
        if world.rewatch(group):
            continue  # holdings came back into its ranges: the same kind of verdict
        verdict = world.judge(group, head)
        block = verdict.block
        if block is None or (last is not None and last.reason is block.reason):
            group.mark()
            continue
        now = Blocked(block.reason, block.sentence)
        group.last = now
        group.mark()
        if id(group) in at:
            blocked[at[id(group)]] = (group, now)
        else:
            blocked.append((group, now))
        if holder is not None and holder.id in group.members:
            # Another job would hold the reservation now: look again at the next step.
            record.individual[holder.id] = now
            record.holder_moved = True


def _report(world: World, record: PassRecord, waits: list[Wait]) -> None:
    """Report the waits decided job by job whose reason changed, and tell the members of
    waiting groups when the kind of thing they wait for changed (new members always)."""
    emitted, individual = world.emitted, record.individual
    for job_id, why in individual.items():
        if emitted.get(job_id) is not why.reason:
            waits.append(why.wait(job_id))
            emitted[job_id] = why.reason
    for group, why in record.blocked:
        if not group.members:
            continue
        reason, kind = why.reason, REASON_KIND[why.reason]
        # Members are told when the kind of thing they wait for changes; moves inside a
        # kind (capacity, fair share, planned start) follow capacity at every pass and are
        # read with `Scheduler.wait_of`.
        changed = group.reason is None or REASON_KIND[group.reason] != kind
        if not changed and not group.fresh:
            group.reason, group.sentence = reason, why.sentence
            continue
        members = list(group.members) if changed else list(group.fresh)
        text: str | None = None
        for job_id in sorted(members, key=lambda j: (group.members[j].order, j)):
            told = emitted.get(job_id)
            if job_id in individual or (told is not None and REASON_KIND[told] == kind):
                continue
            if text is None:
                text = why.sentence()
            waits.append(Wait(job_id, reason, text))
            emitted[job_id] = reason
        group.reason, group.sentence = reason, why.sentence
        group.fresh.clear()


def left_range(world: World, state: TypeState) -> list[Group]:
    """Groups of this type whose verdict's ranges a start or preemption of this pass left
    after they were decided (those left earlier were decided afresh), in admission order."""
    seen: dict[int, Group] = {}
    for owner in world.limits.watch.fired:
        if (
            isinstance(owner, Group)
            and not owner.limits_ok
            and state.groups.get(owner.key) is owner
            and owner.order_key is not None
        ):
            seen[id(owner)] = owner
    return sorted(seen.values(), key=lambda group: group.order_key or ())


def could_reclaim(nodes: TypeNodes, reclaimers: Iterable[tuple[int, int, bool]]) -> bool:
    """Could a job left waiting, of shape (g, k, may take borrowed), now reclaim GPUs from work
    that started after it?"""
    for g, k, borrowed in reclaimers:
        view = nodes.reclaim_view if borrowed else nodes.spot_view
        if view.at_least(g) >= k:
            return True
    return False
