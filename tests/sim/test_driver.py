"""The adapter that gives today's one-pass scheduler the incremental interface."""

from __future__ import annotations

from neocloud.domain.jobs import Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.model import NodeState, PendingJob, SchedulerInput, WaitReason
from neocloud.sim.driver import SnapshotScheduler


def pending(job_id: str, tier: Tier, gpus: int, order: int) -> PendingJob:
    kind = OrgKind.INTERNAL if tier is Tier.INTERNAL else OrgKind.EXTERNAL
    org = "acme" if tier is Tier.INTERNAL else "globex"
    return PendingJob(job_id, org, kind, tier, Resources("h100", gpus), order=order)


def scheduler() -> SnapshotScheduler:
    nodes = (NodeState("n1", "h100", 8),)
    return SnapshotScheduler(SchedulerInput(nodes, (), (), quotas={("acme", "h100"): 8}))


def test_a_start_takes_effect_at_once() -> None:
    s = scheduler()
    s.submit(pending("a", Tier.INTERNAL, 8, 1))
    result = s.step(10.0)
    assert [start.job_id for start in result.starts] == ["a"]
    (running,) = s.running()
    assert (running.id, running.started_at, running.gpus) == ("a", 10.0, 8)
    assert s.pending() == ()
    s.submit(pending("b", Tier.INTERNAL, 1, 2))
    assert s.step(11.0).waits[0].reason is WaitReason.QUOTA
    s.release("a", 20.0)
    assert [start.job_id for start in s.step(20.0).starts] == ["b"]


def test_a_preempted_victim_keeps_its_gpus_until_released() -> None:
    s = scheduler()
    s.submit(pending("spot", Tier.SPOT, 8, 1))
    s.step(0.0)
    s.submit(pending("i", Tier.INTERNAL, 8, 2))
    result = s.step(5.0)
    assert [(p.job_id, p.by_job_id) for p in result.preemptions] == [("spot", "i")]
    (victim,) = s.running()
    assert victim.preempting_for == "i"
    # Still exiting: nobody new is preempted, the job keeps waiting.
    again = s.step(6.0)
    assert again.preemptions == () and again.waits[0].reason is WaitReason.PREEMPTING
    s.release("spot", 35.0)
    assert [start.job_id for start in s.step(35.0).starts] == ["i"]


def test_withdraw_and_closing_a_node() -> None:
    s = scheduler()
    s.submit(pending("a", Tier.INTERNAL, 1, 1))
    s.withdraw("a")
    assert s.pending() == ()
    s.set_schedulable("n1", False)
    s.submit(pending("b", Tier.INTERNAL, 1, 2))
    assert s.step(0.0).starts == ()
    assert not s.nodes()[0].schedulable
    s.set_schedulable("n1", True)
    assert [start.job_id for start in s.step(1.0).starts] == ["b"]
