"""The order in which pending jobs are considered in one pass.

v1 orders by tier, then (internal only) priority class, then submission order. Fair share with
decaying usage replaces `admission_key` later; everything else reads the order from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.scheduler.model import PendingJob

DEFAULT_PRIORITY_CLASS = PriorityClass.RESEARCH


def admission_key(job: PendingJob) -> tuple[int, int, int, str]:
    """Sort key of a pending job: lower goes first."""
    if job.tier is Tier.INTERNAL:
        priority = (job.priority_class or DEFAULT_PRIORITY_CLASS).rank
    else:
        # Priority classes only rank work inside internal orgs; external tiers ignore them.
        priority = 0
    return (job.tier.rank, priority, job.order, job.id)


def admission_order(pending: Iterable[PendingJob], promised: Set[str]) -> list[PendingJob]:
    """Pending jobs in the order one pass considers them.

    Jobs that running spot work is already being preempted for go first, so the GPUs and the
    cap room promised to them cannot be taken by anyone else while the victims exit.
    """
    return sorted(pending, key=lambda job: (job.id not in promised, admission_key(job)))
