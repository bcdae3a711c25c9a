"""The order in which pending jobs are considered: the one place that decides it.

Tier first (internal, reserved, on-demand, spot). Inside a tier, orgs by fair share (decayed
usage per weight, lower first, ties by name; see `fairshare`). Inside an org, priority class
(internal work only: production, research, batch) then submission order. Jobs that spot or
borrowed work is already being preempted for go before all others, so what is promised to them
cannot be taken while the victims exit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.scheduler.model import PendingJob

DEFAULT_PRIORITY_CLASS = PriorityClass.RESEARCH

AdmissionKey = tuple[int, int, int, int, str]
# The key a pass orders its work by: the admission key with, after the tier, 1 if the job would
# borrow quota (internal work within quota goes before borrowers, see `typepass`).
EntryKey = tuple[int | str, ...]


def class_rank(tier: Tier, priority_class: PriorityClass | None) -> int:
    """Rank of a priority class (0 = production); external tiers ignore classes."""
    if tier is not Tier.INTERNAL:
        return 0
    return (priority_class or DEFAULT_PRIORITY_CLASS).rank


def admission_key(job: PendingJob, org_rank: Mapping[str, int] | None = None) -> AdmissionKey:
    """Sort key of a pending job: lower goes first."""
    rank = 0 if org_rank is None else org_rank.get(job.org, 0)
    return (job.tier.rank, rank, class_rank(job.tier, job.priority_class), job.order, job.id)


def entry_key(job: PendingJob, borrow: int, org_rank: Mapping[str, int]) -> EntryKey:
    """The key of `job` in a pass: its admission key with `borrow` after the tier."""
    tier, org, klass, order, job_id = admission_key(job, org_rank)
    return (tier, borrow, org, klass, order, job_id)


def admission_order(
    pending: Iterable[PendingJob],
    promised: Set[str],
    org_rank: Mapping[str, int] | None = None,
) -> list[PendingJob]:
    """Pending jobs in the order one pass considers them (promised jobs first)."""
    return sorted(pending, key=lambda job: (job.id not in promised, admission_key(job, org_rank)))
