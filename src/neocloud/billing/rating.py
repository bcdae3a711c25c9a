"""Rating: usage × price book → exact line totals, and GPU-time invoices and statements.

`rate_usage` is the engine every billing document is made with (composition.py adds contracts,
discounts, minimums, adjustments and tax on top of it):

1. It keeps the org's usage in the window: spans deduplicated by id and clipped to it; events
   deduplicated by (org, id), the first occurrence winning, whose time lies in [start, end).
2. Reserved contracts cover reserved GPU time (contracts.cover_reserved): covered time is a
   line at price 0, one per contract; only the rest is priced from the book.
3. Usage is split into *pools*, the quantity tiers are counted against: one per meter × GPU
   type × tier × region × group-by values, i.e. the key a price is looked up with (plus the
   meter's groups, each tiered on its own as in Lago). Tiers therefore count per region, as
   AWS counts them, and within a pool the price in force depends on time alone.
4. Each pool is priced in time order. GPU time is cut where the price changes; events are
   ordered by (time, id). A sum meter contributes each event's value at its time, count 1 per
   event, unique_count 1 at the first occurrence of each distinct value, max the maximum at
   the first event that reached it. Usage of zero needs no price.
   - per_unit: each unit at the unit price in force when it was used.
   - graduated, package: a unit's position in the tiers is its cumulative position in the
     pool's quantity in time order; a stretch of usage at positions (c, c + q] costs what the
     charge in force when it was used asks for them: F(c + q) − F(c). With one price all
     period this is exactly F(total); after a price change, later units continue from where
     earlier ones left the tiers (a flat fee is paid once, by the usage that reaches its tier;
     a started package is paid by the usage that starts it).
   - volume: the tier is the one the pool's period total falls in; every unit costs that
     tier's unit price under the entry in force when it was used, and the tier's flat fee is
     paid once, under the last volume-priced entry used in the period.
   Inside one price segment every unit has the same price, so how GPU time is cut into spans
   never changes an amount.
5. Lines are one per meter × group × GPU type × tier × price (the unit price, or the charge
   when tiered); pools of different regions at an equal price share a line. A line's exact
   amount is summed in full precision and rounded once, half-up to the cent.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import NamedTuple

from neocloud.billing.charges import (
    Charge,
    ChargeModel,
    PriceTier,
    exact_arithmetic,
    scaled_charge_amount,
    volume_tier,
)
from neocloud.billing.contracts import ReservedContract, cover_reserved
from neocloud.billing.document import GPU_METER
from neocloud.billing.intervals import require_interval, seconds_between
from neocloud.billing.invoice import InvoiceKind
from neocloud.billing.meters import (
    Aggregation,
    Meter,
    MeterEvent,
    distinct_value,
    group_of,
    unique_events,
)
from neocloud.billing.pricebook import PriceEntry, price_segments
from neocloud.billing.usage import UsageSpan, clip, unique_spans
from neocloud.domain.jobs import Tier
from neocloud.domain.money import DEFAULT_CURRENCY, SECONDS_PER_HOUR, to_cents

UNIT_GPU_HOUR = "GPU-hour"
QUANTITY_QUANTUM = Decimal("0.000001")
# Costs hold from the beginning of time: a statement prices internal usage whenever it ran.
EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_LINE_PRECISION = 80
_DIVISION_PRECISION = 120
_ZERO = Decimal(0)
_ONE = Decimal(1)
_TINY = timedelta(microseconds=1)


class RatingError(ValueError):
    """Usage that cannot be priced; nothing is billed rather than something wrong."""


class MissingPrice(RatingError):
    """Usage at a moment when no price is in force for its meter × GPU type × tier × region."""

    def __init__(
        self,
        gpu_type: str,
        tier: Tier,
        at: datetime,
        region: str | None,
        currency: str,
        meter: str = GPU_METER,
    ) -> None:
        self.gpu_type, self.tier, self.at, self.region, self.currency, self.meter = (
            gpu_type,
            tier,
            at,
            region,
            currency,
            meter,
        )
        what = (
            f"{gpu_type} {tier}"
            if meter == GPU_METER
            else f"meter {meter} ({gpu_type or 'any GPU type'}, {tier})"
        )
        super().__init__(
            f"no {currency} price for {what} in region {region} in force at {at.isoformat()}"
        )


class MissingCost(RatingError):
    """Internal usage of a GPU type whose cost per GPU-hour is unknown."""

    def __init__(self, gpu_type: str) -> None:
        self.gpu_type = gpu_type
        super().__init__(f"no cost per GPU-hour known for GPU type {gpu_type}")


class UnknownMeter(RatingError):
    """An event of a meter that is not declared: it cannot be aggregated, so it is not billed."""

    def __init__(self, meter: str, event_id: str) -> None:
        self.meter, self.event_id = meter, event_id
        super().__init__(f"event {event_id}: meter {meter} is not declared")


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One line: GPU-hours of a GPU type × tier at one unit price, and its amount in cents."""

    description: str
    gpu_type: str
    tier: Tier
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RatedInvoice:
    """The rated lines of one org over one period; total is exactly the sum of line amounts."""

    org: str
    kind: InvoiceKind
    period_start: datetime
    period_end: datetime
    currency: str
    lines: list[RatedLine]
    total: Decimal


