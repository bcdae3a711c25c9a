"""EASY backfill (DESIGN.md §4): a job may start ahead of a blocked higher-priority job only if,
by max runtimes, it cannot delay that job's planned start.

Per GPU type, the first job of a pass that waits for GPUs gets the reservation: a planned start
(when, by running jobs' started_at + max runtime, enough GPUs will be free) on planned nodes. A
later job may start in GPUs the reserved job will not need, or anywhere if it ends before the
planned start; otherwise it waits `planned_start`.
"""

from __future__ import annotations

import math

import pytest

from neocloud.domain.jobs import Tier
from neocloud.scheduler import PendingJob, WaitReason, schedule
from neocloud.scheduler.placement.timeline import Plan, Timeline
from tests.core.test_scheduler_support import job, node, running, snapshot, started, wait_of, waits

INTERNAL = Tier.INTERNAL
HOUR = 3600

# n1: r holds 4 GPUs for one more hour, 4 free. n2: x holds 6 for two hours, 2 free.
# "big" (8 GPUs on one node) can start on n1 in one hour: it holds the reservation there.
FLEET = [node("n1"), node("n2")]
RUNNING = [
    running("r", INTERNAL, {"n1": range(4)}, runtime=HOUR),
    running("x", INTERNAL, {"n2": range(6)}, runtime=2 * HOUR),
]
BIG = job("big", INTERNAL, gpus=8, order=0)


def test_the_first_job_waiting_for_gpus_gets_a_planned_start() -> None:
    result = schedule(snapshot(FLEET, [BIG], RUNNING))
    assert wait_of(result, "big").reason is WaitReason.PLANNED_START
    assert wait_of(result, "big").message == (
        "capacity: needs 8 h100 on one node, largest free block is 4 GPUs on one node; "
        "planned to start in 1 h when job r ends"
    )


