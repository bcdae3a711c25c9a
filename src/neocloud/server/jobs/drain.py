"""Running jobs on a node its engine reports drained: marked to be stopped, and how they end.

With `on_drain: requeue` (the default) the control loop marks each active attempt on a drained
node with the instant the drain was seen (durably, so a restart keeps stopping it), sends it the
same stop as a cancel (SIGTERM, SIGKILL after its grace), and once the engine reports it over,
requeues or fails it per `requeue_on_preemption`, its usage ending at the drain. Engine-neutral:
it reads only the node conditions the inventory recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.attempts import NODE_DRAINED, AttemptEnd, EndKind
from neocloud.domain.jobs import JobState
from neocloud.server.engines.check import DeclaredNode
from neocloud.server.engines.drain_policy import OnDrain
from neocloud.server.engines.health import NodeAvailability
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.jobs.attempt_end import apply_outcome, outcome_of
from neocloud.server.jobs.lifecycle import record_event
from neocloud.store.models import AllocationRow, JobRow

_ACTIVE = (JobState.SCHEDULED.value, JobState.RUNNING.value)


def drained_nodes(
    registry: EngineRegistry, declared: Iterable[DeclaredNode]
) -> dict[str, datetime]:
    """Node → when its drain was seen, for drained nodes of clusters whose policy is requeue."""
    out = {}
    for node in declared:
        condition = registry.health.node(node.name)
        if condition is None or condition.state is not NodeAvailability.DRAIN:
            continue
        if registry.drain_policy(node.cluster) is OnDrain.REQUEUE:
            out[node.name] = condition.since
    return out


def mark_drained(s: Session, drained: Mapping[str, datetime], now: datetime) -> list[str]:
    """Mark each launched, active attempt on a drained node to be stopped; returns their job ids."""
    if not drained:
        return []
    marked = []
    rows = s.execute(
        select(JobRow, AllocationRow.node)
        .join(AllocationRow, AllocationRow.job_id == JobRow.id)
        .where(
            JobRow.state.in_(_ACTIVE),
            JobRow.engine_handle.is_not(None),
            JobRow.drained_at.is_(None),
            JobRow.cancel_requested.is_(False),
            JobRow.preempting_for.is_(None),
            AllocationRow.attempt == JobRow.attempts,
            AllocationRow.ended_at.is_(None),
            AllocationRow.node.in_(list(drained)),
        )
        .order_by(JobRow.id, AllocationRow.node)
        .with_for_update(of=JobRow)
    ).all()
    for job, node in rows:
        if job.drained_at is not None:
            # A gang with two drained nodes: the first one marked it.
            continue
        job.drained_at = drained[node]
        what = "requeued" if outcome_of(job, AttemptEnd(EndKind.DRAINED)).requeued else "failed"
        state = JobState(job.state)
        record_event(
            s,
            job,
            state,
            NODE_DRAINED,
            now,
            f"node {node} was drained: stopping the job (SIGTERM now, SIGKILL after "
            f"{job.grace_seconds} s); it will be {what} (requeue_on_preemption), its usage "
            "ending at the drain",
            {"node": node, "drain_seen_at": job.drained_at.isoformat()},
            from_state=state,
        )
        marked.append(job.id)
    return marked


def finish_drained(s: Session, job: JobRow, now: datetime, details: Mapping[str, object]) -> None:
    """The stopped attempt of a drained node is over: requeue it per its policy, else failed."""
    assert job.drained_at is not None
    drained = job.drained_at
    job.drained_at = None
    outcome = outcome_of(job, AttemptEnd(EndKind.DRAINED))
    apply_outcome(s, job, outcome, drained, now, details)
