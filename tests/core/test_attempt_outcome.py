"""What an attempt's end makes of its job: one row per end × retry policy × attempts made."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.domain.attempts import AttemptEnd, AttemptOutcome, EndKind, after_attempt
from neocloud.domain.jobs import TRANSITIONS, JobState

S, F, C, P = JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.PREEMPTED
OFF = " (requeue_on_preemption is off)"
NODE = "a node under the job failed: the node stopped answering"
DRAIN = "a node under the job was drained"

PREEMPTED = AttemptEnd(EndKind.PREEMPTED, "job_b")
NODE_FAILED = AttemptEnd(EndKind.NODE_FAILED, "the node stopped answering")
DRAINED = AttemptEnd(EndKind.DRAINED)

# (end, requeue_on_preemption, attempts made, max_attempts) → the outcome.
ROWS: list[tuple[str, AttemptEnd, bool, int, int | None, AttemptOutcome]] = [
    # A preemption: requeued while the policy allows, else it stays preempted (never failed).
    *[
        (
            f"preempted-requeue-{n}-of-{m}",
            PREEMPTED,
            True,
            n,
            m,
            AttemptOutcome(
                P, "preempted", "preempted to make room for job job_b", "requeued after preemption"
            ),
        )
        for n, m in [(1, None), (50, None), (1, 2), (2, 3)]
    ],
    *[
        (
            f"preempted-stays-{req}-{n}-of-{m}",
            PREEMPTED,
            req,
            n,
            m,
            AttemptOutcome(P, "preempted", "preempted to make room for job job_b"),
        )
        for req, n, m in [(True, 2, 2), (True, 1, 1), (False, 1, None), (False, 1, 5)]
    ],
    # A node failure: requeued while the policy allows, else failed, saying why.
    *[
        (
            f"node-failed-requeue-{n}-of-{m}",
            NODE_FAILED,
            True,
            n,
            m,
            AttemptOutcome(
                P,
                "node_failed",
                f"{NODE}; requeued (requeue_on_preemption)",
                "requeued after a node failure",
            ),
        )
        for n, m in [(1, None), (1, 2)]
    ],
    ("node-failed-off", NODE_FAILED, False, 1, None, AttemptOutcome(F, "node_failed", NODE + OFF)),
    (
        "node-failed-last",
        NODE_FAILED,
        True,
        2,
        2,
        AttemptOutcome(F, "node_failed", f"{NODE} (no attempts left: 2 of max_attempts 2)"),
    ),
    # A drain: the same policy, in its own words.
    *[
        (
            f"drained-requeue-{n}-of-{m}",
            DRAINED,
            True,
            n,
            m,
            AttemptOutcome(
                P,
                "node_drained",
                f"{DRAIN}; requeued (requeue_on_preemption)",
                "requeued after its node was drained",
            ),
        )
        for n, m in [(1, None), (2, 3)]
    ],
    (
        "drained-off",
        DRAINED,
        False,
        1,
        4,
        AttemptOutcome(F, "node_drained", f"{DRAIN}; failed{OFF}"),
    ),
    (
        "drained-last",
        DRAINED,
        True,
        1,
        1,
        AttemptOutcome(
            F, "node_drained", f"{DRAIN}; failed (no attempts left: 1 of max_attempts 1)"
        ),
    ),
    # The job's own end, a cancel or a credit stop: never again, whatever the policy.
    *[
        (f"{end.kind}-{req}-{n}-of-{m}", end, req, n, m, outcome)
        for end, outcome in [
            (AttemptEnd(EndKind.COMPLETED), AttemptOutcome(S, "exited", "exited with code 0")),
            (AttemptEnd(EndKind.CANCELLED), AttemptOutcome(C, "cancelled", "stopped on request")),
            (
                AttemptEnd(EndKind.CREDIT_STOP),
                AttemptOutcome(C, "credit_limit", "stopped: the org's credit is used up"),
            ),
            (
                AttemptEnd(EndKind.MAX_RUNTIME, "3600"),
                AttemptOutcome(
                    F, "max_runtime_exceeded", "killed after exceeding max runtime of 3600 s"
                ),
            ),
            (
                AttemptEnd(EndKind.LOST),
                AttemptOutcome(
                    F, "lost", "the job's processes vanished without an exit status (unknown)"
                ),
            ),
            (
                AttemptEnd(EndKind.LOST, "no heartbeat"),
                AttemptOutcome(
                    F, "lost", "the job's processes vanished without an exit status (no heartbeat)"
                ),
            ),
            (
                AttemptEnd(EndKind.FAILED, exit_code=3),
                AttemptOutcome(F, "exit_code", "exited with code 3"),
            ),
            (
                AttemptEnd(EndKind.FAILED, signal=9),
                AttemptOutcome(F, "signal", "killed by signal 9"),
            ),
            (
                AttemptEnd(EndKind.FAILED, "out of memory", exit_code=137, code="oom"),
                AttemptOutcome(F, "oom", "exited with code 137 (out of memory)"),
            ),
            (
                AttemptEnd(EndKind.FAILED, exit_code=1, code="x" * 80),
                AttemptOutcome(F, "x" * 64, "exited with code 1"),
            ),
        ]
        for req, n, m in [(True, 1, None), (True, 1, 3), (False, 2, 2)]
    ],
]


@pytest.mark.parametrize(
    ("end", "requeue", "attempts", "max_attempts", "expected"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_an_attempts_end_gives_the_outcome_of_the_table(
    end: AttemptEnd,
    requeue: bool,
    attempts: int,
    max_attempts: int | None,
    expected: AttemptOutcome,
) -> None:
    outcome = after_attempt(end, requeue, attempts, max_attempts)

    assert outcome == expected


ENDS = st.builds(
    AttemptEnd,
    kind=st.sampled_from(EndKind),
    detail=st.text(max_size=8),
    exit_code=st.none() | st.integers(-1, 255),
    signal=st.none() | st.integers(1, 64),
    code=st.none() | st.text(max_size=80),
)
POLICIES = st.tuples(st.booleans(), st.none() | st.integers(1, 6))


@given(POLICIES, st.lists(ENDS, min_size=1, max_size=20))
def test_a_job_never_runs_more_than_max_attempts_times(
    policy: tuple[bool, int | None], ends: list[AttemptEnd]
) -> None:
    # Each attempt ends with the next end drawn, until one leaves the job resting.
    requeue, max_attempts = policy
    attempts = 0
    for end in ends:
        attempts += 1
        outcome = after_attempt(end, requeue, attempts, max_attempts)
        # Every outcome is a move the job state machine allows from a running attempt.
        assert outcome.state in TRANSITIONS[JobState.RUNNING]
        if outcome.requeued:
            assert JobState.PENDING in TRANSITIONS[outcome.state]
        else:
            assert outcome.next_state.terminal or outcome.next_state is JobState.PREEMPTED
            break
    assert max_attempts is None or attempts <= max_attempts


@given(st.sampled_from(EndKind), st.booleans(), st.integers(1, 50), st.none() | st.integers(1, 50))
def test_only_an_interruption_under_a_requeue_policy_returns_to_pending(
    kind: EndKind, requeue: bool, attempts: int, max_attempts: int | None
) -> None:
    outcome = after_attempt(AttemptEnd(kind, "x"), requeue, attempts, max_attempts)

    if outcome.requeued:
        assert kind.interrupted and requeue
        assert max_attempts is None or attempts < max_attempts
    if kind is EndKind.PREEMPTED and not requeue:
        # A job with requeue off never returns to pending after a preemption.
        assert outcome.next_state is JobState.PREEMPTED
