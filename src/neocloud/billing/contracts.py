"""Reserved contracts, billed take-or-pay: whole days of the term, and the usage they cover.

**Billing.** An org with a contract pays gpus × unit_price × 24 h for every UTC calendar day
its term touches, used or not. A day counts when the term covers any part of it: a term that
starts at 15:00 pays its first day in full, one that ends at 06:00 pays its last day in full,
and one that ends exactly at midnight does not pay the day that starts then (the end is
exclusive). This is the usual rule of subscription billing (Lago, Stripe: the day of a
start or an end is billed whole), and it keeps the arithmetic in whole days.

A day belongs to the billing period that contains its first instant (its midnight), so
consecutive periods that tile time bill every day exactly once, whatever their bounds.

**Usage.** Reserved GPU time of the contract's org and GPU type, while the term runs (to the
instant, not the day), is covered by the contract up to its GPUs and shown at price 0: the
contract line has paid for it. Where several contracts run at once, the earliest (then the
smallest id) is filled first. Reserved usage above the contracted GPUs (the scheduler should
never allow it) is left to be rated from the price book at the reserved price; if several
regions are in use at that moment, contracts cover regions in name order and the excess falls
on the last ones.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

from neocloud.billing.charges import exact_arithmetic
from neocloud.billing.document import GPU_METER, DocumentLine, LineKind
from neocloud.billing.intervals import require_interval, seconds_between, utc
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.money import to_cents

UNIT_GPU_HOUR = "GPU-hour"
HOURS_PER_DAY = 24
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class ReservedContract:
    """N GPUs of a type reserved by an org over [start, end) at a price per GPU-hour."""

    id: str
    org: str
    gpu_type: str
    gpus: int
    start: datetime
    end: datetime
    unit_price: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"contract id must be a non-empty string, got {self.id!r}")
        for name in ("org", "gpu_type"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"contract {self.id}: {name} must be a non-empty string")
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 1:
            raise ValueError(f"contract {self.id}: gpus must be an integer >= 1, got {self.gpus}")
        require_interval(self.start, self.end, f"contract {self.id} term")
        if self.start == self.end:
            raise ValueError(f"contract {self.id}: the term is empty (start == end)")
        price = self.unit_price
        if isinstance(price, bool) or not isinstance(price, Decimal) or not price.is_finite():
            raise ValueError(f"contract {self.id}: unit_price must be a finite Decimal")
        if price < 0:
            raise ValueError(f"contract {self.id}: unit_price must be >= 0, got {price}")
        if not isinstance(self.currency, str) or not _CURRENCY.match(self.currency):
            raise ValueError(
                f"contract {self.id}: currency must be an ISO code like USD, got {self.currency!r}"
            )


@dataclass(frozen=True, slots=True)
class Coverage:
    """Reserved GPU time one contract covered, and when (the span of the covered usage)."""

    contract: ReservedContract
    gpu_seconds: Decimal
    start: datetime
    end: datetime


def billed_days(
    contract: ReservedContract, period_start: datetime, period_end: datetime
) -> tuple[date, int] | None:
    """The first day of the term billed in the period and how many; None if there are none."""
    require_interval(period_start, period_end, "billing period")
    first_term_day = utc(contract.start).date()
    last_term_day = _day_before_end(contract.end)
    first_day = max(first_term_day, _first_midnight_from(period_start))
    last_day = min(last_term_day, _day_before_end(period_end))
    if last_day < first_day:
        return None
    return first_day, (last_day - first_day).days + 1


def contract_lines(
    contract: ReservedContract, period_start: datetime, period_end: datetime
) -> list[DocumentLine]:
    """The contract's take-or-pay line for the days of its term billed in the period, if any."""
    days = billed_days(contract, period_start, period_end)
    if days is None:
        return []
    first_day, count = days
    with exact_arithmetic():
        quantity = Decimal(contract.gpus * HOURS_PER_DAY * count)
        exact = quantity * contract.unit_price
    return [
        DocumentLine(
            kind=LineKind.CONTRACT,
            description=(
                f"{contract.gpu_type} reserved contract {contract.id}:"
                f" {_counted(contract.gpus, 'GPU')} × {_counted(count, 'day')}"
            ),
            quantity=quantity,
            unit=UNIT_GPU_HOUR,
            unit_price=contract.unit_price,
            amount=to_cents(exact),
            service_start=_midnight(first_day),
            service_end=_midnight(first_day + timedelta(days=count)),
            meter=GPU_METER,
            gpu_type=contract.gpu_type,
            tier=Tier.RESERVED,
            ref=contract.id,
        )
    ]


