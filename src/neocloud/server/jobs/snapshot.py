"""Build the scheduler's input from the store: the only bridge from rows to the pure core."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.jobs import JobState, PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.engines.options import read_fleet
from neocloud.scheduler.admission.fairshare import decayed_gpu_seconds
from neocloud.scheduler.model import GpuSlot, NodeState, PendingJob, RunningJob, SchedulerInput
from neocloud.server.fleet import contracts
from neocloud.store.models import (
    AllocationRow,
    FleetFileRow,
    JobRow,
    NodeRow,
    OrgRow,
    QuotaRow,
    SellableCapRow,
    UsageRecordRow,
)

ACTIVE = (JobState.SCHEDULED.value, JobState.RUNNING.value)


def _micros(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def _seconds(t: datetime) -> float:
    return t.timestamp()


@lru_cache(maxsize=8)
def _hosting(fleet_text: str) -> Mapping[str, bool]:
    """Cluster → whether it may host external work, from a fleet file (cached: parsed once)."""
    fleet = read_fleet(fleet_text).fleet
    return {c.name: c.hosts_external for c in fleet.clusters} if fleet else {}


def clusters_hosting_external(s: Session) -> Mapping[str, bool]:
    """Whether each cluster of the fleet as last loaded may host external orgs' work."""
    text = s.scalars(select(FleetFileRow.yaml).order_by(FleetFileRow.id.desc()).limit(1)).first()
    return _hosting(text) if text is not None else {}


def decayed_usage(
    s: Session, orgs: dict[str, tuple[str, OrgKind]], now: datetime, half_life_seconds: float
) -> dict[str, float]:
    """Decayed GPU-seconds per org name, computed exactly as the simulator's scheduler does.

    Every GPU-second counts, halved for each half-life since it was used (Slurm-style). Usage that
    ended more than ten half-lives ago (< 0.1 % of its weight) is left out so the query stays
    bounded.
    """
    t_now = _seconds(now)
    horizon = now - timedelta(seconds=10 * half_life_seconds)
    out: dict[str, float] = {}
    for org_id, gpus, started, ended in s.execute(
        select(
            UsageRecordRow.org_id,
            UsageRecordRow.gpus,
            UsageRecordRow.started_at,
            UsageRecordRow.ended_at,
        ).where(UsageRecordRow.ended_at > horizon)
    ).all():
        name = orgs[org_id][0]
        end = min(_seconds(ended), t_now)
        used = decayed_gpu_seconds(gpus, min(_seconds(started), end), end, t_now, half_life_seconds)
        out[name] = out.get(name, 0.0) + used
    for org_id, indices, began in s.execute(
        select(JobRow.org_id, AllocationRow.gpu_indices, AllocationRow.started_at)
        .join(JobRow, JobRow.id == AllocationRow.job_id)
        .where(AllocationRow.ended_at.is_(None), AllocationRow.started_at.is_not(None))
    ).all():
        if began is None:
            continue
        name = orgs[org_id][0]
        begin = min(_seconds(began), t_now)
        used = decayed_gpu_seconds(len(indices), begin, t_now, t_now, half_life_seconds)
        out[name] = out.get(name, 0.0) + used
    return out


Orgs = dict[str, tuple[str, OrgKind]]


def build_snapshot(
    s: Session,
    schedulable: Callable[[NodeRow], bool],
    now: datetime,
    half_life_seconds: float = 7 * 86_400,
) -> SchedulerInput:
    """Nodes that can take work, jobs holding GPUs, jobs waiting, limits and fair-share usage.

    `schedulable` says whether a node's engine can take new work there now (the engine answers
    and lists the node up); the node's own flags are checked here.
    """
    # The scheduler knows orgs by name (unique, stable), so its sentences read "org acme holds …".
    org_rows = s.scalars(select(OrgRow)).all()
    orgs = {o.id: (o.name, OrgKind(o.kind)) for o in org_rows}
    quota_rows = s.scalars(select(QuotaRow)).all()
    return SchedulerInput(
        nodes=_nodes(s, schedulable),
        running=_running(s, orgs),
        pending=_pending(s, orgs),
        quotas={(orgs[q.org_id][0], q.gpu_type): q.gpus for q in quota_rows},
        sellable_cap={c.gpu_type: float(c.fraction) for c in s.scalars(select(SellableCapRow))},
        now=_seconds(now),
        contracts=_contracted(s, orgs, now),
        borrow_limits={
            (orgs[q.org_id][0], q.gpu_type): q.borrow_limit for q in quota_rows if q.borrow_limit
        },
        weights={o.name: float(o.fair_share_weight) for o in org_rows},
        usage=decayed_usage(s, orgs, now, half_life_seconds),
        org_kinds={name: kind for name, kind in orgs.values()},
        fair_share_half_life_seconds=half_life_seconds,
    )


def _nodes(s: Session, schedulable: Callable[[NodeRow], bool]) -> tuple[NodeState, ...]:
    hosting = clusters_hosting_external(s)
    return tuple(
        NodeState(
            name=n.name,
            gpu_type=n.gpu_type,
            gpus=n.gpus,
            domain=n.domain,
            schedulable=n.schedulable and not n.retired and schedulable(n),
            hosts_external=hosting.get(n.cluster, True),
            cluster=n.cluster,
        )
        for n in s.scalars(select(NodeRow).order_by(NodeRow.name)).all()
    )


def _running(s: Session, orgs: Orgs) -> tuple[RunningJob, ...]:
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
                started_at=_seconds(first_start),
                max_runtime_seconds=j.max_runtime_seconds,
            )
        )
    return tuple(running)


def _pending(s: Session, orgs: Orgs) -> tuple[PendingJob, ...]:
    return tuple(
        PendingJob(
            id=j.id,
            org=orgs[j.org_id][0],
            org_kind=orgs[j.org_id][1],
            tier=Tier(j.tier),
            resources=Resources(j.gpu_type, j.gpus_per_node, j.nodes),
            order=j.seq,
            priority_class=PriorityClass(j.priority_class) if j.priority_class else None,
            grace_seconds=j.grace_seconds,
            max_runtime_seconds=j.max_runtime_seconds,
            submitted_at=_seconds(j.created_at),
        )
        for j in s.scalars(
            select(JobRow)
            .where(JobRow.state == JobState.PENDING.value)
            .order_by(JobRow.seq)
            .with_for_update()
        ).all()
    )


def _contracted(s: Session, orgs: Orgs, now: datetime) -> dict[tuple[str, str], int]:
    contracted: dict[tuple[str, str], int] = {}
    for c in contracts.active(s, now):
        key = (orgs[c.org_id][0], c.gpu_type)
        contracted[key] = contracted.get(key, 0) + c.gpus
    return contracted