@pytest.mark.parametrize(
    ("later", "starts_on"),
    [
        pytest.param(
            job("short", gpus=4, order=1, runtime=HOUR // 2),
            {"n1": (4, 5, 6, 7)},
            id="ends-before-the-planned-start-may-use-the-reserved-gpus",
        ),
        pytest.param(
            job("exact", gpus=4, order=1, runtime=HOUR),
            {"n1": (4, 5, 6, 7)},
            id="ending-exactly-at-the-planned-start-is-in-time",
        ),
        pytest.param(
            job("elsewhere", gpus=2, order=1, runtime=5 * HOUR),
            {"n2": (6, 7)},
            id="a-long-job-may-use-gpus-the-reserved-job-does-not-need",
        ),
        pytest.param(
            job("higher", INTERNAL, gpus=4, order=-1, runtime=5 * HOUR),
            {"n1": (4, 5, 6, 7)},
            id="a-job-ahead-of-the-reserved-one-is-not-held-back",
        ),
    ],
)
def test_backfill_starts(later: PendingJob, starts_on: dict[str, tuple[int, ...]]) -> None:
    result = schedule(snapshot(FLEET, [BIG, later], RUNNING))
    assert started(result) == {later.id: starts_on}


def test_a_long_job_that_would_delay_the_planned_start_waits() -> None:
    long = job("long", gpus=4, order=1, runtime=5 * HOUR)
    result = schedule(snapshot(FLEET, [BIG, long], RUNNING))
    assert result.starts == ()
    assert waits(result) == {"big": WaitReason.PLANNED_START, "long": WaitReason.PLANNED_START}
    assert wait_of(result, "long").message == (
        "planned start: starting now would delay job big, planned to start in 1 h; this job "
        "may run 5 h, and the GPUs it fits are the ones that job needs"
    )


def test_the_reserved_job_needs_only_part_of_a_node_the_rest_is_usable() -> None:
    # big needs 6: r gives back 4 in an hour, so 2 of the 4 free GPUs are set aside, 2 are not.
    run = [running("r", INTERNAL, {"n1": range(4)}, runtime=HOUR)]
    pending = [
        job("big", INTERNAL, gpus=6, order=0),
        job("two", gpus=2, order=1, runtime=9 * HOUR),
        job("three", gpus=3, order=2, runtime=9 * HOUR),
    ]
    result = schedule(snapshot([node("n1")], pending, run))
    assert started(result) == {"two": {"n1": (4, 5)}}
    assert waits(result)["three"] is WaitReason.CAPACITY


def test_jobs_behind_the_reservation_that_do_not_fit_wait_for_capacity() -> None:
    pending = [BIG, job("wide", gpus=8, order=1)]
    result = schedule(snapshot(FLEET, pending, RUNNING))
    assert wait_of(result, "wide").reason is WaitReason.CAPACITY
    assert wait_of(result, "wide").message == (
        "capacity: needs 8 h100 on one node, largest free block is 2 GPUs on one node"
    )


def test_a_gang_is_planned_in_one_topology_domain() -> None:
    nodes = [
        node("a1", domain="d1"),
        node("a2", domain="d1"),
        node("b1", domain="d2"),
        node("b2", domain="d2"),
    ]
    run = [
        running("p", INTERNAL, {"a1": range(8)}, runtime=600),
        running("q", INTERNAL, {"b1": range(8)}, runtime=1200),
        running("r", INTERNAL, {"a2": range(8)}, runtime=900),
        running("s", INTERNAL, {"b2": range(8)}, runtime=1800),
    ]
    result = schedule(snapshot(nodes, [job("g", INTERNAL, gpus=8, nodes=2)], run))
    assert wait_of(result, "g").message.endswith("planned to start in 15 min when jobs p, r end")


def test_no_planned_start_when_only_exiting_victims_hold_the_gpus() -> None:
    # Their GPUs are promised to the job they exit for; nothing else will free any.
    run = [running("v", Tier.SPOT, {"n1": range(8)}, preempting_for="gone")]
    result = schedule(snapshot([node("n1")], [job("o", INTERNAL, gpus=8)], run))
    assert waits(result) == {"o": WaitReason.CAPACITY}


def test_overdue_jobs_make_the_planned_start_now() -> None:
    run = [running("late", INTERNAL, {"n1": range(8)}, started_at=0.0, runtime=60)]
    result = schedule(snapshot([node("n1")], [job("j", INTERNAL, gpus=8)], run, now=600.0))
    assert "planned to start now when job late ends" in wait_of(result, "j").message


# --- the timeline ---------------------------------------------------------------------------


def timeline(domains: list[int], nodes: list[tuple[int, list[tuple[float, int]]]]) -> Timeline:
    """A timeline of 8-GPU nodes: (GPUs free now, [(end, GPUs) of running jobs])."""
    line = Timeline(len(nodes), 8, domains)
    for i, (free, ends) in enumerate(nodes):
        line.set(i, free, sorted(ends), schedulable=True)
    return line


@pytest.mark.parametrize(
    ("domains", "nodes", "g", "k", "plan"),
    [
        pytest.param(
            [-1, -1],
            [(2, [(100.0, 6)]), (4, [(50.0, 1), (300.0, 2)])],
            6,
            1,
            Plan(100.0, (0,)),
            id="single-node-earliest-node",
        ),
        pytest.param(
            [-1, -1],
            [(8, []), (0, [(50.0, 8)])],
            8,
            1,
            Plan(10.0, (0,)),
            id="fits-now-means-now",
        ),
        pytest.param(
            [0, 0, 1, 1],
            [(0, [(10.0, 8)]), (0, [(20.0, 8)]), (0, [(20.0, 8)]), (0, [(30.0, 8)])],
            8,
            2,
            Plan(20.0, (0, 1)),
            id="gang-in-one-domain-when-that-is-as-early",
        ),
        pytest.param(
            [0, 0, 1, 1],
            [(0, [(10.0, 8)]), (0, [(90.0, 8)]), (0, [(20.0, 8)]), (0, [(95.0, 8)])],
            8,
            2,
            Plan(20.0, (0, 2)),
            id="gang-across-domains-when-that-is-earlier",
        ),
        pytest.param(
            [-1],
            [(2, [(10.0, 2)])],
            8,
            1,
            None,
            id="never-if-running-jobs-never-free-enough",
        ),
    ],
)
def test_planned_start(
    domains: list[int],
    nodes: list[tuple[int, list[tuple[float, int]]]],
    g: int,
    k: int,
    plan: Plan | None,
) -> None:
    assert timeline(domains, nodes).plan(g, k, now=10.0) == plan


def test_unschedulable_nodes_are_never_ready() -> None:
    line = Timeline(1, 8, [-1])
    line.set(0, 8, [], schedulable=False)
    assert line.plan(1, 1, now=0.0) is None
    assert math.isinf(float(line.ready[1, 0]))


def test_running_jobs_are_ordered_by_end_in_the_ready_times() -> None:
    line = timeline([-1], [(1, [(10.0, 3), (20.0, 4)])])
    # 1 free now; 4 at t=10; 8 at t=20.
    assert [float(line.ready[g, 0]) for g in (1, 4, 5, 8)] == [-math.inf, 10.0, 20.0, 20.0]