@dataclass(frozen=True, slots=True)
class LineKey:
    """What one usage line gathers: a meter × group × GPU type × tier at one price.

    `price` is the unit price of per-unit prices, or the charge of tiered/package ones. `ref`
    names the contract whose reserved GPUs covered the usage (then the price is 0).
    """

    meter: str
    gpu_type: str
    tier: Tier
    group: tuple[str, ...]
    price: Decimal | Charge
    ref: str | None = None

    @property
    def unit_price(self) -> Decimal | None:
        """The price of every unit, or None for a tiered or package charge."""
        return self.price if isinstance(self.price, Decimal) else None

    def sort_key(self) -> tuple[object, ...]:
        """GPU time first, then meters by name and group; by GPU type, tier rank, price."""
        price = (
            (0, self.price, "") if isinstance(self.price, Decimal) else (1, _ZERO, repr(self.price))
        )
        return (
            self.meter != GPU_METER,
            self.meter,
            self.group,
            self.gpu_type,
            self.tier.rank,
            self.ref is None,
            self.ref or "",
            price,
        )


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """The exact sums behind one usage line, before its one rounding.

    `quantity` is in counted units (GPU-seconds, or units of the meter), `scaled_amount` is the
    exact amount × `per`, the counted units per priced unit (3600 for GPU time, else 1).
    """

    quantity: Decimal
    scaled_amount: Decimal
    per: Decimal
    start: datetime
    end: datetime

    @property
    def priced_quantity(self) -> Decimal:
        """The quantity in priced units (GPU-hours, units of the meter), to 6 decimals."""
        return priced_quantity(self.quantity, self.per)

    @property
    def amount(self) -> Decimal:
        """The line amount: the exact amount rounded once, half-up to the cent."""
        return scaled_to_cents(self.scaled_amount, self.per)


def priced_quantity(quantity: Decimal, per: Decimal) -> Decimal:
    """A counted quantity in priced units, to 6 decimals (half-up)."""
    return (quantity / per).quantize(QUANTITY_QUANTUM, rounding=ROUND_HALF_UP)


def scaled_to_cents(scaled_amount: Decimal, per: Decimal) -> Decimal:
    """scaled_amount / per rounded once, half-up to the cent."""
    # One division, wide enough that it cannot round across a half cent before to_cents does.
    with localcontext() as ctx:
        ctx.prec = _DIVISION_PRECISION
        exact = scaled_amount / per
    return to_cents(exact)


def own_spans(
    org: str, spans: Iterable[UsageSpan], start: datetime, end: datetime
) -> Iterator[UsageSpan]:
    """The org's spans, each id once, clipped to [start, end)."""
    for span in unique_spans(s for s in spans if s.org == org):
        clipped = clip(span, start, end)
        if clipped is not None:
            yield clipped


def own_events(
    org: str, events: Iterable[MeterEvent], start: datetime, end: datetime
) -> list[MeterEvent]:
    """The org's events, each id once (first occurrence wins), whose time is in [start, end)."""
    chosen = unique_events(e for e in events if e.org == org)
    return [e for e in chosen if start <= e.time < end]


