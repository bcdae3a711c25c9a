"""Preemption of spot work (DESIGN.md §4), one table per rule: who may preempt whom, which
victims (the cheapest sufficient set: fewest GPUs, then most recently started, never more than
needed), and what happens while victims exit (their GPUs and cap room are promised to the job
they exit for). Reclaiming borrowed internal capacity is in test_scheduler_lending.py.
"""

from __future__ import annotations

import pytest

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.scheduler import (
    NodeState,
    PendingJob,
    Preempt,
    RunningJob,
    Wait,
    WaitReason,
    schedule,
)
from tests.core.test_scheduler_support import (
    job,
    node,
    running,
    snapshot,
    started,
    victims,
    wait_of,
    waits,
)

# --- preemption -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "rule"),
    [
        pytest.param(Tier.INTERNAL, "spot_reclaim_for_internal", id="internal"),
        pytest.param(Tier.RESERVED, "spot_reclaim_for_reserved", id="reserved"),
        pytest.param(Tier.ON_DEMAND, "spot_reclaim_for_on_demand", id="on-demand"),
    ],
)
def test_higher_tiers_reclaim_gpus_from_spot(tier: Tier, rule: str) -> None:
    run = [running("s", Tier.SPOT, {"n1": range(8)}, grace=45)]
    contracts = {("globex", "h100"): 4} if tier is Tier.RESERVED else {}
    result = schedule(snapshot([node("n1")], [job("j", tier, gpus=4)], run, contracts=contracts))
    assert result.preemptions == (Preempt(job_id="s", by_job_id="j", rule=rule, grace_seconds=45),)
    assert result.starts == ()
    assert result.waits == (
        Wait(
            "j",
            WaitReason.PREEMPTING,
            "preempting: waiting for 1 spot job to release 8 h100 (preempted)",
        ),
    )


ONE_NODE = [node("n1")]


@pytest.mark.parametrize(
    ("nodes", "run", "pending"),
    [
        pytest.param(
            [node("n1"), node("n2")],
            [
                running("s", Tier.SPOT, {"n1": range(8)}),
                running("i", Tier.INTERNAL, {"n2": range(8)}),
            ],
            job("j", Tier.SPOT, gpus=4),
            id="spot-never-preempts-spot",
        ),
        pytest.param(
            ONE_NODE,
            [running("r", Tier.RESERVED, {"n1": range(8)})],
            job("j", Tier.INTERNAL, gpus=4),
            id="reserved-is-never-a-victim",
        ),
        pytest.param(
            ONE_NODE,
            [running("o", Tier.ON_DEMAND, {"n1": range(8)})],
            job("j", Tier.INTERNAL, gpus=4),
            id="on-demand-is-never-a-victim",
        ),
        pytest.param(
            ONE_NODE,
            [running("i", Tier.INTERNAL, {"n1": range(8)}, org="other")],
            job("j", Tier.RESERVED, gpus=4),
            id="external-never-preempts-internal",
        ),
        pytest.param(
            ONE_NODE,
            [running("i", Tier.INTERNAL, {"n1": range(8)}, org="other")],
            job("j", Tier.INTERNAL, gpus=4, priority=PriorityClass.PRODUCTION),
            id="internal-work-within-its-quota-is-never-a-victim",
        ),
        pytest.param(
            [node("n1"), node("a1", gpu_type="a100")],
            [
                running("s", Tier.SPOT, {"a1": range(8)}, gpu_type="a100"),
                running("o", Tier.ON_DEMAND, {"n1": range(8)}),
            ],
            job("j", Tier.INTERNAL, gpus=4),
            id="spot-on-another-gpu-type-does-not-help",
        ),
        pytest.param(
            [node("n1"), node("n2")],
            [
                running("s", Tier.SPOT, {"n1": range(8)}),
                running("o", Tier.ON_DEMAND, {"n2": range(1)}),
            ],
            job("j", Tier.INTERNAL, gpus=8, nodes=2),
            id="no-victims-when-preempting-would-not-make-it-fit",
        ),
    ],
)
def test_no_preemption(nodes: list[NodeState], run: list[RunningJob], pending: PendingJob) -> None:
    contracts = {("globex", "h100"): 4} if pending.tier is Tier.RESERVED else {}
    result = schedule(snapshot(nodes, [pending], run, contracts=contracts))
    assert result.preemptions == ()
    # It waits for GPUs, with a planned start from the running jobs' max runtimes.
    assert waits(result) == {pending.id: WaitReason.PLANNED_START}


