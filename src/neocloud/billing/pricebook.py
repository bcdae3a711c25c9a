"""The price book: effective-dated prices per meter × GPU type × tier (× region), and lookups.

A price is keyed by meter × gpu_type × tier × region (region None: anywhere) and is in force
from its effective_from until the next price for the same key:

- GPU time (`meter` = GPU_METER, the default) is priced per GPU-hour of a real GPU type, as it
  always was: gpu_type must name one.
- Any other meter is priced per unit of that meter. Its events choose the price through their
  dimensions: `gpu_type` (absent: "", a price for the meter whatever the hardware), `tier`
  (absent: on_demand on an invoice, internal on a statement) and `region` (absent: only
  region-less prices apply). So a token meter is priced with gpu_type "" unless its events say
  which GPU served them and the book prices that GPU type separately.

`charge` None means per_unit at unit_price. With a charge (graduated, volume, package, see
charges.py) the charge decides every amount and `unit_price` is only what a price list shows
(e.g. the first tier's price); a per_unit charge must agree with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.billing.charges import Charge, ChargeModel
from neocloud.billing.document import GPU_METER
from neocloud.billing.intervals import require_aware, require_interval
from neocloud.billing.meters import require_meter_name
from neocloud.domain.jobs import Tier


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """A price of a meter × GPU type × tier from effective_from on (region None: anywhere).

    For GPU time (the default meter) unit_price is per GPU-hour; for another meter, per unit
    of the meter. `charge` None: per_unit at unit_price.
    """

    gpu_type: str
    tier: Tier
    unit_price: Decimal
    currency: str
    effective_from: datetime
    region: str | None = None
    meter: str = GPU_METER
    charge: Charge | None = None

    def __post_init__(self) -> None:
        # Stores hand tiers over as plain strings; keep the enum so rank and ordering work.
        object.__setattr__(self, "tier", Tier(self.tier))
        require_aware(self.effective_from, "effective_from")
        if not isinstance(self.unit_price, Decimal) or not self.unit_price.is_finite():
            raise ValueError(f"unit_price must be a finite Decimal, got {self.unit_price!r}")
        if self.unit_price < 0:
            raise ValueError(f"unit_price must be >= 0, got {self.unit_price}")
        require_meter_name(self.meter, "meter")
        if not isinstance(self.gpu_type, str):
            raise ValueError(f"gpu_type must be a string, got {self.gpu_type!r}")
        if self.meter == GPU_METER and not self.gpu_type:
            raise ValueError(f"gpu_type is required for a price of {GPU_METER}")
        if self.charge is not None:
            if not isinstance(self.charge, Charge):
                raise ValueError(f"charge must be a Charge or None, got {self.charge!r}")
            if self.charge.model is ChargeModel.PER_UNIT and self.charge.unit_price != (
                self.unit_price
            ):
                raise ValueError(
                    f"charge: a per_unit charge at {self.charge.unit_price} contradicts"
                    f" unit_price {self.unit_price}"
                )

    @property
    def effective_charge(self) -> Charge:
        """The charge that prices usage: the explicit one, or per_unit at unit_price."""
        return self.charge if self.charge is not None else Charge.per_unit(self.unit_price)

    @property
    def per_unit(self) -> bool:
        """True when every unit costs unit_price (no tiers, no packages)."""
        return self.charge is None or self.charge.model is ChargeModel.PER_UNIT


@dataclass(frozen=True, slots=True)
class PriceSegment:
    """A stretch of time [start, end) over which one price (or none) is in force."""

    start: datetime
    end: datetime
    entry: PriceEntry | None


def price_at(
    entries: Iterable[PriceEntry],
    gpu_type: str,
    tier: Tier,
    at: datetime,
    region: str | None = None,
    meter: str = GPU_METER,
) -> PriceEntry | None:
    """The entry of a meter in force at an instant: the latest effective_from <= at.

    An entry for the region beats any region-less one, however recent the latter; among entries
    of equal standing and equal effective_from, the later one in `entries` wins (the price book
    is kept in the order prices were set).
    """
    require_aware(at, "at")
    regional: PriceEntry | None = None
    general: PriceEntry | None = None
    for entry in entries:
        if (
            entry.meter != meter
            or entry.gpu_type != gpu_type
            or entry.tier != tier
            or entry.effective_from > at
        ):
            continue
        if entry.region is None:
            if general is None or entry.effective_from >= general.effective_from:
                general = entry
        elif entry.region == region and (
            regional is None or entry.effective_from >= regional.effective_from
        ):
            regional = entry
    return regional if regional is not None else general


def price_segments(
    entries: Sequence[PriceEntry],
    gpu_type: str,
    tier: Tier,
    start: datetime,
    end: datetime,
    region: str | None = None,
    meter: str = GPU_METER,
) -> list[PriceSegment]:
    """Split [start, end) wherever the meter's price in force changes; empty if start == end."""
    require_interval(start, end, "price interval")
    if start == end:
        return []
    relevant = [
        e
        for e in entries
        if e.meter == meter
        and e.gpu_type == gpu_type
        and e.tier == tier
        and e.region in (None, region)
    ]
    cuts = sorted({e.effective_from for e in relevant if start < e.effective_from < end})
    segments: list[PriceSegment] = []
    for seg_start, seg_end in zip([start, *cuts], [*cuts, end], strict=True):
        entry = price_at(relevant, gpu_type, tier, seg_start, region, meter)
        if segments and segments[-1].entry == entry:
            # A change that does not apply here (e.g. a region-less price under a regional one)
            # leaves the price as it was: keep one segment.
            segments[-1] = PriceSegment(segments[-1].start, seg_end, entry)
        else:
            segments.append(PriceSegment(seg_start, seg_end, entry))
    return segments
