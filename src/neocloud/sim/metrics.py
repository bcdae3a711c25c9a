"""Per-tier and total figures of a simulation (definitions in docs/simulator.md).

- utilisation: GPU-seconds held / (fleet GPUs × makespan); a tier's share uses the whole
  run's makespan, so the tiers add up to the total.
- JCT: end − submit, over finished jobs; wait: every second a finished job spent pending
  (before its first start and after each requeue).
- fragmentation: time-weighted mean of the free GPUs that the largest job waiting for
  capacity cannot use (the scheduler's own measure, per step). Free GPUs belong to no tier,
  so it is a fleet-wide figure: given in the total, None per tier.
- makespan: last end − first submit (per tier: its last end − its first submit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from neocloud.domain.jobs import Tier
from neocloud.sim.records import JobRecord, SimOutcome


@dataclass(frozen=True, slots=True)
class TierMetrics:
    """The figures of one tier, or of all jobs."""

    jobs: int
    finished: int
    unfinished: int
    gpu_utilisation: float
    jct_avg_s: float | None
    jct_p95_s: float | None
    wait_avg_s: float | None
    wait_p95_s: float | None
    preemptions: int
    timed_out: int
    fragmentation_gpus: float | None
    makespan_s: float


@dataclass(frozen=True, slots=True)
class SimMetrics:
    """Every tier present in the trace (highest first), and the total."""

    tiers: dict[Tier, TierMetrics]
    total: TierMetrics
    fleet_gpus: int
    makespan_s: float
    scheduler_steps: int
    events: int


def summarize(outcome: SimOutcome) -> SimMetrics:
    """Figures per tier and in total."""
    span = outcome.end - outcome.start
    by_tier: dict[Tier, list[JobRecord]] = {}
    for record in outcome.records:
        by_tier.setdefault(record.job.tier, []).append(record)
    tiers = {
        tier: _figures(by_tier[tier], outcome, span)
        for tier in sorted(by_tier, key=lambda t: t.rank)
    }
    fragmentation = outcome.stranded_gpu_seconds / span if span > 0 else 0.0
    return SimMetrics(
        tiers=tiers,
        total=replace(_figures(outcome.records, outcome, span), fragmentation_gpus=fragmentation),
        fleet_gpus=outcome.fleet_gpus,
        makespan_s=span,
        scheduler_steps=outcome.scheduler_steps,
        events=outcome.events,
    )


def _figures(records: Sequence[JobRecord], outcome: SimOutcome, span: float) -> TierMetrics:
    finished = [r for r in records if r.end is not None]
    jct = np.array([r.end - r.job.submit_time for r in finished if r.end is not None])
    wait = np.array([r.pending_s for r in finished])
    busy = sum(r.gpu_seconds for r in records)
    capacity = outcome.fleet_gpus * span
    ends = [r.end for r in finished if r.end is not None]
    first = min((r.job.submit_time for r in records), default=0.0)
    return TierMetrics(
        jobs=len(records),
        finished=len(finished),
        unfinished=len(records) - len(finished),
        gpu_utilisation=busy / capacity if capacity > 0 else 0.0,
        jct_avg_s=_mean(jct),
        jct_p95_s=_p95(jct),
        wait_avg_s=_mean(wait),
        wait_p95_s=_p95(wait),
        preemptions=sum(r.preemptions for r in records),
        timed_out=sum(1 for r in records if r.timed_out),
        fragmentation_gpus=None,
        makespan_s=max(ends) - first if ends else 0.0,
    )


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _p95(values: np.ndarray) -> float | None:
    # Linear interpolation between order statistics (numpy's default method).
    return float(np.percentile(values, 95)) if values.size else None
