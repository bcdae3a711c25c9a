"""Build the scheduler's input from the store: the only bridge from rows to the pure core."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.jobs import JobState, PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.model import GpuSlot, NodeState, PendingJob, RunningJob, SchedulerInput
from neocloud.store.models import AllocationRow, JobRow, NodeRow, OrgRow, QuotaRow, SellableCapRow

ACTIVE = (JobState.SCHEDULED.value, JobState.RUNNING.value)


def _micros(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def build_snapshot(s: Session, usable_engines: Iterable[str]) -> SchedulerInput:
    """Nodes that can take work, jobs holding GPUs, jobs waiting, quotas and caps."""
    engines = set(usable_engines)
    # The scheduler knows orgs by name (unique, stable), so its sentences read "org acme holds …".
    orgs = {o.id: (o.name, OrgKind(o.kind)) for o in s.scalars(select(OrgRow)).all()}
    nodes = tuple(
        NodeState(
            name=n.name,
            gpu_type=n.gpu_type,
            gpus=n.gpus,
            domain=n.domain,
            schedulable=n.schedulable and not n.retired and n.engine in engines,
        )
        for n in s.scalars(select(NodeRow).order_by(NodeRow.name)).all()
    )
    # Row locks (PostgreSQL) keep a concurrent cancel from interleaving with this pass's
    # decisions; SQLite serialises writers with BEGIN IMMEDIATE instead.
    active = s.scalars(
        select(JobRow).where(JobRow.state.in_(ACTIVE)).order_by(JobRow.seq).with_for_update()
    ).all()
    allocs: dict[str, list[AllocationRow]] = {}
    if active:
        for a in s.scalars(
            select(AllocationRow).where(
                AllocationRow.job_id.in_([j.id for j in active]), AllocationRow.ended_at.is_(None)
            )
        ).all():
            allocs.setdefault(a.job_id, []).append(a)
    running = []
    for j in active:
        held = sorted(allocs.get(j.id, []), key=lambda a: a.node)
        if not held:
            continue
        first_start = min((a.started_at for a in held if a.started_at), default=j.created_at)
        running.append(
            RunningJob(
                id=j.id,
                org=orgs[j.org_id][0],
                org_kind=orgs[j.org_id][1],
                tier=Tier(j.tier),
                gpu_type=j.gpu_type,
                placement=tuple(GpuSlot(a.node, tuple(a.gpu_indices)) for a in held),
                started_order=_micros(first_start),
                priority_class=PriorityClass(j.priority_class) if j.priority_class else None,
                preempting_for=j.preempting_for,
                grace_seconds=j.grace_seconds,
            )
        )
    pending = tuple(
        PendingJob(
            id=j.id,
            org=orgs[j.org_id][0],
            org_kind=orgs[j.org_id][1],
            tier=Tier(j.tier),
            resources=Resources(j.gpu_type, j.gpus_per_node, j.nodes),
            order=j.seq,
            priority_class=PriorityClass(j.priority_class) if j.priority_class else None,
            grace_seconds=j.grace_seconds,
        )
        for j in s.scalars(
            select(JobRow)
            .where(JobRow.state == JobState.PENDING.value)
            .order_by(JobRow.seq)
            .with_for_update()
        ).all()
    )
    quotas = {(orgs[q.org_id][0], q.gpu_type): q.gpus for q in s.scalars(select(QuotaRow)).all()}
    caps = {c.gpu_type: float(c.fraction) for c in s.scalars(select(SellableCapRow)).all()}
    return SchedulerInput(
        nodes=nodes, running=tuple(running), pending=pending, quotas=quotas, sellable_cap=caps
    )