@pytest.mark.parametrize(
    ("nodes", "run", "pending", "expected"),
    [
        pytest.param(
            [node("n1"), node("n2")],
            [
                running("big", Tier.SPOT, {"n1": range(8)}, started=9),
                running("small", Tier.SPOT, {"n2": range(2)}, started=1),
                running("i", Tier.INTERNAL, {"n2": range(2, 8)}),
            ],
            job("j", Tier.INTERNAL, gpus=2),
            {"small"},
            id="fewest-gpus-first",
        ),
        pytest.param(
            [node("n1")],
            [
                running("old", Tier.SPOT, {"n1": range(4)}, started=1),
                running("new", Tier.SPOT, {"n1": range(4, 8)}, started=2),
            ],
            job("j", Tier.INTERNAL, gpus=4),
            {"new"},
            id="then-most-recently-started",
        ),
        pytest.param(
            [node("n1"), node("n2")],
            [
                running("a", Tier.SPOT, {"n1": (0,)}, started=5),
                running("b", Tier.SPOT, {"n1": (1,)}, started=6),
                running("c", Tier.SPOT, {"n1": (2,)}, started=7),
                running("i1", Tier.INTERNAL, {"n1": range(3, 8)}),
                running("d", Tier.SPOT, {"n2": range(4)}, started=1),
                running("i2", Tier.INTERNAL, {"n2": range(4, 8)}),
            ],
            job("j", Tier.INTERNAL, gpus=4),
            {"d"},
            id="never-more-than-needed",
        ),
        pytest.param(
            [node("n1"), node("n2"), node("n3")],
            [
                running("s1", Tier.SPOT, {"n1": range(8)}, started=1),
                running("s2", Tier.SPOT, {"n2": range(8)}, started=2),
                running("o", Tier.ON_DEMAND, {"n3": range(8)}),
            ],
            job("j", Tier.INTERNAL, gpus=8, nodes=2),
            {"s1", "s2"},
            id="a-gang-reclaims-whole-nodes",
        ),
        pytest.param(
            [node("n1"), node("n2")],
            [
                running("s1", Tier.SPOT, {"n1": range(4)}, started=1),
                running("s2", Tier.SPOT, {"n1": range(4, 8)}, started=2),
            ],
            job("j", Tier.RESERVED, gpus=4),
            {"s2"},
            id="reclaims-cap-room-even-when-gpus-are-free",
        ),
    ],
)
def test_victim_choice(
    nodes: list[NodeState], run: list[RunningJob], pending: PendingJob, expected: set[str]
) -> None:
    cap, contracts = {"h100": 0.5}, {("globex", "h100"): 4}
    result = schedule(snapshot(nodes, [pending], run, cap=cap, contracts=contracts))
    assert victims(result) == {v: pending.id for v in expected}
    assert waits(result) == {pending.id: WaitReason.PREEMPTING}


def test_two_jobs_in_one_pass_never_claim_the_same_victim() -> None:
    run = [
        running("s1", Tier.SPOT, {"n1": range(8)}, started=1),
        running("s2", Tier.SPOT, {"n2": range(8)}, started=2),
    ]
    pending = [job("a", Tier.INTERNAL, gpus=8, order=0), job("b", Tier.ON_DEMAND, gpus=8, order=1)]
    result = schedule(snapshot([node("n1"), node("n2")], pending, run))
    assert victims(result) == {"s2": "a", "s1": "b"}


def test_quota_is_checked_before_preempting() -> None:
    run = [running("s", Tier.SPOT, {"n1": range(8)})]
    pending = [job("j", Tier.INTERNAL, gpus=8)]
    result = schedule(snapshot([node("n1")], pending, run, quotas={("acme", "h100"): 4}))
    assert result.preemptions == ()
    assert waits(result) == {"j": WaitReason.QUOTA}


def test_preemption_sentence_counts_victims_and_gpus() -> None:
    run = [
        running("s1", Tier.SPOT, {"n1": range(2)}, started=1),
        running("s2", Tier.SPOT, {"n1": range(2, 4)}, started=2),
        running("i", Tier.INTERNAL, {"n1": range(4, 8)}),
    ]
    result = schedule(snapshot([node("n1")], [job("j", Tier.INTERNAL, gpus=4)], run))
    assert wait_of(result, "j").message == (
        "preempting: waiting for 2 spot jobs to release 4 h100 (preempted)"
    )


# --- victims already exiting ----------------------------------------------------------------


def test_promised_job_waits_without_choosing_new_victims() -> None:
    run = [
        running("v", Tier.SPOT, {"n1": range(4)}, preempting_for="j"),
        running("s", Tier.SPOT, {"n1": range(4, 8)}, started=9),
    ]
    result = schedule(snapshot([node("n1")], [job("j", Tier.INTERNAL, gpus=4)], run))
    assert result.preemptions == ()
    assert result.waits == (
        Wait(
            "j",
            WaitReason.PREEMPTING,
            "preempting: waiting for 1 spot job to release 4 h100 (preempted)",
        ),
    )


