"""The scheduler's rules (DESIGN.md §4), one table per rule: ordering, quotas, the sellable cap,
placement and gangs, and the sentences of waiting jobs.

Preemption, lending and borrowing, backfill, fair share and the stateful scheduler have their
own files (test_scheduler_preemption.py, test_scheduler_lending.py, test_scheduler_backfill.py,
test_scheduler_fairshare.py, test_scheduler_state.py); the builders are in
test_scheduler_support.py.
"""

from __future__ import annotations

import pytest

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.scheduler import (
    GpuSlot,
    NodeState,
    PendingJob,
    RunningJob,
    Start,
    Wait,
    WaitReason,
    schedule,
)
from neocloud.scheduler.admission.ordering import admission_key, admission_order
from tests.core.test_scheduler_support import (
    job,
    node,
    running,
    snapshot,
    started,
    wait_of,
    waits,
)

# Reserved work needs an active contract; globex has one big enough for any test here.
CONTRACT = {("globex", "h100"): 64}


# --- ordering -------------------------------------------------------------------------------

ONE_GPU = [node("n1", 1)]


@pytest.mark.parametrize(
    ("pending", "winner"),
    [
        pytest.param(
            [
                job("spot", Tier.SPOT, order=0),
                job("od", Tier.ON_DEMAND, order=1),
                job("res", Tier.RESERVED, order=2),
                job("int", Tier.INTERNAL, order=3),
            ],
            "int",
            id="internal-beats-every-external-tier",
        ),
        pytest.param(
            [job("spot", Tier.SPOT, order=0), job("od", Tier.ON_DEMAND, order=1)],
            "od",
            id="on-demand-beats-spot",
        ),
        pytest.param(
            [job("od", Tier.ON_DEMAND, order=0), job("res", Tier.RESERVED, order=1)],
            "res",
            id="reserved-beats-on-demand",
        ),
        pytest.param(
            [
                job("batch", Tier.INTERNAL, order=0, priority=PriorityClass.BATCH),
                job("research", Tier.INTERNAL, order=1, priority=PriorityClass.RESEARCH),
                job("prod", Tier.INTERNAL, order=2, priority=PriorityClass.PRODUCTION),
            ],
            "prod",
            id="production-beats-research-and-batch",
        ),
        pytest.param(
            [
                job("batch", Tier.INTERNAL, order=0, priority=PriorityClass.BATCH),
                job("unset", Tier.INTERNAL, order=1, priority=None),
            ],
            "unset",
            id="no-priority-class-ranks-as-research-above-batch",
        ),
        pytest.param(
            [
                job("unset", Tier.INTERNAL, order=1, priority=None),
                job("research", Tier.INTERNAL, order=0, priority=PriorityClass.RESEARCH),
            ],
            "research",
            id="no-priority-class-ties-with-research-by-submission",
        ),
        pytest.param(
            [job("late", Tier.ON_DEMAND, order=7), job("early", Tier.ON_DEMAND, order=3)],
            "early",
            id="same-tier-by-submission-order",
        ),
    ],
)
def test_the_highest_job_in_admission_order_gets_the_only_gpu(
    pending: list[PendingJob], winner: str
) -> None:
    # A reserved job needs a contract; one GPU under contract fits the one-GPU fleet's cap.
    contracts = {("globex", "h100"): 1} if any(j.tier is Tier.RESERVED for j in pending) else {}
    result = schedule(snapshot(ONE_GPU, pending, contracts=contracts))
    assert list(started(result)) == [winner]
    assert set(waits(result)) == {j.id for j in pending} - {winner}


def test_priority_classes_do_not_rank_external_work() -> None:
    # The API refuses a priority class outside tier internal; the scheduler ignores one anyway.
    early = job("early", Tier.ON_DEMAND, order=0, priority=PriorityClass.BATCH)
    late = job("late", Tier.ON_DEMAND, order=1, priority=PriorityClass.PRODUCTION)
    assert admission_key(early) < admission_key(late)