def cover_reserved(
    spans: Iterable[UsageSpan], contracts: Sequence[ReservedContract]
) -> tuple[list[Coverage], list[UsageSpan]]:
    """Split usage into what contracts cover and what is left to rate from the price book.

    Spans are taken as they are (deduplicated and clipped by the caller). Only reserved spans
    of a contract's org and GPU type can be covered; every other span is returned unchanged.
    """
    terms: dict[tuple[str, str], list[ReservedContract]] = defaultdict(list)
    for contract in sorted(contracts, key=lambda c: (c.start, c.id)):
        terms[(contract.org, contract.gpu_type)].append(contract)
    rest: list[UsageSpan] = []
    reserved: dict[tuple[str, str], list[UsageSpan]] = defaultdict(list)
    for span in spans:
        key = (span.org, span.gpu_type)
        if span.tier is Tier.RESERVED and key in terms:
            reserved[key].append(span)
        else:
            rest.append(span)
    covered: list[Coverage] = []
    for key in sorted(reserved):
        group_covered, excess = _sweep(reserved[key], terms[key])
        covered.extend(group_covered)
        rest.extend(excess)
    return covered, rest


def _sweep(
    spans: list[UsageSpan], contracts: list[ReservedContract]
) -> tuple[list[Coverage], list[UsageSpan]]:
    # Between two consecutive instants where a span or a term starts or ends, the GPUs in use
    # per region and the contracts in force are constant: cover, then carry the excess.
    lo, hi = min(s.start for s in spans), max(s.end for s in spans)
    instants = {s.start for s in spans} | {s.end for s in spans}
    instants |= {t for c in contracts for t in (c.start, c.end) if lo < t < hi}
    changes: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for span in spans:
        changes[span.start][span.region] += span.gpus
        changes[span.end][span.region] -= span.gpus
    in_use: dict[str, int] = defaultdict(int)
    seconds: dict[str, Decimal] = defaultdict(Decimal)
    bounds: dict[str, tuple[datetime, datetime]] = {}
    excess: list[UsageSpan] = []
    with exact_arithmetic():
        for a, b in pairwise(sorted(instants)):
            for region, delta in changes.get(a, {}).items():
                in_use[region] += delta
            left = sum(in_use.values())
            length = seconds_between(a, b)
            for contract in contracts:
                if left > 0 and contract.start <= a < contract.end:
                    take = min(contract.gpus, left)
                    left -= take
                    seconds[contract.id] += take * length
                    bounds[contract.id] = (bounds.get(contract.id, (a, b))[0], b)
            cover = sum(in_use.values()) - left
            for region in sorted(in_use):
                covered_here = min(in_use[region], cover)
                cover -= covered_here
                if in_use[region] > covered_here:
                    excess.append(_excess(spans[0], region, in_use[region] - covered_here, a, b))
    covered = [Coverage(c, seconds[c.id], *bounds[c.id]) for c in contracts if c.id in bounds]
    return covered, excess


def _excess(model: UsageSpan, region: str, gpus: int, start: datetime, end: datetime) -> UsageSpan:
    return UsageSpan(
        f"{model.gpu_type}/{region}/{start.isoformat()}/beyond-contracts",
        model.org,
        None,
        "",
        model.gpu_type,
        Tier.RESERVED,
        region,
        gpus,
        start,
        end,
    )


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _first_midnight_from(instant: datetime) -> date:
    moment = utc(instant)
    day = moment.date()
    return day if moment == _midnight(day) else day + timedelta(days=1)


def _day_before_end(end: datetime) -> date:
    # The last day an exclusive end touches: the day before it if the end falls on midnight.
    moment = utc(end)
    day = moment.date()
    return day - timedelta(days=1) if moment == _midnight(day) else day
