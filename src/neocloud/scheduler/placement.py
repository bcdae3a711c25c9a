"""Placement: which whole GPUs on which nodes a request gets, given the GPUs it may use.

Gangs are all-or-nothing: `resources.nodes` distinct nodes, each giving `gpus_per_node` GPUs.
Nodes are chosen best-fit (fewest usable GPUs that still fit, ties by name) so whole nodes stay
free for big jobs; a multi-node gang goes inside one topology domain when one can hold it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from neocloud.domain.jobs import Resources
from neocloud.scheduler.model import GpuSlot, Placement

FreeMap = Mapping[str, Sequence[int]]
"""Node name → GPU indices (ascending) a request may use on that node."""


def place(
    resources: Resources, free: FreeMap, domains: Mapping[str, str | None]
) -> Placement | None:
    """GPUs for `resources` among `free` (nodes of its type only), or None if it does not fit."""
    g, k = resources.gpus_per_node, resources.nodes
    if g < 1 or k < 1:
        return None
    fitting = sorted((len(gpus), name) for name, gpus in free.items() if len(gpus) >= g)
    if len(fitting) < k:
        return None
    if k == 1:
        chosen = [fitting[0][1]]
    else:
        chosen = _in_one_domain(fitting, k, free, domains) or [name for _, name in fitting[:k]]
    return tuple(GpuSlot(node=name, gpu_indices=tuple(free[name][:g])) for name in sorted(chosen))


def _in_one_domain(
    fitting: Sequence[tuple[int, str]],
    k: int,
    free: FreeMap,
    domains: Mapping[str, str | None],
) -> list[str] | None:
    """The k best-fit nodes of the fullest domain that can hold the gang, or None."""
    members: dict[str, list[str]] = {}
    for _, name in fitting:
        domain = domains.get(name)
        if domain is not None:
            members.setdefault(domain, []).append(name)
    domain_free: dict[str, int] = {}
    for name, gpus in free.items():
        domain = domains.get(name)
        if domain is not None:
            domain_free[domain] = domain_free.get(domain, 0) + len(gpus)
    # Best-fit at domain level too: the domain with the least free capacity that fits, so
    # emptier domains stay whole for bigger gangs.
    candidates = sorted((domain_free[d], d) for d, names in members.items() if len(names) >= k)
    if not candidates:
        return None
    return members[candidates[0][1]][:k]


def with_gpus(free: FreeMap, slots: Iterable[GpuSlot]) -> dict[str, Sequence[int]]:
    """`free` plus the GPUs in `slots` on nodes already in `free` (others are not usable)."""
    touched: dict[str, set[int]] = {}
    for slot in slots:
        if slot.node in free:
            touched.setdefault(slot.node, set(free[slot.node])).update(slot.gpu_indices)
    merged: dict[str, Sequence[int]] = dict(free)
    for name, gpus in touched.items():
        merged[name] = sorted(gpus)
    return merged


def usable_counts(free: FreeMap, slots: Iterable[GpuSlot]) -> dict[str, int]:
    """How many GPUs per node `free` plus `slots` would give (slots off `free`'s nodes ignored)."""
    counts = {name: len(gpus) for name, gpus in free.items()}
    for slot in slots:
        if slot.node in counts:
            counts[slot.node] += len(slot.gpu_indices)
    return counts


def fits(resources: Resources, usable: Mapping[str, int]) -> bool:
    """True if GPU counts per node could hold `resources`: exactly when `place` would succeed."""
    g = resources.gpus_per_node
    return sum(1 for gpus in usable.values() if gpus >= g) >= resources.nodes


def largest_block(free: FreeMap) -> int:
    """Most usable GPUs on any single node."""
    return max((len(gpus) for gpus in free.values()), default=0)


def nodes_with(free: FreeMap, gpus: int) -> int:
    """How many nodes have at least `gpus` usable GPUs."""
    return sum(1 for indices in free.values() if len(indices) >= gpus)
