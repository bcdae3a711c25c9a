"""`neocloud whatif`'s replays: the internal trace alone, then with external demand under a policy.

Every input is validated first (fleet, policy, both traces, quotas; every problem, nothing runs).
Then the baseline (internal work alone), the policy run and each sweep point are simulated, and
economics.whatif turns each outcome into revenue, cost, margin and people's figures over one
common period. The rules (which external jobs run, as what): docs/economics.md, "What if".

Its only impure act is measuring wall time.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from neocloud.domain.exact_yaml import FileProblem
from neocloud.domain.fleet import Fleet
from neocloud.domain.fleet_file import parse_fleet
from neocloud.domain.jobs import Tier
from neocloud.economics.capacity import capacity_of
from neocloud.economics.policy_file import parse_policy
from neocloud.economics.whatif import (
    FleetEconomics,
    Horizon,
    RunFigures,
    evaluate,
    horizon,
)
from neocloud.economics.whatif_policy import SellingPolicy
from neocloud.economics.whatif_replay import ExternalDemand, Replay, ReplayJob, TeamFigures
from neocloud.economics.whatif_series import bucket_length
from neocloud.sim.metrics import summarize
from neocloud.sim.problems import InputError, InputProblem
from neocloud.sim.records import SimOutcome
from neocloud.sim.runner import InputFile, Prepared, SimRequest, TraceFormat, prepare
from neocloud.sim.simulator import SimConfig, simulate
from neocloud.sim.trace import FleetShape, TraceJob, TraceLoad
from neocloud.sim.trace_generic import load_generic
from neocloud.sim.trace_philly import load_philly

# A Philly trace's virtual clusters are internal teams' names: as external demand they are
# renamed, so they never collide with the internal orgs of the same trace.
PHILLY_EXTERNAL_PREFIX = "ext-"
NOT_OFFERED = "tier not offered"
NOT_SOLD = "GPU type not sold"
NO_CONTRACT = "reserved without a contract"
SECONDS_PER_HOUR = 3600

Announce = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class WhatIfRequest:
    """Everything `neocloud whatif` needs, as text, and how to read it."""

    fleet: InputFile
    policy: InputFile
    internal: InputFile
    external: InputFile
    internal_format: TraceFormat = TraceFormat.GENERIC
    external_format: TraceFormat = TraceFormat.GENERIC
    # The tier external jobs are sold at when their trace gives none (every Philly job).
    external_tier: Tier = Tier.ON_DEMAND
    quotas: InputFile | None = None
    # philly_vc_nodes.csv beside a Philly internal trace (used only without `quotas`).
    vc_nodes: InputFile | None = None
    # Caps to sweep; None: the policy's own `sweep` list.
    sweep: tuple[Decimal, ...] | None = None
    # Replay only the N earliest jobs of each trace.
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class PreparedWhatIf:
    """Validated inputs: the fleet, the policy, the jobs and the simulator's configuration."""

    fleet: Fleet
    policy: SellingPolicy
    internal: tuple[TraceJob, ...]
    # External jobs the policy can sell, and those turned away with the reason.
    external: tuple[TraceJob, ...]
    turned_away: tuple[tuple[TraceJob, str], ...]
    config: SimConfig
    sweep: tuple[Decimal, ...]
    notes: tuple[str, ...]


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


def prepare_whatif(request: WhatIfRequest) -> PreparedWhatIf:
    """Validate every input; raise InputError listing every problem, so nothing runs."""
    parsed = parse_fleet(request.fleet.text)
    if parsed.fleet is None:
        raise InputError([_problem(request.fleet.name, p) for p in parsed.problems])
    fleet = parsed.fleet
    shape = FleetShape.of(fleet)
    problems: list[InputProblem] = []
    policy_parse = parse_policy(request.policy.text, fleet)
    problems.extend(_problem(request.policy.name, p) for p in policy_parse.problems)
    internal = _internal(request, problems)
    load = _external_load(request, shape)
    problems.extend(load.problems)
    policy = policy_parse.policy
    if problems or internal is None or policy is None:
        raise InputError(problems)
    prepared_internal, internal_jobs = internal
    external = _as_external(load.jobs[: request.limit] if request.limit else load.jobs, request)
    internal_orgs = {job.org for job in internal_jobs}
    for job in external:
        if job.org in internal_orgs:
            problems.append(
                InputProblem(
                    request.external.name,
                    job.line,
                    "org",
                    f"{job.org!r} is an internal org in {request.internal.name}",
                )
            )
    for i, contract in enumerate(policy.contracts):
        if contract.org in internal_orgs:
            problems.append(
                InputProblem(
                    request.policy.name,
                    None,
                    f"contracts[{i}].org",
                    f"{contract.org!r} is an internal org in {request.internal.name}",
                )
            )
    if problems:
        raise InputError(problems)
    # Internal jobs arrive first at equal submit times: external lines come after theirs.
    offset = max((job.line for job in internal_jobs), default=0)
    external = tuple(dataclasses.replace(job, line=job.line + offset) for job in external)
    sold, turned_away = _offer(external, policy)
    config = dataclasses.replace(
        prepared_internal.config,
        contracts={(c.org, c.gpu_type): c.gpus for c in policy.contracts},
        spot_grace_s=policy.spot_grace_s,
    )
    return PreparedWhatIf(
        fleet=fleet,
        policy=policy,
        internal=internal_jobs,
        external=sold,
        turned_away=turned_away,
        config=config,
        sweep=request.sweep if request.sweep is not None else policy.sweep,
        notes=prepared_internal.notes,
    )


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


