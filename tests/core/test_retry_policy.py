"""A job's retry policy: whether an attempt cut short (preemption, node failure) runs again."""

from __future__ import annotations

import pytest

from neocloud.domain.attempts import runs_again
from neocloud.domain.jobs import JobState
from neocloud.schemas.jobs import Job
from neocloud.sdk.jobs import is_final
from tests.sdk import sdk_samples as s


@pytest.mark.parametrize(
    ("requeue", "attempts", "max_attempts", "again"),
    [
        (True, 1, None, True),  # no limit
        (True, 50, None, True),
        (False, 1, None, False),  # the job asked not to be requeued
        (False, 1, 5, False),
        (True, 1, 2, True),  # one attempt made, two allowed
        (True, 2, 2, False),  # the last attempt was made
        (True, 1, 1, False),  # a single attempt: never requeued
    ],
)
def test_a_job_runs_again_only_if_it_requeues_and_has_attempts_left(
    requeue: bool, attempts: int, max_attempts: int | None, again: bool
) -> None:
    assert runs_again(requeue, attempts, max_attempts) is again


@pytest.mark.parametrize(
    ("attempts", "max_attempts", "final"), [(1, None, False), (1, 2, False), (2, 2, True)]
)
def test_a_preempted_job_with_no_attempts_left_is_final_to_the_sdk(
    attempts: int, max_attempts: int | None, final: bool
) -> None:
    job = Job.model_validate(
        s.job(state=JobState.PREEMPTED.value, attempts=attempts, max_attempts=max_attempts)
    )

    assert is_final(job) is final
