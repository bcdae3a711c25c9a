"""Why a job waits, as a pass decides it: a reason code, a sentence, and what kind of wait.

Reason codes fall into kinds: waiting for GPUs (capacity, fair_share, planned_start, priority),
for a limit (quota, borrow_limit, contract, sellable_cap, each its own kind), for preempted work
to exit (preempting), for nodes that isolate tenants (isolation: an external job that would fit
only on nodes closed to external work), or for nothing that can happen (unsatisfiable). Inside
the GPU kind the code follows capacity at every pass; the stateful scheduler announces a member
of a group of identical jobs again only when its kind changes (see `scheduler.pass_end`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neocloud.scheduler.model import Wait, WaitReason

# A sentence, written only when someone reads it: most waits are not re-announced.
Sentence = Callable[[], str]

GPUS = "gpus"
REASON_KIND = {
    WaitReason.CAPACITY: GPUS,
    WaitReason.FAIR_SHARE: GPUS,
    WaitReason.PLANNED_START: GPUS,
    WaitReason.PRIORITY: GPUS,
    WaitReason.QUOTA: "quota",
    WaitReason.BORROW_LIMIT: "borrow_limit",
    WaitReason.CONTRACT: "contract",
    WaitReason.SELLABLE_CAP: "sellable_cap",
    WaitReason.PREEMPTING: "preempting",
    WaitReason.UNSATISFIABLE: "unsatisfiable",
    WaitReason.ISOLATION: "isolation",
}


@dataclass(frozen=True, slots=True)
class Blocked:
    """Why a job does not start in this pass.

    `gpus`: it waits for GPUs (fragmentation counts it); `holder`: it holds the backfill
    reservation; `delay`: it fits now but would delay the reservation (backfill may still find
    members of its group short enough to start).
    """

    reason: WaitReason
    sentence: Sentence
    gpus: bool = False
    holder: bool = False
    delay: bool = False

    def wait(self, job_id: str) -> Wait:
        """The Wait of a job blocked this way."""
        return Wait(job_id, self.reason, self.sentence())


def _fixed(text: str) -> Sentence:
    return lambda: text


def blocked(reason: WaitReason, text: str) -> Blocked:
    """A Blocked with a sentence already written."""
    return Blocked(reason, _fixed(text))
