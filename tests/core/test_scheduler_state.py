"""The stateful scheduler: what the simulator (and `schedule`) drive, event by event.

`Scheduler(snapshot)`, then `submit`, `withdraw`, `release`, `set_schedulable`, and `step(now)`:
a step's starts take effect at once, its preemptions mark victims exiting (they keep their GPUs
until `release`), and it reports waits whose kind of reason changed (every new job's first one).
"""

from __future__ import annotations

import pytest

from neocloud.domain.jobs import Tier
from neocloud.scheduler import GpuSlot, WaitReason, schedule
from neocloud.scheduler.state import Scheduler
from tests.core.test_scheduler_support import job, node, running, snapshot, started, waits

INTERNAL, SPOT = Tier.INTERNAL, Tier.SPOT


def test_a_first_step_decides_every_pending_job() -> None:
    pending = [job("a", INTERNAL, gpus=8), job("b", INTERNAL, gpus=8, order=1)]
    scheduler = Scheduler(snapshot([node("n1")], pending))
    result = scheduler.step(0.0)
    assert list(started(result)) == ["a"]
    assert waits(result) == {"b": WaitReason.PLANNED_START}


def test_starts_take_effect_at_once() -> None:
    scheduler = Scheduler(snapshot([node("n1")]))
    scheduler.submit(job("a", gpus=2, runtime=600))
    scheduler.step(100.0)
    (run,) = scheduler.running()
    assert (run.id, run.started_at, run.max_runtime_seconds) == ("a", 100.0, 600)
    assert run.placement == (GpuSlot("n1", (0, 1)),)
    assert scheduler.pending() == ()
    assert scheduler.free_gpus() == {"h100": 6}
    scheduler.submit(job("b", gpus=2, order=1))
    scheduler.step(200.0)
    assert [j.started_order for j in scheduler.running()] == [1, 2]


def test_a_victim_keeps_its_gpus_until_released_then_the_job_it_was_preempted_for_starts() -> None:
    scheduler = Scheduler(snapshot([node("n1")], run=[running("s", SPOT, {"n1": range(8)})]))
    scheduler.submit(job("i", INTERNAL, gpus=8))
    result = scheduler.step(0.0)
    assert [p.job_id for p in result.preemptions] == ["s"]
    (victim,) = scheduler.running()
    assert victim.preempting_for == "i"
    # Until it exits, nothing changes and nothing is re-announced.
    assert scheduler.step(10.0).starts == ()
    scheduler.release("s", 20.0)
    assert list(started(scheduler.step(20.0))) == ["i"]


def test_only_changes_are_announced() -> None:
    scheduler = Scheduler(snapshot([node("n1")], run=[running("r", INTERNAL, {"n1": range(8)})]))
    scheduler.submit(job("a", INTERNAL, gpus=8))
    assert waits(scheduler.step(0.0)) == {"a": WaitReason.PLANNED_START}
    assert scheduler.step(1.0).waits == ()
    scheduler.submit(job("b", INTERNAL, gpus=4, order=1))
    # Only the new job is told; a's reason is unchanged.
    assert waits(scheduler.step(2.0)) == {"b": WaitReason.CAPACITY}
    wait = scheduler.wait_of("a")
    assert wait is not None and wait.reason is WaitReason.PLANNED_START


def test_every_pending_job_has_a_current_reason() -> None:
    scheduler = Scheduler(snapshot([node("n1")], [job("a", gpus=9), job("b", INTERNAL, gpus=8)]))
    assert scheduler.wait_of("a") is None  # not decided yet
    scheduler.step(0.0)
    assert [w.reason for w in scheduler.waits()] == [WaitReason.UNSATISFIABLE]
    with pytest.raises(KeyError, match="not pending"):
        scheduler.wait_of("b")  # it runs


def test_withdrawing_the_job_holding_the_reservation_lets_others_use_its_gpus() -> None:
    run = [running("r", INTERNAL, {"n1": range(4)})]
    pending = [job("big", INTERNAL, gpus=8), job("long", gpus=4, order=1, runtime=99_999)]
    scheduler = Scheduler(snapshot([node("n1")], pending, run))
    assert scheduler.step(0.0).starts == ()
    assert scheduler.planned_start("h100") == ("big", 3600.0)
    scheduler.withdraw("big")
    assert list(started(scheduler.step(1.0))) == ["long"]
    assert scheduler.planned_start("h100") is None


def test_closing_a_node_keeps_its_jobs_but_gives_it_no_new_work() -> None:
    pending = [job("a", INTERNAL, gpus=4)]
    scheduler = Scheduler(snapshot([node("n1", 4), node("n2", 4)], pending))
    scheduler.set_schedulable("n1", False)
    assert started(scheduler.step(0.0)) == {"a": {"n2": (0, 1, 2, 3)}}
    scheduler.submit(job("b", INTERNAL, gpus=4, order=1))
    assert waits(scheduler.step(1.0)) == {"b": WaitReason.PLANNED_START}
    scheduler.set_schedulable("n1", True)
    assert started(scheduler.step(2.0)) == {"b": {"n1": (0, 1, 2, 3)}}
    assert [n.schedulable for n in scheduler.nodes()] == [True, True]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda s: s.release("nope", 0.0), KeyError, id="release-unknown"),
        pytest.param(lambda s: s.withdraw("nope"), KeyError, id="withdraw-unknown"),
        pytest.param(lambda s: s.set_schedulable("nope", True), KeyError, id="unknown-node"),
        pytest.param(lambda s: s.submit(job("r")), ValueError, id="submit-a-running-job"),
    ],
)
def test_bad_events_are_refused(call: object, error: type[Exception]) -> None:
    scheduler = Scheduler(snapshot([node("n1")], run=[running("r", INTERNAL, {"n1": (0,)})]))
    with pytest.raises(error):
        call(scheduler)  # type: ignore[operator]


def test_fragmentation_counts_free_gpus_the_largest_waiting_job_cannot_use() -> None:
    run = [
        running("a", INTERNAL, {"n1": range(5)}),
        running("b", INTERNAL, {"n2": range(2)}),
    ]
    scheduler = Scheduler(snapshot([node("n1"), node("n2")], [job("w", INTERNAL, gpus=8)], run))
    result = scheduler.step(0.0)
    # 3 free on n1 and 6 on n2: none usable by a job needing 8 on one node.
    assert result.fragmentation == {"h100": 9, "total": 9}
    assert scheduler.fragmentation() == result.fragmentation


def test_the_snapshot_of_the_state_gives_the_same_decisions() -> None:
    base = snapshot(
        [node("n1"), node("n2")],
        [job("a", INTERNAL, gpus=8), job("b", gpus=4, order=1), job("c", SPOT, gpus=8, order=2)],
    )
    scheduler = Scheduler(base)
    scheduler.step(0.0)
    scheduler.release("a", 50.0)
    scheduler.submit(job("d", INTERNAL, gpus=8, order=3))
    fresh = schedule(scheduler.snapshot(60.0))
    mine = scheduler.step(60.0)
    assert (mine.starts, mine.preemptions) == (fresh.starts, fresh.preemptions)


def test_usage_and_the_clock_only_move_forward() -> None:
    scheduler = Scheduler(snapshot([node("n1")], run=[running("r", INTERNAL, {"n1": range(8)})]))
    scheduler.step(100.0)
    before = scheduler.usage()["acme"]
    scheduler.step(50.0)  # an older time changes nothing
    assert scheduler.usage()["acme"] == before
