"""Preemption: the cheapest sufficient set of victims for a job that cannot start otherwise.

Who may be a victim: spot work (by internal work within its org's quota, reserved work within
its contract, and on-demand work within the sellable cap), and internal work held above its
org's quota (borrowed), by production or research work of another internal org that is within
its own quota and reclaims the quota it lent. Reserved and on-demand work, and internal work
within its org's quota, are never victims; external work never preempts internal work.

Victims are taken in order of preference (lowest tier first: spot, then borrowed batch,
research, production work; then fewest GPUs; then most recently started) until the job fits its
placement and its limits, then pruned from the most expensive down: a victim whose release is
not needed is spared, so no more is preempted than needed.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from neocloud.domain.jobs import Tier
from neocloud.scheduler.admission.limits import Shortfall
from neocloud.scheduler.admission.ordering import class_rank
from neocloud.scheduler.model import RunningJob

VictimKey = tuple[int, int, int, str]
# Rules recorded on a preemption.
BORROWED_RECLAIM = "borrowed_reclaim"


def victim_key(job: RunningJob) -> VictimKey:
    """Preference among victims: lowest tier, then fewest GPUs, then most recently started."""
    # Spot 0; internal work by class, batch (rank 2) before research before production.
    tier = 0 if job.tier is Tier.SPOT else 3 - class_rank(job.tier, job.priority_class)
    return (tier, job.gpus, -job.started_order, job.id)


def reclaim_rule(victim: RunningJob, by: Tier) -> str:
    """E.g. spot_reclaim_for_internal, or borrowed_reclaim."""
    return f"spot_reclaim_for_{by.value}" if victim.tier is Tier.SPOT else BORROWED_RECLAIM


@dataclass(slots=True)
class Held:
    """A running job as the scheduler tracks it: its GPUs by node number within its type."""

    job: RunningJob
    slots: tuple[tuple[int, tuple[int, ...]], ...]
    end: float
    # Internal work (a victim only while its org holds more than its quota).
    internal: bool
    gpus: int


class Candidates:
    """Running work of one GPU type that could be preempted, in order of preference: spot
    work, and internal work per org (only orgs holding more than their quota are looked at)."""

    def __init__(self) -> None:
        self._spot: list[tuple[VictimKey, Held]] = []
        self._internal: dict[str, list[tuple[VictimKey, Held]]] = {}
        # org → GPUs per job → how many candidates: the smallest an org could lose.
        self._sizes: dict[str, dict[int, int]] = {}

    def _list(self, job: RunningJob) -> list[tuple[VictimKey, Held]]:
        if job.tier is Tier.SPOT:
            return self._spot
        return self._internal.setdefault(job.org, [])

    def add(self, held: Held) -> None:
        """A job that may become a victim started."""
        job = held.job
        bisect.insort(self._list(job), (victim_key(job), held))
        if job.tier is not Tier.SPOT:
            sizes = self._sizes.setdefault(job.org, {})
            sizes[held.gpus] = sizes.get(held.gpus, 0) + 1

    def discard(self, held: Held) -> None:
        """A job ended or was preempted."""
        job = held.job
        entries = self._list(job)
        key = victim_key(job)
        at = bisect.bisect_left(entries, (key,))
        if at < len(entries) and entries[at][0] == key:
            del entries[at]
            if job.tier is not Tier.SPOT:
                self._sizes[job.org][held.gpus] -= 1

    def spot(self) -> Iterator[Held]:
        """Spot candidates by preference."""
        for _, held in self._spot:
            yield held

    def internal(self, orgs: Iterable[str]) -> Iterator[Held]:
        """Internal candidates of `orgs`, by preference."""
        lists = [self._internal[org] for org in sorted(orgs) if org in self._internal]
        for _, held in heapq.merge(*lists, key=lambda entry: entry[0]):
            yield held

    def orgs(self) -> list[str]:
        """Orgs with internal candidates, by name."""
        return sorted(org for org, entries in self._internal.items() if entries)

    def smallest(self, org: str) -> int | None:
        """The fewest GPUs any internal candidate of an org holds."""
        sizes = self._sizes.get(org, {})
        return min((gpus for gpus, count in sizes.items() if count > 0), default=None)


def choose_victims(
    g: int,
    k: int,
    usable: Callable[[int], int],
    potential: Callable[[int], int],
    fitting: int,
    shortfall: Shortfall,
    spot: Iterable[Held],
    internal: Iterable[Held],
    borrowed_room: Mapping[str, int],
) -> list[Held] | None:
    """The cheapest sufficient victims (maybe none) for k nodes × g GPUs, or None.

    `usable(node)` is how many GPUs the job may use on a node before any victim exits (−1 if it
    may not use the node at all); `potential(node)` is the most it could use there if every
    candidate on it exited; `fitting` is how many nodes already have `g`. Spot candidates come
    before internal ones (lower tier); `borrowed_room[org]` caps what internal work of an org
    may lose: its GPUs above quota. A candidate that helps neither the placement (it holds no
    GPUs on a node that could reach `g`) nor a limit still short is passed over.
    """
    reclaim = _Reclaim(g, k, usable, fitting, shortfall, borrowed_room)
    if reclaim.enough():
        return []
    chosen: list[Held] = []
    found = False
    for victim in spot:
        if not reclaim.spot_helps():
            break
        if reclaim.helps(victim, potential):
            reclaim.release(victim, +1)
            chosen.append(victim)
            if reclaim.enough():
                found = True
                break
    if not found:
        for victim in internal:
            if reclaim.allowed(victim) and reclaim.helps(victim, potential):
                reclaim.release(victim, +1)
                chosen.append(victim)
                if reclaim.enough():
                    found = True
                    break
    if not found:
        return None
    # Spare the most expensive victims first; what remains is minimal.
    kept: list[Held] = []
    for victim in reversed(chosen):
        reclaim.release(victim, -1)
        if not reclaim.enough():
            reclaim.release(victim, +1)
            kept.append(victim)
    kept.reverse()
    return kept


class _Reclaim:
    """Whether a job would fit if a set of victims exited, updated one victim at a time."""

    def __init__(
        self,
        g: int,
        k: int,
        usable: Callable[[int], int],
        fitting: int,
        shortfall: Shortfall,
        borrowed_room: Mapping[str, int],
    ) -> None:
        self._g = g
        self._k = k
        self._usable_of = usable
        self._usable: dict[int, int] = {}
        self._fitting = fitting
        self._shortfall = shortfall
        self._room = borrowed_room
        self._released_org = 0
        self._released_borrowed = 0
        self._released_spot = 0
        self._by_org: dict[str, int] = {}

    def allowed(self, victim: Held) -> bool:
        """Internal work only within what its org holds above its quota."""
        org = victim.job.org
        return self._by_org.get(org, 0) + victim.gpus <= self._room.get(org, 0)

    def spot_helps(self) -> bool:
        """Could any more spot work help (placement, the cap, or the org's own quota)?"""
        s = self._shortfall
        return (
            self._fitting < self._k
            or self._released_spot < s.spot_gpus
            or self._released_org < s.org_gpus
        )

    def helps(self, victim: Held, potential: Callable[[int], int]) -> bool:
        """Could releasing this victim bring the job closer to fitting?"""
        s, job = self._shortfall, victim.job
        if (
            (job.org == s.org and self._released_org < s.org_gpus)
            or (victim.internal and self._released_borrowed < s.cohort_gpus)
            or (not victim.internal and self._released_spot < s.spot_gpus)
        ):
            return True
        if self._fitting >= self._k:
            return False
        g = self._g
        return any(potential(node) >= g and self._usable_of(node) >= 0 for node, _ in victim.slots)

    def release(self, victim: Held, sign: int) -> None:
        """Count a victim's GPUs as released (sign +1) or held again (sign -1)."""
        g = self._g
        for node, indices in victim.slots:
            before = self._usable.get(node)
            if before is None:
                before = self._usable_of(node)
                self._usable[node] = before
            if before < 0:
                continue  # a node the job may not use: frees nothing usable
            after = before + sign * len(indices)
            self._usable[node] = after
            self._fitting += (after >= g) - (before >= g)
        gpus = sign * victim.gpus
        job = victim.job
        if job.org == self._shortfall.org:
            self._released_org += gpus
        if victim.internal:
            self._released_borrowed += gpus
            self._by_org[job.org] = self._by_org.get(job.org, 0) + gpus
        else:
            self._released_spot += gpus

    def enough(self) -> bool:
        """True if the job fits both its placement and its limits."""
        s = self._shortfall
        return (
            self._fitting >= self._k
            and self._released_org >= s.org_gpus
            and self._released_borrowed >= s.cohort_gpus
            and self._released_spot >= s.spot_gpus
        )