def test_fair_share_ranks_orgs_inside_a_tier_before_priority_class() -> None:
    # Org rank first (lower share first), then class, then submission order.
    beta_prod = job("b", Tier.INTERNAL, org="beta", priority=PriorityClass.PRODUCTION)
    acme_batch = job("a", Tier.INTERNAL, priority=PriorityClass.BATCH, order=9)
    ranks = {"acme": 0, "beta": 1}
    assert admission_key(acme_batch, ranks) < admission_key(beta_prod, ranks)


def test_jobs_a_preemption_is_for_are_considered_first() -> None:
    internal = job("int", Tier.INTERNAL, order=5)
    promised = job("od", Tier.ON_DEMAND, order=9)
    order = admission_order([internal, promised], {"od"})
    assert [j.id for j in order] == ["od", "int"]


# --- quotas ---------------------------------------------------------------------------------

QUOTA_FLEET = [node("n1"), node("n2"), node("n3"), node("a1", gpu_type="a100")]


@pytest.mark.parametrize(
    ("pending", "run", "quotas", "reason", "message"),
    [
        pytest.param(
            job("j", Tier.INTERNAL, gpus=8),
            [],
            {},
            WaitReason.QUOTA,
            "quota: org acme has no h100 quota, needs 8",
            id="internal-org-without-quota-entry-may-not-run",
        ),
        pytest.param(
            job("j", Tier.INTERNAL, gpus=8),
            [running("r", Tier.INTERNAL, {"n1": range(8), "n2": range(8)})],
            {("acme", "h100"): 16},
            WaitReason.QUOTA,
            "quota: org acme holds 16/16 h100, needs 8 more",
            id="internal-org-at-its-quota",
        ),
        pytest.param(
            job("j", Tier.INTERNAL, gpus=4),
            [running("r", Tier.INTERNAL, {"n1": range(8)})],
            {("acme", "h100"): 10},
            WaitReason.QUOTA,
            "quota: org acme holds 8/10 h100, needs 4 more",
            id="request-that-would-exceed-the-quota",
        ),
        pytest.param(
            job("j", Tier.INTERNAL, gpus=8),
            [],
            {("acme", "a100"): 64},
            WaitReason.QUOTA,
            "quota: org acme has no h100 quota, needs 8",
            id="quota-of-another-gpu-type-grants-nothing",
        ),
        pytest.param(
            job("j", Tier.ON_DEMAND, gpus=4),
            [running("s", Tier.SPOT, {"n1": range(6)}, preempting_for="gone")],
            {("globex", "h100"): 8},
            WaitReason.QUOTA,
            "quota: org globex holds 6/8 h100, needs 4 more",
            id="external-quota-counts-jobs-being-preempted",
        ),
    ],
)
def test_quota_keeps_a_job_waiting(
    pending: PendingJob,
    run: list[RunningJob],
    quotas: dict[tuple[str, str], int],
    reason: WaitReason,
    message: str,
) -> None:
    result = schedule(snapshot(QUOTA_FLEET, [pending], run, quotas=quotas))
    assert result.starts == ()
    assert result.waits == (Wait(pending.id, reason, message),)


@pytest.mark.parametrize(
    ("pending", "run", "quotas"),
    [
        pytest.param(
            job("j", Tier.INTERNAL, gpus=8),
            [running("r", Tier.INTERNAL, {"n1": range(8)})],
            {("acme", "h100"): 16},
            id="internal-org-exactly-reaching-its-quota",
        ),
        pytest.param(
            job("j", Tier.INTERNAL, gpus=8),
            [running("r", Tier.INTERNAL, {"n1": range(8)}, org="other")],
            {("acme", "h100"): 8, ("other", "h100"): 8},
            id="another-orgs-holdings-do-not-count",
        ),
        pytest.param(
            job("j", Tier.ON_DEMAND, gpus=8, nodes=2),
            [running("r", Tier.ON_DEMAND, {"n1": range(8)})],
            {},
            id="external-org-without-quota-entry-is-unbounded",
        ),
    ],
)
def test_quota_lets_a_job_start(
    pending: PendingJob, run: list[RunningJob], quotas: dict[tuple[str, str], int]
) -> None:
    result = schedule(snapshot(QUOTA_FLEET, [pending], run, quotas=quotas))
    assert list(started(result)) == [pending.id]


