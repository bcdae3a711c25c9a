"""The price book: effective-dated prices per GPU type × tier (× region), and lookups in it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.billing.intervals import require_aware, require_interval
from neocloud.domain.jobs import Tier


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """A price per GPU-hour of a GPU type × tier from effective_from on (region None: anywhere)."""

    gpu_type: str
    tier: Tier
    unit_price: Decimal
    currency: str
    effective_from: datetime
    region: str | None = None

    def __post_init__(self) -> None:
        # Stores hand tiers over as plain strings; keep the enum so rank and ordering work.
        object.__setattr__(self, "tier", Tier(self.tier))
        require_aware(self.effective_from, "effective_from")
        if not isinstance(self.unit_price, Decimal) or not self.unit_price.is_finite():
            raise ValueError(f"unit_price must be a finite Decimal, got {self.unit_price!r}")
        if self.unit_price < 0:
            raise ValueError(f"unit_price must be >= 0, got {self.unit_price}")


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
) -> PriceEntry | None:
    """The entry in force at an instant: the latest effective_from <= at.

    An entry for the region beats any region-less one, however recent the latter; among entries
    of equal standing and equal effective_from, the later one in `entries` wins (the price book
    is kept in the order prices were set).
    """
    require_aware(at, "at")
    regional: PriceEntry | None = None
    general: PriceEntry | None = None
    for entry in entries:
        if entry.gpu_type != gpu_type or entry.tier != tier or entry.effective_from > at:
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
) -> list[PriceSegment]:
    """Split [start, end) wherever the price in force changes; empty if start == end."""
    require_interval(start, end, "price interval")
    if start == end:
        return []
    relevant = [
        e
        for e in entries
        if e.gpu_type == gpu_type and e.tier == tier and e.region in (None, region)
    ]
    cuts = sorted({e.effective_from for e in relevant if start < e.effective_from < end})
    segments: list[PriceSegment] = []
    for seg_start, seg_end in zip([start, *cuts], [*cuts, end], strict=True):
        entry = price_at(relevant, gpu_type, tier, seg_start, region)
        if segments and segments[-1].entry == entry:
            # A change that does not apply here (e.g. a region-less price under a regional one)
            # leaves the price as it was: keep one segment.
            segments[-1] = PriceSegment(segments[-1].start, seg_end, entry)
        else:
            segments.append(PriceSegment(seg_start, seg_end, entry))
    return segments
