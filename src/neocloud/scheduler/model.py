"""Plain data in and out of the scheduler: a snapshot of the cluster, and the decisions taken."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from neocloud.domain.jobs import DEFAULT_GRACE_SECONDS, PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind


@dataclass(frozen=True, slots=True)
class NodeState:
    """A schedulable node as the scheduler sees it."""

    name: str
    gpu_type: str
    gpus: int
    domain: str | None = None
    schedulable: bool = True
    # Whether external orgs' work may run here: False on a cluster that does not isolate
    # tenants unless its operator allowed it (domain.fleet.Cluster.hosts_external).
    hosts_external: bool = True
    # Its cluster's name, for the sentence of an external job that waits for isolation.
    cluster: str = ""


@dataclass(frozen=True, slots=True)
class GpuSlot:
    """The GPUs a job holds on one node (indices 0..gpus-1 on that node)."""

    node: str
    gpu_indices: tuple[int, ...]


Placement = tuple[GpuSlot, ...]


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job waiting to start. `order` is its submission order (lower first)."""

    id: str
    org: str
    org_kind: OrgKind
    tier: Tier
    resources: Resources
    order: int
    priority_class: PriorityClass | None = None
    grace_seconds: int = DEFAULT_GRACE_SECONDS
    # Seconds the job may run; backfill uses it to know when GPUs will be free again.
    max_runtime_seconds: int = 3600
    # When it was submitted, on the caller's clock (seconds; epoch or virtual).
    submitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A job holding GPUs. `started_order` grows with start time (larger = started later).

    `preempting_for` is set once a preemption notice went out: the job still holds its GPUs
    until it exits, and those GPUs are promised to the named pending job.
    """

    id: str
    org: str
    org_kind: OrgKind
    tier: Tier
    gpu_type: str
    placement: Placement
    started_order: int
    priority_class: PriorityClass | None = None
    preempting_for: str | None = None
    grace_seconds: int = DEFAULT_GRACE_SECONDS
    # Start on the caller's clock and the max runtime: the job ends by started_at + max_runtime.
    started_at: float = 0.0
    max_runtime_seconds: int = 3600

    @property
    def gpus(self) -> int:
        """GPUs held across all nodes."""
        return sum(len(s.gpu_indices) for s in self.placement)


@dataclass(frozen=True, slots=True)
class SchedulerInput:
    """Everything one scheduling pass needs; no clock, no database."""

    nodes: tuple[NodeState, ...]
    running: tuple[RunningJob, ...]
    pending: tuple[PendingJob, ...]
    # (org, gpu_type) → GPUs the org may hold at once. Missing for an internal org = no quota
    # (it may not run that type); external orgs are bounded by the sellable cap instead.
    quotas: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # gpu_type → fraction of that type's GPUs external work may hold at once (0..1). Missing = 1.
    sellable_cap: Mapping[str, float] = field(default_factory=dict)
    # The caller's clock now (seconds; epoch in the server, virtual in the simulator).
    now: float = 0.0
    # (org, gpu_type) → GPUs under an active reserved contract: the org's reserved jobs are
    # guaranteed up to this; what it does not use may run spot work, reclaimed when it needs it.
    contracts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # (org, gpu_type) → GPUs an internal org may borrow beyond its quota from capacity other
    # internal orgs' quotas leave unused (reclaimable by the lender). Missing = 0: no borrowing.
    borrow_limits: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # Fair share inside a tier: org → weight (missing = 1) and org → decayed GPU-seconds used.
    weights: Mapping[str, float] = field(default_factory=dict)
    usage: Mapping[str, float] = field(default_factory=dict)
    # org → kind, for orgs that may have no job in this snapshot: an internal org's unused quota
    # is what other internal orgs borrow. Orgs missing here take the kind of their jobs; a
    # quota-only org of unknown kind counts as internal (quotas are an internal-org concept).
    org_kinds: Mapping[str, OrgKind] = field(default_factory=dict)
    # Half-life of fair-share usage: the stateful scheduler decays and accrues usage with it.
    fair_share_half_life_seconds: float = 7 * 86_400.0
    # How often the stateful scheduler re-ranks orgs by fair share (Slurm's PriorityCalcPeriod);
    # a change of order re-examines every GPU type. 0: at every step.
    fair_share_interval_seconds: float = 60.0


class WaitReason(StrEnum):
    """Machine-readable reasons a job is pending."""

    QUOTA = "quota"
    CAPACITY = "capacity"
    SELLABLE_CAP = "sellable_cap"
    PREEMPTING = "preempting"
    PRIORITY = "priority"
    UNSATISFIABLE = "unsatisfiable"
    FAIR_SHARE = "fair_share"
    PLANNED_START = "planned_start"
    CONTRACT = "contract"
    BORROW_LIMIT = "borrow_limit"
    ISOLATION = "isolation"


@dataclass(frozen=True, slots=True)
class Start:
    """Start a pending job on these GPUs."""

    job_id: str
    placement: Placement


@dataclass(frozen=True, slots=True)
class Preempt:
    """Send a preemption notice to a running job so `by_job_id` can start; `rule` names why."""

    job_id: str
    by_job_id: str
    rule: str
    grace_seconds: int


@dataclass(frozen=True, slots=True)
class Wait:
    """A pending job stays pending: a reason code and a sentence for people."""

    job_id: str
    reason: WaitReason
    message: str


@dataclass(frozen=True, slots=True)
class SchedulingResult:
    """The decisions of one pass: every pending job is either started or waits with a reason."""

    starts: tuple[Start, ...] = ()
    preemptions: tuple[Preempt, ...] = ()
    waits: tuple[Wait, ...] = ()
    # GPU type (and "total") → GPUs free but unusable by the largest job waiting for capacity
    # of that type: free GPUs on nodes with fewer free than that job needs per node.
    fragmentation: Mapping[str, int] = field(default_factory=dict)