# --- sellable cap ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "run", "cap", "gpus", "starts"),
    [
        pytest.param([node("n1", 16)], [], {"h100": 0.3}, 4, True, id="floor-of-0.3x16-is-4"),
        pytest.param([node("n1", 16)], [], {"h100": 0.3}, 5, False, id="5-exceeds-floor-4"),
        pytest.param([node("n1", 100)], [], {"h100": 0.29}, 29, True, id="0.29x100-is-29-exact"),
        pytest.param([node("n1", 8)], [], {}, 8, True, id="missing-cap-means-all-sellable"),
        pytest.param([node("n1", 8)], [], {"h100": 0.0}, 1, False, id="zero-cap-sells-nothing"),
        pytest.param(
            [node("n1", 8)],
            [],
            {"a100": 0.0},
            8,
            True,
            id="cap-of-another-type-does-not-apply",
        ),
        pytest.param(
            [node("n1", 8), node("n2", 8)],
            [
                running("res", Tier.RESERVED, {"n1": range(2)}),
                running("spot", Tier.SPOT, {"n1": range(2, 4)}),
                running("od", Tier.ON_DEMAND, {"n1": range(4, 6)}),
            ],
            {"h100": 0.5},
            3,
            False,
            id="reserved-on-demand-and-spot-all-count",
        ),
        pytest.param(
            [node("n1", 8), node("n2", 8)],
            [running("int", Tier.INTERNAL, {"n1": range(8)})],
            {"h100": 0.5},
            8,
            True,
            id="internal-work-does-not-count",
        ),
        pytest.param(
            [node("n1", 8), node("n2", 8), node("n3", 8, schedulable=False)],
            [],
            {"h100": 0.25},
            4,
            True,
            id="total-counts-schedulable-nodes-only-4",
        ),
        pytest.param(
            [node("n1", 8), node("n2", 8), node("n3", 8, schedulable=False)],
            [],
            {"h100": 0.25},
            5,
            False,
            id="total-counts-schedulable-nodes-only-5",
        ),
    ],
)
def test_sellable_cap_bounds_all_external_work(
    nodes: list[NodeState], run: list[RunningJob], cap: dict[str, float], gpus: int, starts: bool
) -> None:
    # A spot job cannot preempt, so the cap alone decides (higher tiers may reclaim cap room).
    pending = job("j", Tier.SPOT, gpus=gpus)
    result = schedule(snapshot(nodes, [pending], run, cap=cap))
    if starts:
        assert list(started(result)) == ["j"]
    else:
        assert waits(result) == {"j": WaitReason.SELLABLE_CAP}


def test_sellable_cap_sentence() -> None:
    run = [running("r", Tier.RESERVED, {"n1": range(4)})]
    result = schedule(snapshot([node("n1")], [job("j")], run, cap={"h100": 0.5}))
    assert wait_of(result, "j").message == (
        "sellable cap: external work holds 4/4 h100 (50% of 8), needs 1 more"
    )


def test_sellable_cap_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="sellable_cap"):
        schedule(snapshot([node("n1")], [job("j")], cap={"h100": 1.5}))