def rate_usage(
    org: str,
    period_start: datetime,
    period_end: datetime,
    spans: Iterable[UsageSpan],
    events: Iterable[MeterEvent],
    meters: Mapping[str, Meter],
    prices: Sequence[PriceEntry],
    currency: str,
    *,
    default_tier: Tier = Tier.ON_DEMAND,
    contracts: Sequence[ReservedContract] = (),
) -> dict[LineKey, UsageTotal]:
    """Exact totals of every usage line of an org in [period_start, period_end), in line order.

    Prices in other currencies do not count. Usage at a moment with no price raises
    MissingPrice (the earliest such moment), an event of an undeclared meter UnknownMeter.
    Events without a `tier` dimension are priced at default_tier.
    """
    require_interval(period_start, period_end, "billing period")
    book = [p for p in prices if p.currency == currency]
    tally = _Tally()
    missing: list[MissingPrice] = []
    covered, rest = cover_reserved(
        own_spans(org, spans, period_start, period_end), [c for c in contracts if c.org == org]
    )
    for cover in covered:
        contract = cover.contract
        key = LineKey(GPU_METER, contract.gpu_type, Tier.RESERVED, (), _ZERO, contract.id)
        tally.add(key, cover.gpu_seconds, _ZERO, SECONDS_PER_HOUR, cover.start, cover.end)
    pools: dict[_Pool, list[_Use]] = defaultdict(list)
    _gpu_uses(rest, book, currency, pools, missing)
    window = own_events(org, events, period_start, period_end)
    _event_uses(window, meters, book, currency, default_tier, pools, missing)
    if missing:
        raise min(missing, key=lambda m: (m.at, str(m)))
    for pool, uses in pools.items():
        _price_pool(pool, uses, tally)
    return tally.totals()


def rate_invoice(
    org: str,
    period_start: datetime,
    period_end: datetime,
    spans: Iterable[UsageSpan],
    prices: Sequence[PriceEntry],
    currency: str = DEFAULT_CURRENCY,
) -> RatedInvoice:
    """Price an org's GPU usage in [period_start, period_end) with the price book, in one currency.

    Spans of other orgs are ignored. Usage is split wherever the price in force changes; usage
    at a moment with no price in the invoice currency raises MissingPrice, never bills zero.
    GPU time priced with a tiered or package charge has no single unit price to show here and
    raises RatingError: composition.compose_invoice bills it.
    """
    totals = rate_usage(org, period_start, period_end, spans, (), {}, prices, currency)
    lines = [_rated_line(key, total, "GPU time") for key, total in totals.items()]
    return _invoice(org, InvoiceKind.INVOICE, period_start, period_end, currency, lines)


def rate_statement(
    org: str,
    period_start: datetime,
    period_end: datetime,
    spans: Iterable[UsageSpan],
    unit_cost: Mapping[str, Decimal],
    currency: str = DEFAULT_CURRENCY,
) -> RatedInvoice:
    """Show an internal org its usage at cost: unit_cost maps GPU type → cost per GPU-hour.

    Same line shape as an invoice. A GPU type missing from unit_cost raises MissingCost.
    """
    require_interval(period_start, period_end, "billing period")
    spans = list(spans)
    require_costs(own_spans(org, spans, period_start, period_end), unit_cost)
    book = cost_book(unit_cost, currency)
    totals = rate_usage(
        org, period_start, period_end, spans, (), {}, book, currency, default_tier=Tier.INTERNAL
    )
    lines = [_rated_line(key, total, "GPU time at cost") for key, total in totals.items()]
    return _invoice(org, InvoiceKind.STATEMENT, period_start, period_end, currency, lines)


def require_costs(spans: Iterable[UsageSpan], unit_cost: Mapping[str, Decimal]) -> None:
    """Raise MissingCost for the first span whose GPU type has no known cost."""
    for span in spans:
        if span.gpu_type not in unit_cost:
            raise MissingCost(span.gpu_type)


def cost_book(unit_cost: Mapping[str, Decimal], currency: str) -> list[PriceEntry]:
    """GPU-hour costs as a price book: each GPU type's cost, every tier, for all time."""
    return [
        PriceEntry(gpu_type, tier, cost, currency, EPOCH)
        for gpu_type, cost in sorted(unit_cost.items())
        for tier in Tier
    ]


def line_amount(gpu_seconds: Decimal, unit_price: Decimal) -> Decimal:
    """The amount of a line: exact GPU-seconds × price per GPU-hour, rounded once to the cent."""
    # Wide enough that the product is exact and the division cannot round across a half cent
    # before to_cents does: the line is rounded once, as the rule says, not twice.
    with localcontext() as ctx:
        ctx.prec = _LINE_PRECISION
        exact = gpu_seconds * unit_price / SECONDS_PER_HOUR
    return to_cents(exact)


