"""Quotas and the sellable cap: how many GPUs an org, and all external work together, may hold.

Holdings are counted twice. `now` is what running jobs physically hold (victims still exiting
included), and a start must fit under every limit there. `future` is what will be held once the
preemptions under way complete and the jobs waiting on them start; a start must fit there too,
so it cannot take room already promised, and a preemption is judged by it alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.explain import cap_message, quota_message
from neocloud.scheduler.model import PendingJob, RunningJob, SchedulerInput, WaitReason

DEFAULT_SELLABLE_FRACTION = Decimal(1)


def sellable_fraction(value: float | Decimal) -> Decimal:
    """A sellable-cap fraction as an exact Decimal, refusing values outside 0..1."""
    # Through str, so 0.29 stays 0.29 instead of the binary float 0.28999…
    fraction = value if isinstance(value, Decimal) else Decimal(str(value))
    if not Decimal(0) <= fraction <= Decimal(1):
        raise ValueError(f"sellable_cap must be a fraction between 0 and 1, got {value}")
    return fraction


def sellable_gpus(fraction: Decimal, total: int) -> int:
    """GPUs external work may hold: floor(fraction × total)."""
    return math.floor(fraction * total)


@dataclass(frozen=True, slots=True)
class LimitBlock:
    """A limit a job would break: the wait reason and the sentence that explains it."""

    reason: WaitReason
    message: str


@dataclass(frozen=True, slots=True)
class Shortfall:
    """GPUs victims must release before a job fits its limits (zero or less: nothing needed)."""

    org: str
    org_gpus: int
    external_gpus: int

    @property
    def met(self) -> bool:
        """True if the job fits its limits without releasing anything."""
        return self.org_gpus <= 0 and self.external_gpus <= 0


class Limits:
    """GPUs held per (org, GPU type) and by external work per GPU type during one pass."""

    def __init__(self, snapshot: SchedulerInput, totals: Mapping[str, int]) -> None:
        self._quotas = snapshot.quotas
        self._totals = dict(totals)
        self._fractions = {
            gpu_type: sellable_fraction(value) for gpu_type, value in snapshot.sellable_cap.items()
        }
        self._org_now: dict[tuple[str, str], int] = {}
        self._org_future: dict[tuple[str, str], int] = {}
        self._ext_now: dict[str, int] = {}
        self._ext_future: dict[str, int] = {}
        for job in snapshot.running:
            self._add_now(job.org, job.gpu_type, job.tier.external, job.gpus)
            if job.preempting_for is None:
                self._add_future(job.org, job.gpu_type, job.tier.external, job.gpus)

    def block(self, job: PendingJob) -> LimitBlock | None:
        """The limit `job` would break if it started now, or None."""
        gpu_type, need = job.resources.gpu_type, job.resources.total_gpus
        key = (job.org, gpu_type)
        if self._has_quota(job):
            quota = self._quotas.get(key)
            held = self._org_now.get(key, 0)
            usage = max(held, self._org_future.get(key, 0))
            if quota is None or usage + need > quota:
                return LimitBlock(
                    WaitReason.QUOTA,
                    quota_message(job.org, gpu_type, held, usage - held, quota, need),
                )
        if job.tier.external:
            cap = self.cap(gpu_type)
            held = self._ext_now.get(gpu_type, 0)
            usage = max(held, self._ext_future.get(gpu_type, 0))
            if usage + need > cap:
                message = cap_message(
                    gpu_type,
                    held,
                    usage - held,
                    cap,
                    self._fraction(gpu_type),
                    self._totals.get(gpu_type, 0),
                    need,
                )
                return LimitBlock(WaitReason.SELLABLE_CAP, message)
        return None

    def shortfall(self, job: PendingJob) -> Shortfall | None:
        """GPUs victims must release before `job` fits its limits once promised work is done.

        None if no release can ever be enough (an internal org without a quota for the type).
        """
        gpu_type, need = job.resources.gpu_type, job.resources.total_gpus
        org_gpus = 0
        if self._has_quota(job):
            quota = self._quotas.get((job.org, gpu_type))
            if quota is None:
                return None
            org_gpus = self._org_future.get((job.org, gpu_type), 0) + need - quota
        external_gpus = 0
        if job.tier.external:
            external_gpus = self._ext_future.get(gpu_type, 0) + need - self.cap(gpu_type)
        return Shortfall(org=job.org, org_gpus=org_gpus, external_gpus=external_gpus)

    def start(self, job: PendingJob) -> None:
        """Count a job that starts in this pass."""
        gpu_type, need = job.resources.gpu_type, job.resources.total_gpus
        self._add_now(job.org, gpu_type, job.tier.external, need)
        self._add_future(job.org, gpu_type, job.tier.external, need)

    def promise(self, job: PendingJob, victims: Iterable[RunningJob]) -> None:
        """Count a job waiting on preemption as held, and its new victims as gone."""
        gpu_type, need = job.resources.gpu_type, job.resources.total_gpus
        self._add_future(job.org, gpu_type, job.tier.external, need)
        for victim in victims:
            self._add_future(victim.org, victim.gpu_type, victim.tier.external, -victim.gpus)

    def cap(self, gpu_type: str) -> int:
        """GPUs of a type all external work together may hold."""
        return sellable_gpus(self._fraction(gpu_type), self._totals.get(gpu_type, 0))

    def _fraction(self, gpu_type: str) -> Decimal:
        return self._fractions.get(gpu_type, DEFAULT_SELLABLE_FRACTION)

    def _has_quota(self, job: PendingJob) -> bool:
        # Internal orgs may only use what their quota grants; external orgs are bounded by a
        # quota only when the operator set one (the sellable cap bounds them anyway).
        return job.org_kind is OrgKind.INTERNAL or (job.org, job.resources.gpu_type) in self._quotas

    def _add_now(self, org: str, gpu_type: str, external: bool, gpus: int) -> None:
        self._org_now[(org, gpu_type)] = self._org_now.get((org, gpu_type), 0) + gpus
        if external:
            self._ext_now[gpu_type] = self._ext_now.get(gpu_type, 0) + gpus

    def _add_future(self, org: str, gpu_type: str, external: bool, gpus: int) -> None:
        self._org_future[(org, gpu_type)] = self._org_future.get((org, gpu_type), 0) + gpus
        if external:
            self._ext_future[gpu_type] = self._ext_future.get(gpu_type, 0) + gpus
