"""`neocloud whatif`'s inputs: the request, and its validation into jobs the simulator can replay.

Every input is validated first (fleet, policy, both traces, quotas; every problem, nothing runs).
External jobs the policy cannot sell are turned away here, with the reason; the rules (which
external jobs run, as what): docs/economics.md, "What if".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from neocloud.domain.exact_yaml import FileProblem
from neocloud.domain.fleet import Fleet
from neocloud.domain.jobs import Tier
from neocloud.economics.whatif.policy import SellingPolicy
from neocloud.economics.whatif.policy_file import parse_policy
from neocloud.engines.options import read_fleet
from neocloud.sim.problems import InputError, InputProblem
from neocloud.sim.runner import InputFile, Prepared, SimRequest, TraceFormat, prepare
from neocloud.sim.simulator import SimConfig
from neocloud.sim.trace import FleetShape, TraceJob, TraceLoad
from neocloud.sim.trace_generic import load_generic
from neocloud.sim.trace_philly import load_philly

# A Philly trace's virtual clusters are internal teams' names: as external demand they are
# renamed, so they never collide with the internal orgs of the same trace.
PHILLY_EXTERNAL_PREFIX = "ext-"
NOT_OFFERED = "tier not offered"
NOT_SOLD = "GPU type not sold"
NO_CONTRACT = "reserved without a contract"


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


def prepare_whatif(request: WhatIfRequest) -> PreparedWhatIf:
    """Validate every input; raise InputError listing every problem, so nothing runs."""
    parsed = read_fleet(request.fleet.text)
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


def _problem(file: str, problem: FileProblem) -> InputProblem:
    return InputProblem(file, problem.line, problem.path, problem.message)