# -- the engine ---------------------------------------------------------------------------------


class _Pool(NamedTuple):
    meter: str
    gpu_type: str
    tier: Tier
    region: str | None
    group: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Use:
    """A stretch of a pool's quantity used at one price: `at` orders it in the pool."""

    at: datetime
    entry: PriceEntry
    quantity: Decimal
    start: datetime
    end: datetime


class _Tally:
    def __init__(self) -> None:
        self._lines: dict[LineKey, UsageTotal] = {}

    def add(
        self,
        key: LineKey,
        quantity: Decimal,
        scaled: Decimal,
        per: Decimal,
        start: datetime,
        end: datetime,
    ) -> None:
        seen = self._lines.get(key)
        if seen is not None:
            with exact_arithmetic():
                quantity, scaled = seen.quantity + quantity, seen.scaled_amount + scaled
            start, end = min(seen.start, start), max(seen.end, end)
        self._lines[key] = UsageTotal(quantity, scaled, per, start, end)

    def totals(self) -> dict[LineKey, UsageTotal]:
        return {key: self._lines[key] for key in sorted(self._lines, key=LineKey.sort_key)}


def _gpu_uses(
    spans: Iterable[UsageSpan],
    book: Sequence[PriceEntry],
    currency: str,
    pools: dict[_Pool, list[_Use]],
    missing: list[MissingPrice],
) -> None:
    by_pool: dict[_Pool, list[UsageSpan]] = defaultdict(list)
    for span in spans:
        by_pool[_Pool(GPU_METER, span.gpu_type, span.tier, span.region, ())].append(span)
    for pool, members in by_pool.items():
        lo, hi = min(s.start for s in members), max(s.end for s in members)
        segments = price_segments(book, pool.gpu_type, pool.tier, lo, hi, pool.region)
        starts = [seg.start for seg in segments]
        seconds: dict[int, Decimal] = defaultdict(Decimal)
        bounds: dict[int, tuple[datetime, datetime]] = {}
        for span in members:
            index = max(bisect_right(starts, span.start) - 1, 0)
            with exact_arithmetic():
                for i, seg in enumerate(segments[index:], start=index):
                    if seg.start >= span.end:
                        break
                    a, b = max(seg.start, span.start), min(seg.end, span.end)
                    if a >= b:
                        continue
                    if seg.entry is None:
                        missing.append(
                            MissingPrice(pool.gpu_type, pool.tier, a, pool.region, currency)
                        )
                        continue
                    seconds[i] += span.gpus * seconds_between(a, b)
                    first, last = bounds.get(i, (a, b))
                    bounds[i] = (min(first, a), max(last, b))
        for i in sorted(seconds):
            entry = segments[i].entry
            assert entry is not None
            pools[pool].append(_Use(segments[i].start, entry, seconds[i], *bounds[i]))


def _event_uses(
    events: list[MeterEvent],
    meters: Mapping[str, Meter],
    book: Sequence[PriceEntry],
    currency: str,
    default_tier: Tier,
    pools: dict[_Pool, list[_Use]],
    missing: list[MissingPrice],
) -> None:
    by_pool: dict[_Pool, list[MeterEvent]] = defaultdict(list)
    for event in events:
        meter = _meter_of(event, meters)
        dims = event.dimensions
        tier = _tier_of(event, default_tier)
        pool = _Pool(meter.name, dims.get("gpu_type", ""), tier, dims.get("region"), ())
        by_pool[pool._replace(group=group_of(meter, event))].append(event)
    for pool, members in by_pool.items():
        members.sort(key=lambda e: (e.time, e.id))
        used = [(e, q) for e, q in _contributions(meters[pool.meter], members) if q > 0]
        if not used:
            continue
        lo, hi = used[0][0].time, max(e.time for e, _ in used) + _TINY
        segments = price_segments(
            book, pool.gpu_type, pool.tier, lo, hi, pool.region, meter=pool.meter
        )
        starts = [s.start for s in segments]
        for event, quantity in used:
            entry = segments[bisect_right(starts, event.time) - 1].entry
            if entry is None:
                missing.append(
                    MissingPrice(
                        pool.gpu_type, pool.tier, event.time, pool.region, currency, pool.meter
                    )
                )
                continue
            pools[pool].append(_Use(event.time, entry, quantity, event.time, event.time))


