"""Fleet, quotas, caps, offerings and the cost model on the wire."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from neocloud.domain.jobs import Tier
from neocloud.schemas.common import StrictModel
from neocloud.schemas.strict import Name


class FleetUpload(StrictModel):
    """A fleet file's YAML text, to validate or load."""

    yaml: str = Field(min_length=1, max_length=5_000_000)


class FleetProblem(BaseModel):
    """One error in a fleet file, with its path (e.g. `regions[0].clusters[1].nodes[3].gpus`)."""

    path: str
    message: str
    line: int | None = None


class FleetValidation(BaseModel):
    """Result of validating a fleet file."""

    valid: bool
    problems: list[FleetProblem]
    nodes: int = 0
    gpus: int = 0


class NodeOut(BaseModel):
    """A node (operators only)."""

    name: str
    region: str
    cluster: str
    gpu_type: str
    gpus: int
    cpus: int
    memory_gb: int
    node_model: str
    topology: dict[str, str]
    schedulable: bool
    gpus_allocated: int


class GpuTypeCapacity(BaseModel):
    """Capacity of a GPU type across the fleet (operators only)."""

    gpu_type: str
    gpus: int
    gpus_allocated: int
    sellable_cap: Decimal


class NodeCheck(BaseModel):
    """A node as its engine reports it: up, drain, down, missing or mismatch (with why)."""

    name: str
    state: str
    message: str | None = None


class ClusterCheck(BaseModel):
    """A cluster's engine: ok, degraded (unreachable, retried with backoff) or misconfigured."""

    cluster: str
    engine_kind: str
    engine: str | None = Field(description="the engine's name in job handles, if it was built")
    state: str
    message: str | None = Field(default=None, description="what is wrong and how to fix it")
    ok: bool
    nodes: list[NodeCheck] = Field(default_factory=list)


class FleetCheck(BaseModel):
    """Every cluster's engine and nodes checked against the fleet file."""

    ok: bool
    clusters: list[ClusterCheck]


class FleetSummary(BaseModel):
    """The fleet as the operator sees it."""

    regions: list[str]
    clusters: list[str]
    gpu_types: list[GpuTypeCapacity]
    nodes: int
    gpus: int
    engines: list[ClusterCheck] = Field(
        default_factory=list,
        description="each cluster's engine as the control loop last saw it (no engine is asked)",
    )


class Offering(BaseModel):
    """A GPU type offered for sale and its current prices per tier ($/GPU-hour)."""

    gpu_type: str
    max_gpus_per_node: int
    prices: dict[Tier, Decimal]
    currency: str


class QuotaSet(StrictModel):
    """Set an org's quota of a GPU type (GPUs held at once) and how many more it may borrow."""

    org: Name = Field(max_length=128)
    gpu_type: Name = Field(max_length=32)
    gpus: int = Field(ge=0, le=1_000_000)
    borrow_limit: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="GPUs an internal org may hold beyond its quota out of other internal orgs' "
        "unused quota (reclaimed when they need it)",
    )


class Quota(BaseModel):
    """An org's quota of a GPU type."""

    org_id: str
    org_name: str
    gpu_type: str
    gpus: int
    borrow_limit: int = 0


class ContractCreate(StrictModel):
    """A reserved contract: N GPUs of a type for a term at a rate (take-or-pay)."""

    org: Name = Field(max_length=128)
    gpu_type: Name = Field(max_length=32)
    gpus: int = Field(ge=1, le=1_000_000)
    starts_at: datetime
    ends_at: datetime
    unit_price: Decimal = Field(ge=0, le=100_000, description="per GPU-hour")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class Contract(BaseModel):
    """A reserved contract."""

    id: str
    org_id: str
    org_name: str
    gpu_type: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    unit_price: Decimal
    currency: str
    created_at: datetime


class SellableCapSet(StrictModel):
    """Set the fraction of a GPU type that external work may hold."""

    gpu_type: Name = Field(max_length=32)
    fraction: Decimal = Field(ge=0, le=1)


class CostBreakdownOut(BaseModel):
    """Cost of one GPU-hour at 100 % allocation, by component."""

    node_model: str
    gpus_per_node: int
    currency: str
    depreciation: Decimal
    capital: Decimal
    energy: Decimal
    space: Decimal
    opex: Decimal
    total: Decimal
