"""Preemption (v1): reclaiming GPUs and cap room from spot work for higher-tier jobs.

Only spot jobs are ever victims, and spot jobs never preempt. Victims are chosen greedily in
order of preference (fewest GPUs, then most recently started), then pruned so that no victim
is preempted whose removal from the set would still leave the job able to start. Feasibility
is tracked incrementally (GPUs usable per node, GPUs released per limit) so one choice costs
about as much as walking the candidates once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from neocloud.domain.jobs import Resources, Tier
from neocloud.scheduler.limits import Shortfall
from neocloud.scheduler.model import RunningJob


def may_preempt(tier: Tier) -> bool:
    """Every tier above spot may reclaim GPUs from spot work."""
    return tier is not Tier.SPOT


def is_victim_candidate(job: RunningJob, gpu_type: str) -> bool:
    """Running spot work of the type that has not already been told to exit."""
    return job.tier.preemptible and job.gpu_type == gpu_type and job.preempting_for is None


def victim_preference(job: RunningJob) -> tuple[int, int, str]:
    """Sort key of victims: fewest GPUs first, then the most recently started."""
    return (job.gpus, -job.started_order, job.id)


def reclaim_rule(tier: Tier) -> str:
    """The rule recorded on a preemption, e.g. spot_reclaim_for_internal."""
    return f"spot_reclaim_for_{tier.value}"


def choose_victims(
    resources: Resources,
    usable: Mapping[str, int],
    shortfall: Shortfall,
    candidates: Iterable[RunningJob],
) -> tuple[RunningJob, ...] | None:
    """The cheapest sufficient victims (maybe none) for a job, or None if no set suffices.

    `usable` is, per schedulable node of the job's type, how many GPUs the job may use there
    already; `candidates` are the spot jobs it may preempt.
    """
    reclaim = _Reclaim(resources, usable, shortfall)
    if reclaim.enough():
        return ()
    chosen: list[RunningJob] = []
    for victim in sorted(candidates, key=victim_preference):
        reclaim.release(victim, +1)
        chosen.append(victim)
        if reclaim.enough():
            break
    else:
        return None
    # Try to spare the most expensive victims first; what remains is minimal.
    kept: list[RunningJob] = []
    for victim in reversed(chosen):
        reclaim.release(victim, -1)
        if not reclaim.enough():
            reclaim.release(victim, +1)
            kept.append(victim)
    return tuple(reversed(kept))


class _Reclaim:
    """Whether a job would fit if a set of victims exited, updated one victim at a time."""

    def __init__(self, resources: Resources, usable: Mapping[str, int], shortfall: Shortfall):
        self._per_node = resources.gpus_per_node
        self._nodes = resources.nodes
        self._usable = dict(usable)
        self._fitting = sum(1 for gpus in usable.values() if gpus >= self._per_node)
        self._shortfall = shortfall
        self._released_org = 0
        self._released_external = 0

    def release(self, victim: RunningJob, sign: int) -> None:
        """Count a victim's GPUs as released (sign +1) or held again (sign -1)."""
        for slot in victim.placement:
            before = self._usable.get(slot.node)
            if before is None:
                continue  # not a schedulable node of the type: frees no usable GPUs
            after = before + sign * len(slot.gpu_indices)
            self._usable[slot.node] = after
            self._fitting += (after >= self._per_node) - (before >= self._per_node)
        if victim.org == self._shortfall.org:
            self._released_org += sign * victim.gpus
        if victim.tier.external:
            self._released_external += sign * victim.gpus

    def enough(self) -> bool:
        """True if the job fits both its placement and its limits."""
        return (
            self._fitting >= self._nodes
            and self._released_org >= self._shortfall.org_gpus
            and self._released_external >= self._shortfall.external_gpus
        )
