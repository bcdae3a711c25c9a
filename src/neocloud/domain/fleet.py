"""The fleet: regions → clusters → nodes, and the node models that carry cost inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from neocloud.domain.money import DEFAULT_CURRENCY


@dataclass(frozen=True, slots=True)
class NodeModel:
    """A kind of server and what it costs to own and run (DESIGN.md §5 inputs)."""

    name: str
    capex_per_node: Decimal
    life_years: Decimal
    power_kw_per_node: Decimal
    pue: Decimal
    price_per_kwh: Decimal
    draw_fraction: Decimal = Decimal(1)
    idle_draw_fraction: Decimal = Decimal("0.3")
    colo_per_kw_month: Decimal = Decimal(0)
    other_opex_per_node_year: Decimal = Decimal(0)
    cost_of_capital_rate: Decimal = Decimal(0)
    currency: str = DEFAULT_CURRENCY
    # The share of depreciation that use itself consumes (heat, power cycling, HBM and fan
    # wear) rather than time: it sets the price floor, below which running costs more than idling.
    wear_fraction: Decimal = Decimal("0.2")


@dataclass(frozen=True, slots=True)
class Node:
    """One server: GPUs of one type, topology labels, and its node model."""

    name: str
    region: str
    cluster: str
    gpu_type: str
    gpus: int
    cpus: int
    memory_gb: int
    node_model: str
    topology: Mapping[str, str] = field(default_factory=dict)

    def domain(self, key: str) -> str | None:
        """The topology domain this node belongs to under a label key (e.g. nvlink_domain)."""
        return self.topology.get(key)


class Isolation(StrEnum):
    """What a cluster's engine keeps apart: one tenant's work from another's and from the
    control plane (docs/engines.md says what each level means on each engine)."""

    SANDBOX = "sandbox"  # its own OS user and its own namespaces: files, processes, devices
    USER = "user"  # its own unprivileged OS user per org, nothing more
    NONE = "none"  # nothing: every tenant's work runs alike


# The level each engine gives when the fleet file does not say, and the levels it can give.
DEFAULT_ISOLATION = {"local": Isolation.SANDBOX, "slurm": Isolation.USER, "ray": Isolation.NONE}
DELIVERABLE_ISOLATION = {
    "local": (Isolation.SANDBOX, Isolation.NONE),
    "slurm": (Isolation.SANDBOX, Isolation.USER, Isolation.NONE),
    "ray": (Isolation.NONE,),
}


@dataclass(frozen=True, slots=True)
class Cluster:
    """A set of nodes run by one engine, and what that engine isolates."""

    name: str
    region: str
    engine: str = "local"
    engine_options: Mapping[str, str] = field(default_factory=dict)
    # None: the engine's default (DEFAULT_ISOLATION); a parsed fleet always says.
    isolation: Isolation | None = None
    # The operator's opt-in to place external orgs' work here although it isolates nothing.
    external_without_isolation: bool = False

    @property
    def isolates(self) -> Isolation:
        """The isolation level the cluster's engine gives its jobs."""
        if self.isolation is not None:
            return self.isolation
        return DEFAULT_ISOLATION.get(self.engine, Isolation.NONE)

    @property
    def hosts_external(self) -> bool:
        """Whether external orgs' work may be placed on the cluster's nodes."""
        return self.isolates is not Isolation.NONE or self.external_without_isolation


@dataclass(frozen=True, slots=True)
class Fleet:
    """All hardware the provider owns, as declared in a fleet file."""

    regions: tuple[str, ...]
    clusters: tuple[Cluster, ...]
    nodes: tuple[Node, ...]
    node_models: Mapping[str, NodeModel]
    topology_key: str = "nvlink_domain"

    def gpu_types(self) -> tuple[str, ...]:
        """GPU types present in the fleet, sorted."""
        return tuple(sorted({n.gpu_type for n in self.nodes}))

    def gpus_of_type(self, gpu_type: str) -> int:
        """Total GPUs of one type."""
        return sum(n.gpus for n in self.nodes if n.gpu_type == gpu_type)

    def max_gpus_per_node(self, gpu_type: str) -> int:
        """Largest GPU count of any node of a type (0 if the type is absent)."""
        return max((n.gpus for n in self.nodes if n.gpu_type == gpu_type), default=0)