def test_promised_job_starts_once_its_gpus_are_free() -> None:
    # One victim has exited, the other has not yet: free GPUs now suffice, so start.
    run = [running("v2", Tier.SPOT, {"n1": range(2, 4)}, preempting_for="j")]
    result = schedule(
        snapshot([node("n1", 4), node("n2", 2)], [job("j", Tier.INTERNAL, gpus=2)], run)
    )
    assert started(result) == {"j": {"n1": (0, 1)}}


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(job("o", Tier.ON_DEMAND, gpus=4, order=0), id="a-lower-job"),
        pytest.param(job("o", Tier.INTERNAL, gpus=4, order=0), id="even-a-higher-job"),
        pytest.param(job("o", Tier.SPOT, gpus=4, order=0), id="spot"),
    ],
)
def test_free_gpus_a_promised_job_needs_are_not_given_away(other: PendingJob) -> None:
    run = [
        running("v", Tier.SPOT, {"n1": range(4)}, preempting_for="j"),
        running("i", Tier.INTERNAL, {"n2": range(8)}, org="other"),
    ]
    pending = [job("j", Tier.RESERVED, gpus=8, order=5), other]
    contracts = {("globex", "h100"): 8}
    result = schedule(snapshot([node("n1"), node("n2")], pending, run, contracts=contracts))
    assert result.starts == ()
    assert result.preemptions == ()
    assert waits(result) == {"j": WaitReason.PREEMPTING, "o": WaitReason.PRIORITY}
    assert wait_of(result, "o").message == (
        "priority: the free h100 GPUs that fit are held for j, waiting for preempted work to exit"
    )


def test_free_gpus_a_promised_job_does_not_need_may_be_used() -> None:
    run = [running("v", Tier.SPOT, {"n1": range(4)}, preempting_for="j")]
    pending = [job("j", Tier.INTERNAL, gpus=8), job("o", gpus=4)]
    result = schedule(snapshot([node("n1"), node("n2", 4)], pending, run))
    assert started(result) == {"o": {"n2": (0, 1, 2, 3)}}
    assert waits(result) == {"j": WaitReason.PREEMPTING}


def test_victims_of_a_cancelled_job_keep_their_gpus_until_they_exit() -> None:
    run = [running("v", Tier.SPOT, {"n1": range(8)}, preempting_for="cancelled")]
    result = schedule(snapshot([node("n1")], [job("o", Tier.INTERNAL, gpus=8)], run))
    assert result.starts == ()
    assert result.preemptions == ()
    assert waits(result) == {"o": WaitReason.CAPACITY}


def test_cap_room_promised_to_a_waiting_job_is_not_given_away() -> None:
    run = [running("v", Tier.SPOT, {"n1": range(8)}, preempting_for="r")]
    pending = [job("r", Tier.RESERVED, gpus=8, order=0), job("o", Tier.ON_DEMAND, gpus=4, order=1)]
    contracts = {("globex", "h100"): 8}
    result = schedule(
        snapshot([node("n1"), node("n2")], pending, run, cap={"h100": 0.5}, contracts=contracts)
    )
    assert result.starts == ()
    assert waits(result) == {"r": WaitReason.PREEMPTING, "o": WaitReason.SELLABLE_CAP}


def test_exits_already_under_way_are_waited_for_not_added_to() -> None:
    # The cap is full now, but a victim exiting for a cancelled job will free enough room.
    run = [
        running("v", Tier.SPOT, {"n1": range(8)}, preempting_for="cancelled"),
        running("s", Tier.SPOT, {"n2": range(4)}),
    ]
    pending = [job("r", Tier.RESERVED, gpus=4)]
    contracts = {("globex", "h100"): 4}
    result = schedule(
        snapshot([node("n1"), node("n2")], pending, run, cap={"h100": 0.75}, contracts=contracts)
    )
    assert result.preemptions == ()
    assert result.waits == (
        Wait(
            "r",
            WaitReason.SELLABLE_CAP,
            "sellable cap: external work holds 12/12 h100 (75% of 16), needs 4 more",
        ),
    )


def test_promised_job_whose_victims_gpus_became_unusable_preempts_again() -> None:
    nodes = [node("n1", schedulable=False), node("n2")]
    run = [
        running("v", Tier.SPOT, {"n1": range(8)}, preempting_for="j"),
        running("s", Tier.SPOT, {"n2": range(8)}),
    ]
    result = schedule(snapshot(nodes, [job("j", Tier.INTERNAL, gpus=8)], run))
    assert victims(result) == {"s": "j"}
    assert wait_of(result, "j").message == (
        "preempting: waiting for 2 spot jobs to release 16 h100 (preempted)"
    )
