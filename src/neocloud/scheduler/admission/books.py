"""Holdings counted one way (now, or in the future): per org, per cohort, per external tier.

`contracted` and `unused` keep, per GPU type, Σ_org max(contract, reserved held) and
Σ_org max(0, contract − reserved held), so what counts against the sellable cap is O(1):
    counted = on-demand + contracted + max(0, spot − unused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind


@dataclass(slots=True)
class Book:
    """GPUs held, by org and GPU type, by internal orgs, and by external tier."""

    contracts: Mapping[tuple[str, str], int]
    org: dict[tuple[str, str], int] = field(default_factory=dict)
    internal: dict[str, int] = field(default_factory=dict)
    reserved: dict[tuple[str, str], int] = field(default_factory=dict)
    on_demand: dict[str, int] = field(default_factory=dict)
    spot: dict[str, int] = field(default_factory=dict)
    contracted: dict[str, int] = field(default_factory=dict)
    unused: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for (_, gpu_type), gpus in self.contracts.items():
            self.contracted[gpu_type] = self.contracted.get(gpu_type, 0) + gpus
            self.unused[gpu_type] = self.unused.get(gpu_type, 0) + gpus

    def add(self, org: str, kind: OrgKind, tier: Tier, gpu_type: str, gpus: int) -> None:
        """Count `gpus` more (negative: fewer) held by a job of this org and tier."""
        key = (org, gpu_type)
        self.org[key] = self.org.get(key, 0) + gpus
        if kind is OrgKind.INTERNAL:
            self.internal[gpu_type] = self.internal.get(gpu_type, 0) + gpus
        if tier is Tier.RESERVED:
            delta_contracted, delta_unused = self.reserved_delta(org, gpu_type, gpus)
            self.contracted[gpu_type] = self.contracted.get(gpu_type, 0) + delta_contracted
            self.unused[gpu_type] = self.unused.get(gpu_type, 0) + delta_unused
            self.reserved[key] = self.reserved.get(key, 0) + gpus
        elif tier is Tier.ON_DEMAND:
            self.on_demand[gpu_type] = self.on_demand.get(gpu_type, 0) + gpus
        elif tier is Tier.SPOT:
            self.spot[gpu_type] = self.spot.get(gpu_type, 0) + gpus

    def reserved_delta(self, org: str, gpu_type: str, gpus: int) -> tuple[int, int]:
        """How `contracted` and `unused` move if the org's reserved work holds `gpus` more."""
        contract = self.contracts.get((org, gpu_type), 0)
        held = self.reserved.get((org, gpu_type), 0)
        after = held + gpus
        return (
            max(contract, after) - max(contract, held),
            max(0, contract - after) - max(0, contract - held),
        )

    def counted(self, gpu_type: str, tier: Tier, org: str, gpus: int) -> tuple[int, int]:
        """What counts against the cap: as held, and with `gpus` more of `tier` for `org`."""
        on_demand = self.on_demand.get(gpu_type, 0)
        spot = self.spot.get(gpu_type, 0)
        contracted, unused = self.contracted.get(gpu_type, 0), self.unused.get(gpu_type, 0)
        before = on_demand + contracted + max(0, spot - unused)
        if tier is Tier.ON_DEMAND:
            on_demand += gpus
        elif tier is Tier.SPOT:
            spot += gpus
        elif tier is Tier.RESERVED:
            delta_contracted, delta_unused = self.reserved_delta(org, gpu_type, gpus)
            contracted += delta_contracted
            unused += delta_unused
        return before, on_demand + contracted + max(0, spot - unused)

    def against_cap(self, gpu_type: str) -> int:
        """What counts against the sellable cap: on-demand + contracted + spot beyond the
        contract room reserved work leaves unused."""
        spot, unused = self.spot.get(gpu_type, 0), self.unused.get(gpu_type, 0)
        return self.committed(gpu_type) + max(0, spot - unused)

    def committed(self, gpu_type: str) -> int:
        """On-demand GPUs held plus reserved contracts (or what reserved work holds, if more)."""
        return self.on_demand.get(gpu_type, 0) + self.contracted.get(gpu_type, 0)

    def spot_room(self, gpu_type: str, tier: Tier, org: str, gpus: int, cap: int) -> int | None:
        """Spot GPUs that may stay if a reserved or on-demand job of `gpus` starts, or None if
        no release of spot work is enough (reserved contracts and on-demand alone exceed it)."""
        on_demand = self.on_demand.get(gpu_type, 0)
        contracted, unused = self.contracted.get(gpu_type, 0), self.unused.get(gpu_type, 0)
        if tier is Tier.ON_DEMAND:
            on_demand += gpus
        else:
            delta_contracted, delta_unused = self.reserved_delta(org, gpu_type, gpus)
            contracted += delta_contracted
            unused += delta_unused
        if on_demand + contracted > cap:
            return None
        return cap - on_demand - contracted + unused

    def external(self, gpu_type: str) -> int:
        """GPUs external work physically holds."""
        reserved = sum(g for (_, t), g in self.reserved.items() if t == gpu_type)
        return self.on_demand.get(gpu_type, 0) + self.spot.get(gpu_type, 0) + reserved
