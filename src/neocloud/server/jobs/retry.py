"""A job's retry policy as the control loop words it when an interrupted job does not run again."""

from __future__ import annotations

from neocloud.store.models import JobRow


def no_retry(job: JobRow) -> str:
    """Why an interrupted job does not run again, as a suffix for its failure message."""
    if not job.requeue_on_preemption:
        return " (requeue_on_preemption is off)"
    return f" (no attempts left: {job.attempts} of max_attempts {job.max_attempts})"
