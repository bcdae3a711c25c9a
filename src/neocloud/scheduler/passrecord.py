"""What a step decides, and what one pass over one GPU type records for its end.

`Decisions` collects the starts, preemptions and waits of a whole step, over every type.
`PassRecord` is written by the pass (`typepass.TypePass`) as it decides, and read once at its
end by `pass_end`: which waits to report, and whether the next step must look at the type
again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neocloud.scheduler.admission.groups import Group
from neocloud.scheduler.explanation.reasons import Blocked
from neocloud.scheduler.model import PendingJob, Preempt, Start, Wait


@dataclass(slots=True)
class Decisions:
    """What a step decided, in the order it decided it."""

    starts: list[Start] = field(default_factory=list)
    preemptions: list[Preempt] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)


@dataclass(slots=True)
class PassRecord:
    """What one pass over one GPU type decided about waiting work, and what it changed."""

    # Waits decided job by job (the reservation's holder, jobs waiting on their victims), and
    # groups that wait as a whole with their reason.
    individual: dict[str, Blocked] = field(default_factory=dict)
    blocked: list[tuple[Group, Blocked]] = field(default_factory=list)
    # Largest GPUs per node among jobs waiting for GPUs (fragmentation reads it).
    largest_need: int = 0
    # Nodes with GPUs set aside for jobs waiting on their victims.
    aside: set[int] = field(default_factory=set)
    # Shapes (g, k, may take borrowed) of jobs left waiting that may reclaim, and whether work
    # they could take started after them: then the next step must look again, as a fresh pass
    # over the new state would.
    reclaimers: set[tuple[int, int, bool]] = field(default_factory=set)
    new_victims: bool = False
    preempted: bool = False
    started: bool = False
    # Work started on nodes planned for the reservation (it may plan differently now).
    on_plan: bool = False
    # Whether the reservation's holder came to wait on a limit after it got the reservation.
    holder_moved: bool = False

    def wait(self, job: PendingJob, why: Blocked) -> None:
        """`job` waits, decided on its own, for `why`."""
        self.individual[job.id] = why
        if why.gpus:
            self.needs(job.resources.gpus_per_node)

    def needs(self, gpus_per_node: int) -> None:
        """A job needing `gpus_per_node` per node waits for GPUs (`largest_need` keeps the most)."""
        self.largest_need = max(self.largest_need, gpus_per_node)
