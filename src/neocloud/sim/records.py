"""What happened to each job in a simulation, and the outcome of a whole run."""

from __future__ import annotations

from dataclasses import dataclass

from neocloud.domain.jobs import JobState
from neocloud.sim.trace import TraceJob

# One allocation of a job: the virtual times it started holding its GPUs and released them.
Attempt = tuple[float, float]


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job's history: when it first started, when it ended, how long it waited in all."""

    job: TraceJob
    first_start: float | None
    end: float | None
    # Every second spent pending: before the first start and after each requeue.
    pending_s: float
    preemptions: int
    # GPU-seconds held over every attempt (preempted attempts and their grace included).
    gpu_seconds: float
    # Every allocation in order, preempted attempts (grace included) and the last one.
    attempts: tuple[Attempt, ...] = ()
    # Where the job rests at the end of the run, as the server would leave it: succeeded, or
    # failed at its max runtime; preempted when its retry policy let it run no more; pending
    # when it never got to run to an end.
    state: JobState = JobState.PENDING

    @property
    def timed_out(self) -> bool:
        """Stopped at its max runtime before its duration was done: the one way a run fails."""
        return self.state is JobState.FAILED

    @property
    def finished(self) -> bool:
        """True if the job ran to its end."""
        return self.end is not None

    @property
    def jct(self) -> float | None:
        """Job completion time: end − submit, or None if it never finished."""
        return None if self.end is None else self.end - self.job.submit_time


@dataclass(frozen=True, slots=True)
class SimOutcome:
    """A finished simulation: every job's record and the fleet-wide integrals."""

    records: tuple[JobRecord, ...]
    fleet_gpus: int
    # Virtual time of the first submission and of the last end (release of GPUs).
    start: float
    end: float
    # Fragmentation integrated over time: stranded GPUs × seconds, fleet-wide.
    stranded_gpu_seconds: float
    scheduler_steps: int
    events: int
