"""An attempt the engine reports over: read as the core's `AttemptEnd`, its outcome applied.

What the end makes of the job is the core's rule (`domain.attempts.after_attempt`), the one the
simulator follows too; here are only the engine's words for each end and the job row's
bookkeeping around the transitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from neocloud.domain.attempts import (
    CANCELLED,
    MAX_RUNTIME_EXCEEDED,
    NODE_FAILED,
    REQUEUED,
    AttemptEnd,
    AttemptOutcome,
    EndKind,
    after_attempt,
)
from neocloud.domain.jobs import JobState
from neocloud.engines.base import EngineStatus
from neocloud.server.jobs.lifecycle import transition
from neocloud.store.models import JobRow


def read_end(job: JobRow, st: EngineStatus, credit_stop: bool) -> AttemptEnd:
    """How the engine's report of a finished attempt reads as an attempt's end.

    `credit_stop`: the job's stop was asked for because its org's credit is used up.
    """
    # A preemption notice is delivered as a cancel; one the user also asked for is their cancel.
    if job.preempting_for and st.reason_code == CANCELLED and not job.cancel_requested:
        return AttemptEnd(EndKind.PREEMPTED, job.preempting_for)
    if job.cancel_requested:
        return AttemptEnd(EndKind.CREDIT_STOP if credit_stop else EndKind.CANCELLED)
    if st.reason_code == NODE_FAILED:
        what = st.reason.partition(": ")[2] if st.reason else "the node failed"
        return AttemptEnd(EndKind.NODE_FAILED, what)
    if st.reason_code == MAX_RUNTIME_EXCEEDED:
        return AttemptEnd(EndKind.MAX_RUNTIME, str(job.max_runtime_seconds))
    if st.state == "lost":
        return AttemptEnd(EndKind.LOST, st.reason or "")
    if st.exit_code == 0:
        return AttemptEnd(EndKind.COMPLETED)
    return AttemptEnd(EndKind.FAILED, st.reason or "", st.exit_code, st.signal, st.reason_code)


def outcome_of(job: JobRow, end: AttemptEnd) -> AttemptOutcome:
    """The core's outcome of this end for the job's retry policy and attempts made."""
    return after_attempt(end, job.requeue_on_preemption, job.attempts, job.max_attempts)


def finish_attempt(
    s: Session,
    job: JobRow,
    st: EngineStatus,
    ended: datetime,
    now: datetime,
    details: Mapping[str, object],
    *,
    credit_stop: bool,
) -> AttemptEnd:
    """End the job's attempt the engine reports over (not a drained one); returns how it ended."""
    end = read_end(job, st, credit_stop)
    outcome = outcome_of(job, end)
    if end.kind is EndKind.PREEMPTED:
        # Dated when the stop was seen; the job's ended_at is the engine's end, even once it is
        # requeued (a node failure or drain clears it instead), as it has always been.
        apply_outcome(s, job, outcome, now, now, {**details, "by_job": end.detail})
        job.ended_at = ended
    else:
        apply_outcome(s, job, outcome, ended, now, details)
    return end


def apply_outcome(
    s: Session,
    job: JobRow,
    outcome: AttemptOutcome,
    at: datetime,
    now: datetime,
    details: Mapping[str, object],
) -> None:
    """Record how the attempt ended (at `at`) and, when the job runs again, requeue it now."""
    transition(s, job, outcome.state, outcome.reason, at, outcome.message, dict(details))
    if outcome.state is JobState.PREEMPTED:
        # The attempt is gone: no handle to poll, no stop left to deliver.
        job.engine_handle = None
        job.stop_sent_at = None
        job.preempting_for = None
    if outcome.requeue_message is not None:
        transition(s, job, JobState.PENDING, REQUEUED, now, outcome.requeue_message)
        job.ended_at = None
