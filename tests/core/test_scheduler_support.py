"""Builders shared by the scheduler's table-driven specification (no tests here).

Fleets are written as `node("n1", 8, domain="d1")`, jobs as `job("a", Tier.INTERNAL, gpus=8)`,
and running work as `running("s", Tier.SPOT, {"n1": range(8)})`. Internal jobs belong to org
"acme" and external jobs to org "globex" unless `org=` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from neocloud.domain.jobs import PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler import (
    GpuSlot,
    NodeState,
    PendingJob,
    RunningJob,
    SchedulerInput,
    SchedulingResult,
    Wait,
    WaitReason,
)

INTERNAL_ORG = "acme"
EXTERNAL_ORG = "globex"
# Internal work needs a quota to run at all; unless a test is about quotas, acme has a roomy one.
ROOMY = {(INTERNAL_ORG, "h100"): 1000, (INTERNAL_ORG, "a100"): 1000}


def node(
    name: str,
    gpus: int = 8,
    gpu_type: str = "h100",
    domain: str | None = None,
    schedulable: bool = True,
    hosts_external: bool = True,
    cluster: str = "",
) -> NodeState:
    return NodeState(
        name=name,
        gpu_type=gpu_type,
        gpus=gpus,
        domain=domain,
        schedulable=schedulable,
        hosts_external=hosts_external,
        cluster=cluster,
    )


def org_of(tier: Tier, org: str | None) -> tuple[str, OrgKind]:
    if tier is Tier.INTERNAL:
        return org or INTERNAL_ORG, OrgKind.INTERNAL
    return org or EXTERNAL_ORG, OrgKind.EXTERNAL


def job(
    job_id: str,
    tier: Tier = Tier.ON_DEMAND,
    gpus: int = 1,
    nodes: int = 1,
    gpu_type: str = "h100",
    order: int = 0,
    priority: PriorityClass | None = None,
    org: str | None = None,
    runtime: int = 3600,
) -> PendingJob:
    name, kind = org_of(tier, org)
    return PendingJob(
        id=job_id,
        org=name,
        org_kind=kind,
        tier=tier,
        resources=Resources(gpu_type=gpu_type, gpus_per_node=gpus, nodes=nodes),
        order=order,
        priority_class=priority,
        max_runtime_seconds=runtime,
    )


def running(
    job_id: str,
    tier: Tier,
    on: Mapping[str, Iterable[int]],
    started: int = 0,
    gpu_type: str = "h100",
    preempting_for: str | None = None,
    org: str | None = None,
    grace: int = 30,
    priority: PriorityClass | None = None,
    started_at: float = 0.0,
    runtime: int = 3600,
) -> RunningJob:
    name, kind = org_of(tier, org)
    return RunningJob(
        id=job_id,
        org=name,
        org_kind=kind,
        tier=tier,
        gpu_type=gpu_type,
        placement=tuple(GpuSlot(n, tuple(indices)) for n, indices in on.items()),
        started_order=started,
        priority_class=priority,
        preempting_for=preempting_for,
        grace_seconds=grace,
        started_at=started_at,
        max_runtime_seconds=runtime,
    )


def snapshot(
    nodes: Sequence[NodeState],
    pending: Sequence[PendingJob] = (),
    run: Sequence[RunningJob] = (),
    quotas: Mapping[tuple[str, str], int] | None = None,
    cap: Mapping[str, float] | None = None,
    contracts: Mapping[tuple[str, str], int] | None = None,
    borrow: Mapping[tuple[str, str], int] | None = None,
    weights: Mapping[str, float] | None = None,
    usage: Mapping[str, float] | None = None,
    now: float = 0.0,
    kinds: Mapping[str, OrgKind] | None = None,
) -> SchedulerInput:
    return SchedulerInput(
        nodes=tuple(nodes),
        running=tuple(run),
        pending=tuple(pending),
        quotas=ROOMY if quotas is None else quotas,
        sellable_cap=cap or {},
        now=now,
        contracts=contracts or {},
        borrow_limits=borrow or {},
        weights=weights or {},
        usage=usage or {},
        org_kinds=kinds or {},
    )


def started(result: SchedulingResult) -> dict[str, dict[str, tuple[int, ...]]]:
    """job id → node → GPU indices, for the jobs that start."""
    return {s.job_id: {slot.node: slot.gpu_indices for slot in s.placement} for s in result.starts}


def waits(result: SchedulingResult) -> dict[str, WaitReason]:
    """job id → reason, for the jobs that wait."""
    return {w.job_id: w.reason for w in result.waits}


def wait_of(result: SchedulingResult, job_id: str) -> Wait:
    (found,) = [w for w in result.waits if w.job_id == job_id]
    return found


def victims(result: SchedulingResult) -> dict[str, str]:
    """victim id → id of the job it is preempted for."""
    return {p.job_id: p.by_job_id for p in result.preemptions}


def rules(result: SchedulingResult) -> dict[str, str]:
    """victim id → the rule recorded on its preemption."""
    return {p.job_id: p.rule for p in result.preemptions}
