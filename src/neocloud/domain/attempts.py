"""What happens to a job once an attempt of it ends: the one rule the server and simulator share.

An attempt ends in one of a few ways (`EndKind`). `after_attempt` turns that end and the job's
retry policy into an `AttemptOutcome`: the state the attempt leaves the job in, the reason and
message of that event, and whether the job then goes back to pending for another attempt.

Every launched attempt counts towards `max_attempts` (the server counts it when it launches, the
simulator when it starts), so `attempts` here always includes the attempt that just ended.
Only an attempt cut short by the platform (a preemption, a node failure, a drain) may run again;
a user's cancel, a credit stop and the job's own end never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from neocloud.domain.jobs import JobState

# Event reasons of interrupted attempts (a node failure's is also the engines' status code).
PREEMPTED = "preempted"
NODE_FAILED = "node_failed"
NODE_DRAINED = "node_drained"
# The reasons of an attempt killed at its max runtime and of one stopped on request (also the
# engines' status codes for those ends).
MAX_RUNTIME_EXCEEDED = "max_runtime_exceeded"
CANCELLED = "cancelled"
REQUEUED = "requeued"
CREDIT_LIMIT = "credit_limit"


class EndKind(StrEnum):
    """How an attempt ended."""

    COMPLETED = "completed"  # exited with code 0
    FAILED = "failed"  # exited with another code, or was killed by a signal
    LOST = "lost"  # its processes vanished without an exit status
    MAX_RUNTIME = "max_runtime"  # killed at its max runtime
    PREEMPTED = "preempted"  # stopped to make room for another job
    NODE_FAILED = "node_failed"  # a node under it failed
    DRAINED = "drained"  # a node under it was drained
    CANCELLED = "cancelled"  # stopped on its user's request
    CREDIT_STOP = "credit_stop"  # stopped because its org's credit is used up

    @property
    def interrupted(self) -> bool:
        """True for ends the platform caused, after which the retry policy may run it again."""
        return self in _INTERRUPTED


_INTERRUPTED = frozenset({EndKind.PREEMPTED, EndKind.NODE_FAILED, EndKind.DRAINED})


@dataclass(frozen=True, slots=True)
class AttemptEnd:
    """One attempt's end, with what the platform knows of it."""

    kind: EndKind
    # In words, per kind: PREEMPTED the job it made room for; NODE_FAILED what happened to the
    # node; MAX_RUNTIME the limit in seconds; LOST and FAILED the engine's account ('' if none).
    detail: str = ""
    # For FAILED only: the exit code (None when killed by a signal), the signal, and the
    # engine's own reason code if it gave one.
    exit_code: int | None = None
    signal: int | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What an attempt's end makes of its job, in the words of the job's history."""

    # The state the end puts the job in: succeeded, failed, cancelled or preempted.
    state: JobState
    reason: str
    message: str
    # The message of the event that puts it back to pending; None when it does not run again.
    requeue_message: str | None = None

    @property
    def requeued(self) -> bool:
        """True when the job goes back to pending for another attempt."""
        return self.requeue_message is not None

    @property
    def next_state(self) -> JobState:
        """Where the job rests once the outcome is applied."""
        return JobState.PENDING if self.requeued else self.state


def runs_again(requeue: bool, attempts: int, max_attempts: int | None) -> bool:
    """Whether a job whose attempt was cut short (preemption, node failure, drain) runs again.

    Its retry policy: requeue at all (`requeue_on_preemption`), and while attempts made so far
    are fewer than `max_attempts` (None: no limit).
    """
    return requeue and (max_attempts is None or attempts < max_attempts)


def no_retry(requeue: bool, attempts: int, max_attempts: int | None) -> str:
    """Why an interrupted job does not run again, as a suffix for its failure message."""
    if not requeue:
        return " (requeue_on_preemption is off)"
    return f" (no attempts left: {attempts} of max_attempts {max_attempts})"


def after_attempt(
    end: AttemptEnd, requeue: bool, attempts: int, max_attempts: int | None
) -> AttemptOutcome:
    """The outcome of an attempt's end for a job with this retry policy and `attempts` made."""
    if end.kind.interrupted:
        return _interrupted(end, requeue, attempts, max_attempts)
    return _ended(end)


def _interrupted(
    end: AttemptEnd, requeue: bool, attempts: int, max_attempts: int | None
) -> AttemptOutcome:
    again = runs_again(requeue, attempts, max_attempts)
    if end.kind is EndKind.PREEMPTED:
        # A preempted job that does not run again stays preempted: it did not fail.
        return AttemptOutcome(
            JobState.PREEMPTED,
            PREEMPTED,
            f"preempted to make room for job {end.detail}",
            "requeued after preemption" if again else None,
        )
    if end.kind is EndKind.NODE_FAILED:
        reason, what, after = (
            NODE_FAILED,
            f"a node under the job failed: {end.detail}",
            "requeued after a node failure",
        )
    else:
        reason, what, after = (
            NODE_DRAINED,
            "a node under the job was drained",
            "requeued after its node was drained",
        )
    if again:
        return AttemptOutcome(
            JobState.PREEMPTED, reason, f"{what}; requeued (requeue_on_preemption)", after
        )
    failed = "; failed" if end.kind is EndKind.DRAINED else ""
    why = no_retry(requeue, attempts, max_attempts)
    return AttemptOutcome(JobState.FAILED, reason, f"{what}{failed}{why}")


def _ended(end: AttemptEnd) -> AttemptOutcome:
    """An end after which the job never runs again, whatever its policy."""
    match end.kind:
        case EndKind.CANCELLED:
            return AttemptOutcome(JobState.CANCELLED, CANCELLED, "stopped on request")
        case EndKind.CREDIT_STOP:
            return AttemptOutcome(
                JobState.CANCELLED, CREDIT_LIMIT, "stopped: the org's credit is used up"
            )
        case EndKind.MAX_RUNTIME:
            return AttemptOutcome(
                JobState.FAILED,
                MAX_RUNTIME_EXCEEDED,
                f"killed after exceeding max runtime of {end.detail} s",
            )
        case EndKind.LOST:
            return AttemptOutcome(
                JobState.FAILED,
                "lost",
                f"the job's processes vanished without an exit status ({end.detail or 'unknown'})",
            )
        case EndKind.COMPLETED:
            return AttemptOutcome(JobState.SUCCEEDED, "exited", "exited with code 0")
    return _failed(end)


def _failed(end: AttemptEnd) -> AttemptOutcome:
    """A failed exit: the engine's reason code if it gave one, else how the process ended."""
    reason = end.code or ("signal" if end.signal else "exit_code")
    how = (
        f"killed by signal {end.signal}"
        if end.exit_code is None
        else f"exited with code {end.exit_code}"
    )
    message = how + (f" ({end.detail})" if end.detail else "")
    # The event's reason column holds 64 characters.
    return AttemptOutcome(JobState.FAILED, reason[:64], message)