def _internal(
    request: WhatIfRequest, problems: list[InputProblem]
) -> tuple[Prepared, tuple[TraceJob, ...]] | None:
    """The internal trace through the simulator's own validation (quotas included)."""
    sim_request = SimRequest(
        trace=request.internal,
        fleet=request.fleet,
        format=request.internal_format,
        quotas=request.quotas,
        vc_nodes=request.vc_nodes,
        limit=request.limit,
    )
    try:
        prepared = prepare(sim_request)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    bad = [job for job in prepared.jobs if job.tier is not Tier.INTERNAL]
    for job in bad:
        problems.append(
            InputProblem(
                request.internal.name,
                job.line,
                "tier",
                f"the internal trace holds internal work only, got {job.tier}"
                " (external demand goes in the external trace)",
            )
        )
    if bad:
        return None
    jobs = tuple(dataclasses.replace(job, id=f"internal/{job.id}") for job in prepared.jobs)
    return prepared, jobs


def _external_load(request: WhatIfRequest, shape: FleetShape) -> TraceLoad:
    file = request.external
    if request.external_format is TraceFormat.PHILLY:
        return load_philly(file.text, file.name, shape)
    return load_generic(file.text, file.name, shape)


def _as_external(jobs: Sequence[TraceJob], request: WhatIfRequest) -> tuple[TraceJob, ...]:
    """External demand: a job without an external tier is sold at `external_tier`."""
    philly = request.external_format is TraceFormat.PHILLY
    out = []
    for job in jobs:
        tier = request.external_tier if job.tier is Tier.INTERNAL else job.tier
        org = f"{PHILLY_EXTERNAL_PREFIX}{job.org}" if philly else job.org
        out.append(
            dataclasses.replace(
                job, id=f"external/{job.id}", tier=tier, org=org, priority_class=None
            )
        )
    return tuple(out)


def _offer(
    jobs: Sequence[TraceJob], policy: SellingPolicy
) -> tuple[tuple[TraceJob, ...], tuple[tuple[TraceJob, str], ...]]:
    """Jobs the policy can sell, and those it turns away (never submitted) with the reason."""
    contracted = {(c.org, c.gpu_type) for c in policy.contracts}
    sold: list[TraceJob] = []
    away: list[tuple[TraceJob, str]] = []
    for job in jobs:
        if job.tier not in policy.tiers:
            away.append((job, NOT_OFFERED))
        elif job.gpu_type not in policy.gpu_types:
            away.append((job, NOT_SOLD))
        elif job.tier is Tier.RESERVED and (job.org, job.gpu_type) not in contracted:
            away.append((job, NO_CONTRACT))
        else:
            sold.append(job)
    return tuple(sold), tuple(away)


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
        served_gpu_hours=sum(r.gpu_seconds for r in records) / 3600,
        turned_away_gpu_hours=_hours([job for job, _ in prepared.turned_away]),
        spot_preemptions=sum(r.preemptions for r in records if r.job.tier is Tier.SPOT),
        wait_avg_s=float(waits.mean()) if waits.size else None,
        wait_p95_s=float(np.percentile(waits, 95)) if waits.size else None,
    )


def _all_external(prepared: PreparedWhatIf) -> list[TraceJob]:
    return [*prepared.external, *(job for job, _ in prepared.turned_away)]


def _hours(jobs: Sequence[TraceJob]) -> float:
    """GPU-hours the jobs ask for: GPUs held × run time."""
    return sum(job.gpus * job.run_time for job in jobs) / 3600


def _regions(fleet: Fleet) -> Mapping[str, str]:
    """The region of each GPU type's first node (prices do not depend on it)."""
    regions: dict[str, str] = {}
    for node in fleet.nodes:
        regions.setdefault(node.gpu_type, node.region)
    return regions


def _problem(file: str, problem: FileProblem) -> InputProblem:
    return InputProblem(file, problem.line, problem.path, problem.message)
