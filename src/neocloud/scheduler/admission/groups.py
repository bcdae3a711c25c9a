"""Pending jobs grouped by everything a decision depends on, so a pass decides a group at once.

Jobs of the same GPU type, tier, org, priority class and shape (GPUs per node × nodes) meet the
same limits and fit the same GPUs: if the first of them cannot start, none can, for the same
reason. A pass therefore visits groups (a few hundred) rather than jobs (up to 100,000): it takes
the first job of the best group, and either starts it and moves on to the next, or gives the
whole group its reason. Only backfill looks inside a blocked group, for jobs short enough to end
before a planned start.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from neocloud.domain.jobs import Tier
from neocloud.scheduler.admission.limits import LimitCheck, Stamp
from neocloud.scheduler.admission.ordering import EntryKey, class_rank
from neocloud.scheduler.explanation.reasons import GPUS, REASON_KIND, Blocked, Sentence
from neocloud.scheduler.model import PendingJob, WaitReason

GroupKey = tuple[str, Tier, str, int, int, int]


def group_key(job: PendingJob) -> GroupKey:
    """(GPU type, tier, org, priority class rank, GPUs per node, nodes)."""
    r = job.resources
    return (
        r.gpu_type,
        job.tier,
        job.org,
        class_rank(job.tier, job.priority_class),
        r.gpus_per_node,
        r.nodes,
    )


@dataclass(slots=True)
class Group:
    """Pending jobs with the same key, in submission order."""

    key: GroupKey
    # (order, id) of members, sorted; entries before `head` or not in `members` are gone.
    _order: list[tuple[int, str]] = field(default_factory=list)
    _head: int = 0
    members: dict[str, PendingJob] = field(default_factory=dict)
    # Max runtimes of members (lazy deletion): the shortest tells whether backfill can help.
    _runtimes: list[tuple[int, int, str]] = field(default_factory=list)
    # The reason every member was last given (and its sentence), and members not told yet.
    reason: WaitReason | None = None
    sentence: Sentence | None = None
    fresh: set[str] = field(default_factory=set)
    # The limits' verdict on the members: reused as it is while the holdings it read are
    # unchanged (`stamp`), and its kind while they stay in its ranges (`limits_ok`, kept by
    # the limits' watch under `token`).
    stamp: Stamp | None = None
    verdict: LimitCheck | None = None
    token: int | None = None
    limits_ok: bool = False
    # Why a pass may pass it by while `limits_ok` holds and no member is new: it waits on a
    # limit (`settled`: only holdings can change that), or for GPUs (`for_gpus`: as long as
    # its shape still does not fit, preemption still cannot help, the reservation is the same).
    settled: bool = False
    for_gpus: bool = False
    # Why the group waited at its last examination (a pass may reuse it if nothing changed).
    last: Blocked | None = None
    # Its entry in the type's persisted admission order.
    order_key: EntryKey | None = None

    def __len__(self) -> int:
        return len(self.members)

    def add(self, job: PendingJob) -> None:
        """A new member (also one coming back from a dissolved promise)."""
        entry = (job.order, job.id)
        # Entries before the head are gone, so inserting at or after it keeps the live part sorted.
        at = bisect.bisect_left(self._order, entry, lo=self._head)
        if at == len(self._order) or self._order[at] != entry:
            self._order.insert(at, entry)
        self.members[job.id] = job
        heapq.heappush(self._runtimes, (job.max_runtime_seconds, job.order, job.id))
        self.tell_again(job.id)

    def tell_again(self, job_id: str) -> None:
        """A member is to be told the group's reason at the next pass that decides it."""
        self.fresh.add(job_id)
        self.settled = self.for_gpus = False

    def remove(self, job_id: str) -> PendingJob:
        """A member leaves (started, withdrawn, or waiting on preemption)."""
        job = self.members.pop(job_id)
        self.fresh.discard(job_id)
        if len(self._order) - self._head > 2 * len(self.members) + 32:
            self._compact()
        return job

    def head(self) -> PendingJob | None:
        """The first member in submission order."""
        order, members = self._order, self.members
        while self._head < len(order):
            job = members.get(order[self._head][1])
            if job is not None and job.order == order[self._head][0]:
                return job
            self._head += 1
        return None

    def mark(self) -> None:
        """After a pass decided it: whether later passes may pass it by (`settled`, `for_gpus`)."""
        last, verdict = self.last, self.verdict
        self.settled = self.for_gpus = False
        if last is None or verdict is None or last.holder or not self.limits_ok:
            return
        if verdict.block is None:
            self.for_gpus = REASON_KIND[last.reason] == GPUS
        else:
            self.settled = last.reason is verdict.block.reason and not verdict.may_reclaim

    def __iter__(self) -> Iterator[PendingJob]:
        members = self.members
        for order, job_id in self._order[self._head :]:
            job = members.get(job_id)
            if job is not None and job.order == order:
                yield job

    def shortest_runtime(self) -> int | None:
        """The smallest max runtime among members."""
        heap, members = self._runtimes, self.members
        while heap:
            runtime, order, job_id = heap[0]
            job = members.get(job_id)
            if job is not None and job.order == order and job.max_runtime_seconds == runtime:
                return runtime
            heapq.heappop(heap)
        return None

    def _compact(self) -> None:
        members = self.members
        self._order = sorted(
            (o, i) for o, i in self._order if i in members and members[i].order == o
        )
        self._head = 0
        self._runtimes = [(j.max_runtime_seconds, j.order, j.id) for j in members.values()]
        heapq.heapify(self._runtimes)
