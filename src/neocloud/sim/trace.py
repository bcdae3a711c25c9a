"""Trace jobs: what a trace row becomes once validated against the fleet it will run on.

Gang rule: a job asking for more GPUs than the largest node of its type holds becomes a gang
of `ceil(num_gpus / per_node)` nodes with `ceil(num_gpus / nodes)` GPUs on each (the scheduler
places the same count on every node of a gang). When `num_gpus` does not divide evenly the
gang holds slightly more than asked: 17 GPUs on 8-GPU nodes become 3 nodes × 6 = 18 GPUs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from neocloud.domain.fleet import Fleet
from neocloud.domain.jobs import PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.model import NodeState
from neocloud.scheduler.placement.feasibility import unsatisfiable_reason
from neocloud.sim.problems import InputProblem


@dataclass(frozen=True, slots=True)
class TraceJob:
    """One job of a trace: when it arrives, how long it runs, and what it asks for."""

    id: str
    submit_time: float
    duration: float
    num_gpus: int
    gpus_per_node: int
    nodes: int
    gpu_type: str
    org: str
    tier: Tier
    # What the job declares it may run (the trace's duration when the trace gives none: a
    # perfect estimate); the platform stops a job there, as the engines do.
    max_runtime: float
    priority_class: PriorityClass | None = None
    # Position in the file; ties in submit time keep file order.
    line: int = 0
    # Its retry policy, as a job submitted to the server declares it (the API's defaults: a
    # preempted job runs again, with no limit on attempts).
    requeue_on_preemption: bool = True
    max_attempts: int | None = None

    @property
    def org_kind(self) -> OrgKind:
        """Internal-tier work belongs to internal orgs; every other tier is sold externally."""
        return OrgKind.INTERNAL if self.tier is Tier.INTERNAL else OrgKind.EXTERNAL

    @property
    def resources(self) -> Resources:
        """The request as the scheduler sees it."""
        return Resources(self.gpu_type, self.gpus_per_node, self.nodes)

    @property
    def gpus(self) -> int:
        """GPUs the job holds while it runs (the gang rule may round `num_gpus` up)."""
        return self.gpus_per_node * self.nodes

    @property
    def run_time(self) -> float:
        """Seconds it runs once started: its duration, cut at its max runtime."""
        return min(self.duration, self.max_runtime)


def gang_shape(num_gpus: int, per_node: int) -> tuple[int, int]:
    """(GPUs per node, nodes) for a request of `num_gpus` on nodes of `per_node` GPUs."""
    nodes = max(1, math.ceil(num_gpus / per_node))
    return math.ceil(num_gpus / nodes), nodes


@dataclass(frozen=True, slots=True)
class FleetShape:
    """What loaders need to know of the fleet: its nodes and the default GPU type."""

    nodes: tuple[NodeState, ...]
    default_gpu_type: str

    @classmethod
    def of(cls, fleet: Fleet) -> FleetShape:
        """The shape of a parsed fleet; the default type is the one with the most GPUs."""
        nodes = tuple(
            NodeState(n.name, n.gpu_type, n.gpus, domain=n.domain(fleet.topology_key))
            for n in fleet.nodes
        )
        gpus: Counter[str] = Counter()
        for node in nodes:
            gpus[node.gpu_type] += node.gpus
        # Most GPUs first, then by name, so the default never depends on file order.
        default = min(gpus, key=lambda t: (-gpus[t], t))
        return cls(nodes, default)

    def gpu_types(self) -> tuple[str, ...]:
        """GPU types present, sorted."""
        return tuple(sorted({n.gpu_type for n in self.nodes}))

    def per_node(self, gpu_type: str) -> int:
        """GPUs on the largest node of a type (0 if absent)."""
        return max((n.gpus for n in self.nodes if n.gpu_type == gpu_type), default=0)

    def total(self, gpu_type: str) -> int:
        """GPUs of a type."""
        return sum(n.gpus for n in self.nodes if n.gpu_type == gpu_type)


class ShapeCheck:
    """Validates requests against the fleet, remembering the answer per distinct shape."""

    def __init__(self, shape: FleetShape) -> None:
        self._shape = shape
        self._per_node = {t: shape.per_node(t) for t in shape.gpu_types()}
        self._answers: dict[tuple[str, int], tuple[int, int] | str] = {}

    def gang(self, gpu_type: str, num_gpus: int) -> tuple[int, int] | str:
        """(GPUs per node, nodes), or why the fleet can never hold the request."""
        key = (gpu_type, num_gpus)
        if key not in self._answers:
            self._answers[key] = self._check(gpu_type, num_gpus)
        return self._answers[key]

    def _check(self, gpu_type: str, num_gpus: int) -> tuple[int, int] | str:
        per_node = self._per_node[gpu_type]
        g, k = gang_shape(num_gpus, per_node)
        nodes = [n for n in self._shape.nodes if n.gpu_type == gpu_type]
        reason = unsatisfiable_reason(Resources(gpu_type, g, k), nodes)
        if reason is not None:
            return f"{num_gpus} GPUs ({k} × {g} {gpu_type}) never fit this fleet: {reason}"
        return g, k


@dataclass(frozen=True, slots=True)
class TraceLoad:
    """A loaded trace: jobs in submit order when there are no problems, and rows skipped."""

    jobs: tuple[TraceJob, ...]
    problems: tuple[InputProblem, ...] = ()
    # Reason → rows that were valid but deliberately not simulated (never silently dropped).
    skipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every row was valid."""
        return not self.problems


def in_submit_order(jobs: list[TraceJob]) -> tuple[TraceJob, ...]:
    """Jobs by submit time, ties in file order."""
    return tuple(sorted(jobs, key=lambda j: (j.submit_time, j.line)))
