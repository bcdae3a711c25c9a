"""Jobs: tiers, priority classes, resources and the job state machine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    """How capacity is sold, highest first (DESIGN.md §4)."""

    INTERNAL = "internal"
    RESERVED = "reserved"
    ON_DEMAND = "on_demand"
    SPOT = "spot"

    @property
    def rank(self) -> int:
        """0 for the highest tier; lower rank wins."""
        return _TIER_RANK[self]

    @property
    def external(self) -> bool:
        """True for tiers sold to external customers."""
        return self is not Tier.INTERNAL

    @property
    def preemptible(self) -> bool:
        """Only spot work may be preempted by another org's work."""
        return self is Tier.SPOT


_TIER_RANK = {Tier.INTERNAL: 0, Tier.RESERVED: 1, Tier.ON_DEMAND: 2, Tier.SPOT: 3}


class PriorityClass(StrEnum):
    """Priority of internal work inside its org, highest first."""

    PRODUCTION = "production"
    RESEARCH = "research"
    BATCH = "batch"

    @property
    def rank(self) -> int:
        """0 for the highest class."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {PriorityClass.PRODUCTION: 0, PriorityClass.RESEARCH: 1, PriorityClass.BATCH: 2}


class JobState(StrEnum):
    """Lifecycle of a job."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PREEMPTED = "preempted"

    @property
    def terminal(self) -> bool:
        """A terminal job never changes again (a requeued preemption goes back to pending)."""
        return self in _TERMINAL


_TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})

# Preempted is not terminal: a requeued job goes back to pending; one not requeued stays preempted.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.SCHEDULED, JobState.CANCELLED, JobState.FAILED}),
    JobState.SCHEDULED: frozenset(
        {
            JobState.RUNNING,
            JobState.SUCCEEDED,
            JobState.FAILED,
            JobState.CANCELLED,
            JobState.PREEMPTED,
        }
    ),
    JobState.RUNNING: frozenset(
        {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.PREEMPTED}
    ),
    JobState.PREEMPTED: frozenset({JobState.PENDING}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


class InvalidTransition(ValueError):
    """A state change the job state machine does not allow."""


def check_transition(current: JobState, target: JobState) -> None:
    """Raise InvalidTransition unless current → target is allowed."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"job cannot go from {current} to {target}")


@dataclass(frozen=True, slots=True)
class Resources:
    """What a job asks for: whole GPUs of one type on one or more nodes (a gang)."""

    gpu_type: str
    gpus_per_node: int
    nodes: int = 1

    @property
    def total_gpus(self) -> int:
        """GPUs the whole gang holds."""
        return self.gpus_per_node * self.nodes


DEFAULT_GRACE_SECONDS = 30


# Where a job's own directory appears to the job: every engine that isolates jobs shows it there.
JOB_DIR = "/job"


def working_dir_in_job(working_dir: str | None) -> str:
    """A job's `working_dir` as a path relative to its own directory ('' for the directory itself).

    The one rule for the API and the engines: a relative path, or an absolute one under
    `JOB_DIR`; no `..` component, no NUL or control character. ValueError says why otherwise.
    Symbolic links the job creates are no way out either: isolating engines resolve the path
    inside the job's sandbox, where nothing else of the machine is writable or secret.
    """
    if working_dir is None:
        return ""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in working_dir):
        raise ValueError("must not contain control characters")
    path = working_dir
    if path.startswith("/"):
        if path != JOB_DIR and not path.startswith(JOB_DIR + "/"):
            raise ValueError(
                f"must be relative to the job's directory or an absolute path under {JOB_DIR}"
            )
        path = path[len(JOB_DIR) :]
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError("must not contain '..': it stays inside the job's directory")
    return "/".join(parts)
