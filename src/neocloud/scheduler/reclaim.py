"""Preemption inside a pass: which victims a job may take, and where it would then run.

Bookkeeping around `preemption.victims.choose_victims`: the candidates a job may take (spot
work if its limits let it reclaim spot; internal work of other internal orgs held above their
quota if it may reclaim borrowed capacity), what each node could give at most (an O(1) check
that rules out hopeless cases before looking at any victim), and the nodes it would get once
they exit.
Nodes planned for the backfill reservation give nothing: a later job may not take them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from neocloud.scheduler.admission.limits import LimitCheck, Shortfall
from neocloud.scheduler.model import PendingJob
from neocloud.scheduler.placement.index import CountIndex
from neocloud.scheduler.placement.reservation import Reservation
from neocloud.scheduler.preemption.victims import Held, choose_victims
from neocloud.scheduler.typestate import TypeState
from neocloud.scheduler.world import World


@dataclass(frozen=True, slots=True)
class Reclaimed:
    """Victims to preempt, the nodes the job will get, and GPUs victims free per node."""

    victims: list[Held]
    placement: list[int]
    released: dict[int, int]


class Reclaimer:
    """Finds victims for jobs of one GPU type during one pass."""

    def __init__(self, world: World, state: TypeState, reservation: Reservation) -> None:
        self._world = world
        self._state = state
        self._reservation = reservation
        # (g, k, may take borrowed) known hopeless in this pass: capacity only shrinks.
        self._failed: set[tuple[int, int, bool]] = set()

    def possible(self, job: PendingJob, verdict: LimitCheck, short: Shortfall) -> bool:
        """Could preemption make `job` fit? (True may still find no victims.)"""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        room = self._borrowed_room(job) if verdict.reclaims_borrowed else {}
        return not self._hopeless(g, k, verdict, short, room, {})

    def spot_could_fit(self, g: int, k: int) -> bool:
        """Could g × k fit if every spot job on nodes a later job may use exited?"""
        return self._could_fit(g, k, self._state.nodes.spot_view, {})

    def _could_fit(self, g: int, k: int, view: CountIndex, extra: Mapping[int, int]) -> bool:
        nodes = self._state.nodes
        possible = view.at_least(g)
        for node, gpus in extra.items():
            possible += (view.value[node] + gpus >= g) - (view.value[node] >= g)
        plan = self._reservation.plan
        if plan is not None:
            # Victims on nodes planned for the reservation free nothing a later job may use.
            for node in plan.nodes:
                more = extra.get(node, 0)
                if view.value[node] + more >= g > nodes.index.avail[node] + more:
                    possible -= 1
        return possible >= k

    def _hopeless(
        self,
        g: int,
        k: int,
        verdict: LimitCheck,
        short: Shortfall,
        room: Mapping[str, int],
        extra: Mapping[int, int],
    ) -> bool:
        state = self._state
        view = state.nodes.reclaim_view if room else state.nodes.spot_view
        return (
            not self._could_fit(g, k, view, extra)
            or short.spot_gpus > state.spot_gpus
            or (short.cohort_gpus > 0 and not room)
            or (not verdict.reclaims_spot and not room)
        )

    def find(
        self, job: PendingJob, verdict: LimitCheck, short: Shortfall, extra: Mapping[int, int]
    ) -> Reclaimed | None:
        """The cheapest sufficient victims for `job`, or None (none possible, or none needed).

        `extra` are GPUs per node already being freed for the job (its own victims exiting).
        """
        g, k = job.resources.gpus_per_node, job.resources.nodes
        borrowed = verdict.reclaims_borrowed
        plain = short.met and not extra
        if plain and any(
            g >= hg and k >= hk and (took or not borrowed) for hg, hk, took in self._failed
        ):
            return None
        state = self._state
        nodes = state.nodes
        index = nodes.index
        room = self._borrowed_room(job) if borrowed else {}
        view = nodes.reclaim_view if room else nodes.spot_view
        if self._hopeless(g, k, verdict, short, room, extra):
            if plain:
                self._failed.add((g, k, borrowed))
            return None
        reservation = self._reservation

        def usable(node: int) -> int:
            if not nodes.schedulable[node] or reservation.reserved(node):
                return -1
            return index.avail[node] + extra.get(node, 0)

        def potential(node: int) -> int:
            return view.value[node] + extra.get(node, 0)

        fitting = index.count_ge[g] if g <= index.top else 0
        for node, gpus in extra.items():
            fitting += (index.avail[node] + gpus >= g) - (index.avail[node] >= g)
        spot: Iterator[Held] = state.candidates.spot() if verdict.reclaims_spot else iter(())
        internal = state.candidates.internal(room)
        victims = choose_victims(g, k, usable, potential, fitting, short, spot, internal, room)
        if victims is None:
            if plain:
                self._failed.add((g, k, borrowed))
            return None
        if not victims:
            return None  # exits already under way are enough
        released = dict(extra)
        for victim in victims:
            for node, indices in victim.slots:
                if usable(node) >= 0:
                    released[node] = released.get(node, 0) + len(indices)
        placement = place_with(state, released, g, k)
        if placement is None:  # pragma: no cover - victims are chosen so that the job fits
            return None
        return Reclaimed(victims, placement, released)

    def _borrowed_room(self, job: PendingJob) -> dict[str, int]:
        """Other internal orgs' GPUs above quota, where at least one of their jobs fits in."""
        world, state = self._world, self._state
        room: dict[str, int] = {}
        for org in state.candidates.orgs():
            smallest = state.candidates.smallest(org)
            if org != job.org and smallest is not None:
                borrowed = world.limits.borrowed(org, state.name)
                if borrowed >= smallest:
                    room[org] = borrowed
        return room


def place_with(state: TypeState, extra: Mapping[int, int], g: int, k: int) -> list[int] | None:
    """Nodes for g × k if `extra` GPUs per node were available too, or None."""
    index = state.nodes.index
    before = {node: index.avail[node] for node in extra}
    for node, gpus in extra.items():
        index.set(node, before[node] + gpus)
    chosen = choose(state, g, k) if index.fits(g, k) else None
    for node, value in before.items():
        index.set(node, value)
    return chosen


def choose(state: TypeState, g: int, k: int) -> list[int]:
    """Best-fit nodes for g × k among available GPUs (the caller knows it fits)."""
    index = state.nodes.index
    if k == 1:
        best = index.best(g)
        return [] if best is None else [best]
    return index.gang(g, k) or []
