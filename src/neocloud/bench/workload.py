"""A synthetic fleet, orgs and job stream for the scheduler benchmark (seeded, reproducible).

Fleet: 8 GPUs per node, nodes in 16-node topology domains, each domain of one GPU type
(h100 50 %, a100 30 %, b200 20 % of domains). Orgs: 6 internal orgs sharing half of each type
as quotas (some may borrow a quarter more), 12 external orgs of which 4 hold reserved contracts
(15 % of each type in all); the sellable cap is 60 % of each type. Jobs: internal 40 %, reserved
10 %, on-demand 20 %, spot 30 %; 1–64 GPUs (above 8, whole 8-GPU nodes: 2, 4 or 8 nodes);
max runtimes log-uniform from 10 minutes to a day, actual runtimes a random part of that.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TypeVar

from neocloud.domain.jobs import PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.model import NodeState, PendingJob, SchedulerInput

GPUS_PER_NODE = 8
DOMAIN_NODES = 16
GPU_TYPES = (("h100", 0.5), ("a100", 0.3), ("b200", 0.2))
INTERNAL_ORGS = tuple(f"int-{i:02d}" for i in range(6))
EXTERNAL_ORGS = tuple(f"ext-{i:02d}" for i in range(12))
CONTRACT_ORGS = EXTERNAL_ORGS[:4]
TIERS = ((Tier.INTERNAL, 0.4), (Tier.RESERVED, 0.1), (Tier.ON_DEMAND, 0.2), (Tier.SPOT, 0.3))
SIZES = ((1, 0.3), (2, 0.2), (4, 0.15), (8, 0.15), (16, 0.1), (32, 0.06), (64, 0.04))
INTERNAL_SHARE = 0.5
CONTRACT_SHARE = 0.15
SELLABLE_CAP = 0.6
MIN_RUNTIME_S = 600
MAX_RUNTIME_S = 86_400

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class BenchJob:
    """A job of the stream: what the scheduler sees, and how long it really runs."""

    job: PendingJob
    run_seconds: float


class Workload:
    """Builds the fleet snapshot and draws jobs, all from one seeded generator."""

    def __init__(self, nodes: int, seed: int) -> None:
        self._random = random.Random(seed)
        self.nodes = self._fleet(nodes)
        totals: dict[str, int] = {}
        for node in self.nodes:
            totals[node.gpu_type] = totals.get(node.gpu_type, 0) + node.gpus
        self.totals = totals
        self._types = [t for t, _ in GPU_TYPES if t in totals]
        self._type_weights = [totals[t] for t in self._types]
        self._order = 0

    def snapshot(self, pending: tuple[PendingJob, ...] = ()) -> SchedulerInput:
        """The fleet with its quotas, borrow limits, contracts, caps and weights."""
        rng = self._random
        quotas: dict[tuple[str, str], int] = {}
        borrow: dict[tuple[str, str], int] = {}
        contracts: dict[tuple[str, str], int] = {}
        for gpu_type, total in sorted(self.totals.items()):
            shares = [rng.uniform(1, 3) for _ in INTERNAL_ORGS]
            for org, part in zip(INTERNAL_ORGS, shares, strict=True):
                quota = int(total * INTERNAL_SHARE * part / sum(shares))
                quotas[(org, gpu_type)] = quota
                if rng.random() < 0.5:
                    borrow[(org, gpu_type)] = quota // 4
            for org in CONTRACT_ORGS:
                contracts[(org, gpu_type)] = int(total * CONTRACT_SHARE / len(CONTRACT_ORGS))
        kinds = {org: OrgKind.INTERNAL for org in INTERNAL_ORGS}
        kinds.update({org: OrgKind.EXTERNAL for org in EXTERNAL_ORGS})
        return SchedulerInput(
            nodes=self.nodes,
            running=(),
            pending=pending,
            quotas=quotas,
            sellable_cap={t: SELLABLE_CAP for t in self.totals},
            contracts=contracts,
            borrow_limits=borrow,
            weights={
                org: float(rng.choice((1, 1, 2, 3))) for org in (*INTERNAL_ORGS, *EXTERNAL_ORGS)
            },
            org_kinds=kinds,
        )

    def job(self, now: float) -> BenchJob:
        """The next job of the stream, submitted at `now`."""
        rng = self._random
        self._order += 1
        tier = _pick(rng, TIERS)
        if tier is Tier.INTERNAL:
            org, kind = rng.choice(INTERNAL_ORGS), OrgKind.INTERNAL
            priority: PriorityClass | None = rng.choice(tuple(PriorityClass))
        elif tier is Tier.RESERVED:
            org, kind, priority = rng.choice(CONTRACT_ORGS), OrgKind.EXTERNAL, None
        else:
            org, kind, priority = rng.choice(EXTERNAL_ORGS), OrgKind.EXTERNAL, None
        gpus = _pick(rng, SIZES)
        per_node = min(gpus, GPUS_PER_NODE)
        gpu_type = rng.choices(self._types, weights=self._type_weights)[0]
        runtime = math.exp(rng.uniform(math.log(MIN_RUNTIME_S), math.log(MAX_RUNTIME_S)))
        job = PendingJob(
            id=f"j{self._order:07d}",
            org=org,
            org_kind=kind,
            tier=tier,
            resources=Resources(gpu_type, per_node, gpus // per_node),
            order=self._order,
            priority_class=priority,
            max_runtime_seconds=math.ceil(runtime),
            submitted_at=now,
        )
        return BenchJob(job, runtime * rng.uniform(0.2, 1.0))

    def _fleet(self, count: int) -> tuple[NodeState, ...]:
        rng = self._random
        nodes: list[NodeState] = []
        domains = math.ceil(count / DOMAIN_NODES)
        for domain in range(domains):
            gpu_type = _pick(rng, GPU_TYPES)
            for slot in range(min(DOMAIN_NODES, count - domain * DOMAIN_NODES)):
                nodes.append(
                    NodeState(
                        name=f"{gpu_type}-d{domain:04d}-n{slot:02d}",
                        gpu_type=gpu_type,
                        gpus=GPUS_PER_NODE,
                        domain=f"d{domain:04d}",
                    )
                )
        return tuple(nodes)


def _pick(rng: random.Random, table: tuple[tuple[_T, float], ...]) -> _T:
    values = [v for v, _ in table]
    return rng.choices(values, weights=[w for _, w in table])[0]
