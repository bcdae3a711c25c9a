"""`neocloud whatif`'s replays: the internal trace alone, then with external demand under a policy.

The baseline (internal work alone), the policy run and each sweep point are simulated from the
validated inputs (prepare.py), and economics.whatif.figures turns each outcome into revenue,
cost, margin and people's figures over one common period.

Its only impure act is measuring wall time.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from neocloud.domain.fleet import Fleet
from neocloud.domain.jobs import Tier
from neocloud.economics.margin.capacity import capacity_of
from neocloud.economics.whatif.figures import (
    FleetEconomics,
    Horizon,
    RunFigures,
    evaluate,
    horizon,
)
from neocloud.economics.whatif.policy import SellingPolicy
from neocloud.economics.whatif.replay import ExternalDemand, Replay, ReplayJob, TeamFigures
from neocloud.economics.whatif.series import bucket_length
from neocloud.sim.metrics import summarize
from neocloud.sim.records import SimOutcome
from neocloud.sim.simulator import SimConfig, simulate
from neocloud.sim.trace import TraceJob
from neocloud.sim.whatif.prepare import PreparedWhatIf, WhatIfRequest, prepare_whatif

SECONDS_PER_HOUR = 3600

Announce = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class WhatIfRun:
    """The baseline, the policy run and the sweep over one common period, and the wall time."""

    prepared: PreparedWhatIf
    horizon: Horizon
    baseline: RunFigures
    selling: RunFigures
    sweep: tuple[RunFigures, ...]
    simulate_s: float
    economics_s: float


def run_whatif(request: WhatIfRequest, *, announce: Announce | None = None) -> WhatIfRun:
    """Validate, replay the baseline, the policy and every sweep point, and cost them alike."""
    prepared = prepare_whatif(request)
    policy = prepared.policy
    began = time.perf_counter()
    say = announce or (lambda _: None)
    say("baseline: internal work alone")
    baseline = simulate(prepared.internal, _config(prepared, None))
    say("policy: internal and external work")
    selling = _replay(prepared, policy)
    points = []
    for cap in prepared.sweep:
        say(f"sweep: cap {cap}")
        points.append((cap, _replay(prepared, policy.at_cap(cap))))
    simulate_s = time.perf_counter() - began
    began = time.perf_counter()
    outcomes = [baseline, selling, *(outcome for _, outcome in points)]
    # The period runs to the end of the hour of the last release in any run: every run pays
    # for the same capacity, and capacity is a whole number of GPU-hours.
    last = max((o.end for o in outcomes if o.records), default=0.0)
    end_s = math.ceil(last / SECONDS_PER_HOUR) * SECONDS_PER_HOUR
    period = horizon(policy.start, end_s, bucket_length(end_s))
    fleet = FleetEconomics(
        capacity=capacity_of(prepared.fleet),
        fleet_gpus=sum(n.gpus for n in prepared.fleet.nodes),
        regions=_regions(prepared.fleet),
    )
    say("economics: rating and margins")
    figures = evaluate(
        "baseline",
        _to_replay(baseline, prepared, external=False),
        dataclasses.replace(policy, gpu_types={}, contracts=()),
        fleet,
        period,
    )
    selling_figures = evaluate("policy", _to_replay(selling, prepared), policy, fleet, period)
    sweep = tuple(
        evaluate(f"cap {cap}", _to_replay(outcome, prepared), policy.at_cap(cap), fleet, period)
        for cap, outcome in points
    )
    return WhatIfRun(
        prepared=prepared,
        horizon=period,
        baseline=figures,
        selling=selling_figures,
        sweep=sweep,
        simulate_s=simulate_s,
        economics_s=time.perf_counter() - began,
    )


def _replay(prepared: PreparedWhatIf, policy: SellingPolicy) -> SimOutcome:
    return simulate((*prepared.internal, *prepared.external), _config(prepared, policy))


def _config(prepared: PreparedWhatIf, policy: SellingPolicy | None) -> SimConfig:
    """The baseline sells nothing; a policy run caps every GPU type (0 where it sells none)."""
    if policy is None:
        return dataclasses.replace(prepared.config, contracts={}, sellable_cap={})
    caps = {t: 0.0 for t in prepared.fleet.gpu_types()}
    caps.update({t: float(cap) for t, cap in policy.caps().items()})
    return dataclasses.replace(prepared.config, sellable_cap=caps)


def _to_replay(outcome: SimOutcome, prepared: PreparedWhatIf, *, external: bool = True) -> Replay:
    """A simulated outcome as the economics reads it: allocations, and people's figures."""
    metrics = summarize(outcome)
    team = metrics.tiers.get(Tier.INTERNAL)
    internal = TeamFigures(
        jobs=team.jobs if team else 0,
        finished=team.finished if team else 0,
        wait_avg_s=team.wait_avg_s if team else None,
        wait_p95_s=team.wait_p95_s if team else None,
        jct_avg_s=team.jct_avg_s if team else None,
        jct_p95_s=team.jct_p95_s if team else None,
    )
    jobs = tuple(
        ReplayJob(r.job.id, r.job.org, r.job.tier, r.job.gpu_type, r.job.gpus, r.attempts)
        for r in outcome.records
        if r.attempts
    )
    end_s = outcome.end if outcome.records else 0.0
    return Replay(jobs, internal, _demand(outcome, prepared, external), end_s)


def _demand(outcome: SimOutcome, prepared: PreparedWhatIf, external: bool) -> ExternalDemand:
    """External demand of a run; the baseline sells nothing, so it turns all of it away."""
    everything = _all_external(prepared)
    asked = _hours(everything)
    if not external:
        return ExternalDemand(len(everything), 0, 0, len(everything), asked, 0.0, asked, 0)
    records = [r for r in outcome.records if r.job.tier.external]
    finished = [r for r in records if r.end is not None]
    waits = np.array([r.pending_s for r in finished])
    return ExternalDemand(
        jobs=len(everything),
        served=len(finished),
        unserved=len(prepared.external) - len(finished),
        turned_away=len(prepared.turned_away),
        demand_gpu_hours=asked,
        served_gpu_hours=sum(r.gpu_seconds for r in records) / SECONDS_PER_HOUR,
        turned_away_gpu_hours=_hours([job for job, _ in prepared.turned_away]),
        spot_preemptions=sum(r.preemptions for r in records if r.job.tier is Tier.SPOT),
        wait_avg_s=float(waits.mean()) if waits.size else None,
        wait_p95_s=float(np.percentile(waits, 95)) if waits.size else None,
    )


def _all_external(prepared: PreparedWhatIf) -> list[TraceJob]:
    return [*prepared.external, *(job for job, _ in prepared.turned_away)]


def _hours(jobs: Sequence[TraceJob]) -> float:
    """GPU-hours the jobs ask for: GPUs held × run time."""
    return sum(job.gpus * job.run_time for job in jobs) / SECONDS_PER_HOUR


def _regions(fleet: Fleet) -> Mapping[str, str]:
    """The region of each GPU type's first node (prices do not depend on it)."""
    regions: dict[str, str] = {}
    for node in fleet.nodes:
        regions.setdefault(node.gpu_type, node.region)
    return regions