# --- placement ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "run", "pending", "expected"),
    [
        pytest.param(
            [node("n1"), node("n2")],
            [running("r", Tier.INTERNAL, {"n2": range(6)})],
            job("j", gpus=2),
            {"n2": (6, 7)},
            id="best-fit-keeps-the-empty-node-whole",
        ),
        pytest.param(
            [node("n2"), node("n1")],
            [],
            job("j", gpus=2),
            {"n1": (0, 1)},
            id="ties-broken-by-node-name",
        ),
        pytest.param(
            [node("n1")],
            [running("r", Tier.INTERNAL, {"n1": (0, 2)})],
            job("j", gpus=3),
            {"n1": (1, 3, 4)},
            id="lowest-free-indices-first",
        ),
        pytest.param(
            [node("n1", 2), node("n2", schedulable=False)],
            [],
            job("j", gpus=2),
            {"n1": (0, 1)},
            id="unschedulable-nodes-are-never-used",
        ),
        pytest.param(
            [node("a1", 2, gpu_type="a100"), node("n1")],
            [],
            job("j", gpus=2),
            {"n1": (0, 1)},
            id="only-nodes-of-the-requested-type",
        ),
        pytest.param(
            [node("n1"), node("n2")],
            [],
            job("j", gpus=4, nodes=2),
            {"n1": (0, 1, 2, 3), "n2": (0, 1, 2, 3)},
            id="gang-takes-distinct-nodes",
        ),
        pytest.param(
            [node("n1", domain="d1"), node("n2", domain="d2"), node("n3", domain="d2")],
            [],
            job("j", gpus=8, nodes=2),
            {"n2": tuple(range(8)), "n3": tuple(range(8))},
            id="gang-prefers-one-topology-domain",
        ),
        pytest.param(
            [node("n1", domain="d1"), node("n2", domain="d2"), node("n3", domain="d3")],
            [],
            job("j", gpus=8, nodes=2),
            {"n1": tuple(range(8)), "n2": tuple(range(8))},
            id="gang-spans-domains-when-none-holds-it",
        ),
        pytest.param(
            [
                node("n1", domain="big"),
                node("n2", domain="big"),
                node("n3", domain="big"),
                node("n4", domain="small"),
                node("n5", domain="small"),
            ],
            [],
            job("j", gpus=8, nodes=2),
            {"n4": tuple(range(8)), "n5": tuple(range(8))},
            id="gang-takes-the-fullest-domain-that-fits",
        ),
    ],
)
def test_placement(
    nodes: list[NodeState],
    run: list[RunningJob],
    pending: PendingJob,
    expected: dict[str, tuple[int, ...]],
) -> None:
    assert started(schedule(snapshot(nodes, [pending], run))) == {pending.id: expected}


def test_gang_is_all_or_nothing() -> None:
    nodes = [node("n1"), node("n2")]
    run = [running("r", Tier.INTERNAL, {"n2": range(1)})]
    result = schedule(snapshot(nodes, [job("j", gpus=8, nodes=2)], run))
    assert result.starts == ()
    # The first job that waits for GPUs holds the backfill reservation: it has a planned start.
    assert waits(result) == {"j": WaitReason.PLANNED_START}


def test_gpus_placed_in_a_pass_are_taken_for_later_jobs() -> None:
    pending = [
        job("a", Tier.INTERNAL, gpus=6, order=0),
        job("b", Tier.INTERNAL, gpus=2, order=1),
        job("c", Tier.INTERNAL, gpus=1, order=2),
    ]
    result = schedule(snapshot([node("n1")], pending))
    assert started(result) == {"a": {"n1": (0, 1, 2, 3, 4, 5)}, "b": {"n1": (6, 7)}}
    assert waits(result) == {"c": WaitReason.PLANNED_START}


def test_a_smaller_lower_job_may_not_take_gpus_the_blocked_big_one_needs() -> None:
    # Backfill: the big job's planned start is when r ends; a small job that would run past it
    # on the GPUs the big job needs waits (see test_scheduler_backfill.py for the full rule).
    run = [running("r", Tier.INTERNAL, {"n1": range(4)}, runtime=600)]
    pending = [
        job("big", Tier.INTERNAL, gpus=8, order=0),
        job("small", gpus=4, order=1, runtime=7200),
    ]
    result = schedule(snapshot([node("n1")], pending, run))
    assert result.starts == ()
    assert waits(result) == {"big": WaitReason.PLANNED_START, "small": WaitReason.PLANNED_START}