def _meter_of(event: MeterEvent, meters: Mapping[str, Meter]) -> Meter:
    if event.meter == GPU_METER:
        raise ValueError(
            f"event {event.id}: {GPU_METER} is measured from allocations, not reported as events"
        )
    meter = meters.get(event.meter)
    if meter is None:
        raise UnknownMeter(event.meter, event.id)
    return meter


def _tier_of(event: MeterEvent, default: Tier) -> Tier:
    # MeterEvent has checked the value (meters.require_dimensions): it names a tier.
    value = event.dimensions.get("tier")
    return default if value is None else Tier(value)


def _contributions(meter: Meter, events: list[MeterEvent]) -> Iterator[tuple[MeterEvent, Decimal]]:
    # Events come in (time, id) order: what each one adds to the aggregate, when it adds it.
    if meter.aggregation is Aggregation.SUM:
        yield from ((e, e.value) for e in events)
    elif meter.aggregation is Aggregation.COUNT:
        yield from ((e, _ONE) for e in events)
    elif meter.aggregation is Aggregation.UNIQUE_COUNT:
        seen: set[str] = set()
        for event in events:
            value = distinct_value(meter, event)
            if value not in seen:
                seen.add(value)
                yield event, _ONE
    elif events:
        top = max(e.value for e in events)
        yield next(e for e in events if e.value == top), top


def _price_pool(pool: _Pool, uses: list[_Use], tally: _Tally) -> None:
    per = SECONDS_PER_HOUR if pool.meter == GPU_METER else _ONE
    uses = _runs(sorted(uses, key=lambda u: u.at))
    with exact_arithmetic():
        total = sum((u.quantity for u in uses), _ZERO)
        position = _ZERO
        last_volume: tuple[_Use, PriceTier] | None = None
        for use in uses:
            charge = use.entry.effective_charge
            if charge.model is ChargeModel.VOLUME:
                tier = volume_tier(charge, total, per)
                assert tier is not None  # total > 0: every use has a positive quantity
                scaled = use.quantity * tier.unit_price
                last_volume = (use, tier)
            else:
                after = scaled_charge_amount(charge, position + use.quantity, per)
                scaled = after - scaled_charge_amount(charge, position, per)
            position += use.quantity
            tally.add(_line_key(pool, use.entry), use.quantity, scaled, per, use.start, use.end)
        if last_volume is not None:
            use, tier = last_volume
            flat = tier.flat_fee * per
            tally.add(_line_key(pool, use.entry), _ZERO, flat, per, use.start, use.end)


def _runs(uses: list[_Use]) -> list[_Use]:
    # Consecutive uses at one price occupy consecutive positions under one charge, and
    # F(c + q1 + q2) − F(c) is the sum of their two marginal amounts: price them as one.
    runs: list[_Use] = []
    with exact_arithmetic():
        for use in uses:
            if runs and runs[-1].entry is use.entry:
                last = runs[-1]
                start, end = min(last.start, use.start), max(last.end, use.end)
                runs[-1] = _Use(last.at, last.entry, last.quantity + use.quantity, start, end)
            else:
                runs.append(use)
    return runs


def _line_key(pool: _Pool, entry: PriceEntry) -> LineKey:
    price: Decimal | Charge = entry.unit_price if entry.per_unit else entry.effective_charge
    return LineKey(pool.meter, pool.gpu_type, pool.tier, pool.group, price)


def _rated_line(key: LineKey, total: UsageTotal, what: str) -> RatedLine:
    if key.unit_price is None:
        assert isinstance(key.price, Charge)
        raise RatingError(
            f"{key.gpu_type} {key.tier} GPU time is priced with a {key.price.model} charge;"
            " a rated invoice shows one unit price per line: compose the invoice instead"
        )
    return RatedLine(
        description=f"{key.gpu_type} {key.tier} {what}",
        gpu_type=key.gpu_type,
        tier=key.tier,
        quantity=total.priced_quantity,
        unit=UNIT_GPU_HOUR,
        unit_price=key.unit_price,
        amount=total.amount,
    )


def _invoice(
    org: str,
    kind: InvoiceKind,
    start: datetime,
    end: datetime,
    currency: str,
    lines: list[RatedLine],
) -> RatedInvoice:
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return RatedInvoice(org, kind, start, end, currency, lines, total)