# --- explanations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "run", "pending", "message"),
    [
        pytest.param(
            [node("n1"), node("n2")],
            [
                running("a", Tier.INTERNAL, {"n1": range(2)}),
                running("b", Tier.INTERNAL, {"n2": range(4)}),
            ],
            job("j", gpus=8),
            "capacity: needs 8 h100 on one node, largest free block is 6 GPUs on one node; "
            "planned to start in 1 h when job a ends",
            id="single-node",
        ),
        pytest.param(
            [node("n1"), node("n2")],
            [
                running("a", Tier.INTERNAL, {"n1": range(2)}),
                running("b", Tier.INTERNAL, {"n2": range(4)}),
            ],
            job("j", gpus=8, nodes=2),
            "capacity: needs 2 nodes × 8 h100, largest free block is 6 GPUs on one node; "
            "planned to start in 1 h when jobs a, b end",
            id="gang",
        ),
        pytest.param(
            [node("n1"), node("n2")],
            [running("a", Tier.INTERNAL, {"n1": range(2)})],
            job("j", gpus=8, nodes=2),
            "capacity: needs 2 nodes × 8 h100, largest free block is 8 GPUs on one node; "
            "only 1 node with 8 free; planned to start in 1 h when job a ends",
            id="gang-with-too-few-whole-nodes",
        ),
        pytest.param(
            [node("n1")],
            [],
            job("j", gpus=4, gpu_type="b200"),
            "unsatisfiable: no schedulable node has b200 GPUs",
            id="gpu-type-absent",
        ),
        pytest.param(
            [node("n1", schedulable=False)],
            [],
            job("j", gpus=4),
            "unsatisfiable: no schedulable node has h100 GPUs",
            id="only-unschedulable-nodes-of-the-type",
        ),
        pytest.param(
            [node("n1"), node("n2", 4)],
            [],
            job("j", gpus=16),
            "unsatisfiable: needs 16 h100 on one node, the largest h100 node has 8",
            id="more-gpus-per-node-than-any-node",
        ),
        pytest.param(
            [node("n1"), node("n2", 4)],
            [],
            job("j", gpus=8, nodes=2),
            "unsatisfiable: needs 2 nodes with 8 h100 each, the fleet has 1 such schedulable node",
            id="fewer-big-enough-nodes-than-the-gang",
        ),
    ],
)
def test_wait_sentences(
    nodes: list[NodeState], run: list[RunningJob], pending: PendingJob, message: str
) -> None:
    result = schedule(snapshot(nodes, [pending], run))
    assert [w.message for w in result.waits] == [message]


def test_every_pending_job_that_does_not_start_gets_exactly_one_wait() -> None:
    nodes = [node("n1"), node("n2")]
    run = [running("s", Tier.SPOT, {"n2": range(8)})]
    pending = [
        job("prod", Tier.INTERNAL, gpus=8, priority=PriorityClass.PRODUCTION),
        job("preempts", Tier.INTERNAL, gpus=8, order=1),
        job("planned", Tier.ON_DEMAND, gpus=1, order=2),
        job("quota", Tier.INTERNAL, gpus=1, org="noquota", order=3),
        job("never", Tier.SPOT, gpus=9, order=4),
    ]
    result = schedule(snapshot(nodes, pending, run))
    assert list(started(result)) == ["prod"]
    assert waits(result) == {
        "preempts": WaitReason.PREEMPTING,
        "planned": WaitReason.PLANNED_START,
        "quota": WaitReason.QUOTA,
        "never": WaitReason.UNSATISFIABLE,
    }
    assert len(result.waits) == 4


def test_same_input_same_output() -> None:
    nodes = [node("n1", domain="d1"), node("n2", domain="d1"), node("n3", 4)]
    run = [running("s", Tier.SPOT, {"n1": range(3)}), running("t", Tier.SPOT, {"n3": (1,)})]
    pending = [
        job(f"j{i}", Tier.ON_DEMAND if i % 2 else Tier.INTERNAL, gpus=i % 5 + 1, order=i)
        for i in range(8)
    ]
    first = schedule(snapshot(nodes, pending, run))
    assert schedule(snapshot(nodes[::-1], pending[::-1], run[::-1])) == first


def test_starts_are_well_formed() -> None:
    result = schedule(snapshot([node("n1")], [job("j", gpus=2)]))
    assert result.starts == (Start("j", (GpuSlot("n1", (0, 1)),)),)
