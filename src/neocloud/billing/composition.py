"""Composition: an org's billing document for a period, every line in a fixed, documented order.

An invoice (external org, at price) carries, in this order:

1. **usage** lines (rating.rate_usage): GPU time by GPU type, tier (highest first), time
   covered by a contract (price 0, one line per contract) before priced time, then price;
   then every other meter by name, group, GPU type, tier and price.
2. **contract** lines: the take-or-pay charge of each reserved contract for the days of its
   term billed in the period (contracts.py), by term start then id.
3. a **discount** line: `discount_percent` of the usage lines above. Contracts are not
   discounted: their rate is already the negotiated one.
4. a **minimum commitment** line: when usage + contracts − discount is below the period's
   `minimum_spend`, the difference. Adjustments do not count towards it (they belong to
   earlier periods, whose minimums were settled on their own invoices).
5. **adjustment** lines, one group per earlier finalized invoice (by its period, then id):
   usage of that period reported after it was finalized, rated at the prices in force at its
   own time, each line `ref` = that invoice's id and served over the late usage's own time;
   each group followed by its discount line (late usage is usage: it gets the discount it
   would have had, and the line says which invoice it corrects).
6. a **tax** line, last: `tax_rate` × the subtotal of all lines above, rounded once; none when
   the rate is 0.

Every line is rounded once, half-up to the cent, and the total is exactly the sum of the lines.
Usage with no price raises rating.MissingPrice; nothing is ever billed at zero by default.

**Late usage and tiers.** An adjustment is the difference the late usage makes to its period's
rating: rate(billed + late) − rate(billed), line by line, from exact amounts. For per-unit
prices this is simply the late usage at its prices; for tiers and packages it prices late units
at the positions they would have had (LateUsage.billed_* is what the finalized invoice rated).
A volume tier reached late can make an adjustment negative: a credit.

A statement (internal org, showback) carries usage lines only (GPU time at cost, other meters at
the book's internal prices) and late-usage adjustments: no contracts, discount, minimum or tax.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.billing.charges import Charge, exact_arithmetic
from neocloud.billing.contracts import ReservedContract, contract_lines
from neocloud.billing.document import GPU_METER, BillingDocument, DocumentLine, LineKind
from neocloud.billing.intervals import require_interval
from neocloud.billing.invoice import InvoiceKind
from neocloud.billing.meters import Meter, MeterEvent
from neocloud.billing.pricebook import PriceEntry
from neocloud.billing.rating import (
    EPOCH,
    UNIT_GPU_HOUR,
    LineKey,
    UsageTotal,
    cost_book,
    own_events,
    own_spans,
    priced_quantity,
    rate_usage,
    require_costs,
    scaled_to_cents,
)
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.money import CENT, DEFAULT_CURRENCY, to_cents

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
UNIT_PERIOD = "period"
_NOTHING = UsageTotal(_ZERO, _ZERO, Decimal(1), EPOCH, EPOCH)


def _require_rate(value: object, name: str, upper: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    if not 0 <= value <= upper:
        raise ValueError(f"{name} must be between 0 and {upper}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class OrgTerms:
    """An org's commercial terms for a period, in the document's currency.

    discount_percent: 0-100, off usage lines; minimum_spend: whole cents per period (no
    proration: pass a smaller minimum for a partial period); tax_rate: 0-1, e.g. 0.20.
    """

    discount_percent: Decimal = _ZERO
    minimum_spend: Decimal = _ZERO
    tax_rate: Decimal = _ZERO

    def __post_init__(self) -> None:
        _require_rate(self.discount_percent, "discount_percent", _HUNDRED)
        _require_rate(self.tax_rate, "tax_rate", Decimal(1))
        minimum = self.minimum_spend
        if isinstance(minimum, bool) or not isinstance(minimum, Decimal) or not minimum.is_finite():
            raise ValueError(f"minimum_spend must be a finite Decimal, got {minimum!r}")
        if minimum < 0 or minimum != minimum.quantize(CENT):
            raise ValueError(f"minimum_spend must be >= 0 in whole cents, got {minimum}")


NO_TERMS = OrgTerms()


@dataclass(frozen=True, slots=True)
class LateUsage:
    """Usage of an earlier period whose invoice is finalized, to bill as adjustments.

    `invoice_id` is that finalized invoice, [period_start, period_end) its period. `spans` and
    `events` are the late usage (spans are clipped to the period; every event must lie in it);
    `billed_spans`/`billed_events` the usage that invoice rated, so that late units take their
    place in the period's tiers. Without them, late usage is tiered as if it were all there was.
    """

    invoice_id: str
    period_start: datetime
    period_end: datetime
    spans: Sequence[UsageSpan] = ()
    events: Sequence[MeterEvent] = ()
    billed_spans: Sequence[UsageSpan] = ()
    billed_events: Sequence[MeterEvent] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.invoice_id, str) or not self.invoice_id:
            raise ValueError(
                f"late usage: invoice_id must be a non-empty string, got {self.invoice_id!r}"
            )
        require_interval(
            self.period_start, self.period_end, f"late usage of {self.invoice_id} period"
        )
        for name in ("spans", "events", "billed_spans", "billed_events"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True, slots=True)
class _Rating:
    """What every rating of one document shares."""

    org: str
    meters: Mapping[str, Meter]
    prices: Sequence[PriceEntry]
    currency: str
    contracts: Sequence[ReservedContract]
    default_tier: Tier
    at_cost: bool

    def rate(
        self,
        start: datetime,
        end: datetime,
        spans: Iterable[UsageSpan],
        events: Iterable[MeterEvent],
    ) -> dict[LineKey, UsageTotal]:
        return rate_usage(
            self.org,
            start,
            end,
            spans,
            events,
            self.meters,
            self.prices,
            self.currency,
            default_tier=self.default_tier,
            contracts=self.contracts,
        )


def compose_invoice(
    org: str,
    period_start: datetime,
    period_end: datetime,
    spans: Iterable[UsageSpan],
    events: Iterable[MeterEvent],
    meters: Iterable[Meter],
    prices: Sequence[PriceEntry],
    contracts: Iterable[ReservedContract] = (),
    terms: OrgTerms = NO_TERMS,
    currency: str = DEFAULT_CURRENCY,
    late: Iterable[LateUsage] = (),
) -> BillingDocument:
    """An external org's invoice for [period_start, period_end): see the module docstring."""
    require_interval(period_start, period_end, "billing period")
    late = _late_groups(late, period_start)
    windows = [(period_start, period_end), *((g.period_start, g.period_end) for g in late)]
    own = _own_contracts(org, contracts, currency, windows)
    rating = _Rating(org, _meter_book(meters), prices, currency, own, Tier.ON_DEMAND, False)
    usage = _usage_lines(rating, rating.rate(period_start, period_end, spans, events))
    lines = list(usage)
    for contract in own:
        lines.extend(contract_lines(contract, period_start, period_end))
    lines.extend(_discount(terms, usage, currency, period_start, period_end, None, "usage"))
    lines.extend(_minimum(terms, lines, currency, period_start, period_end))
    for group in late:
        adjustments = _adjustments(rating, group)
        lines.extend(adjustments)
        if adjustments:
            start = min(ln.service_start for ln in adjustments)
            end = max(ln.service_end for ln in adjustments)
            what = f"late usage of invoice {group.invoice_id}"
            ref = group.invoice_id
            lines.extend(_discount(terms, adjustments, currency, start, end, ref, what))
    lines.extend(_tax(terms, lines, currency, period_start, period_end))
    return BillingDocument(
        org, InvoiceKind.INVOICE, period_start, period_end, currency, tuple(lines)
    )


def compose_statement(
    org: str,
    period_start: datetime,
    period_end: datetime,
    spans: Iterable[UsageSpan],
    events: Iterable[MeterEvent],
    meters: Iterable[Meter],
    prices: Sequence[PriceEntry],
    unit_cost: Mapping[str, Decimal],
    currency: str = DEFAULT_CURRENCY,
    late: Iterable[LateUsage] = (),
) -> BillingDocument:
    """An internal org's statement: GPU time at cost (unit_cost per GPU-hour), meters at price.

    GPU prices in the book are ignored (unit_cost replaces them; a GPU type without a cost
    raises MissingCost); events without a `tier` dimension are priced at the internal tier.
    """
    require_interval(period_start, period_end, "billing period")
    spans = list(spans)
    late = _late_groups(late, period_start)
    require_costs(own_spans(org, spans, period_start, period_end), unit_cost)
    for group in late:
        require_costs(own_spans(org, group.spans, group.period_start, group.period_end), unit_cost)
    book = cost_book(unit_cost, currency) + [p for p in prices if p.meter != GPU_METER]
    rating = _Rating(org, _meter_book(meters), book, currency, (), Tier.INTERNAL, True)
    lines = _usage_lines(rating, rating.rate(period_start, period_end, spans, events))
    for group in late:
        lines.extend(_adjustments(rating, group))
    return BillingDocument(
        org, InvoiceKind.STATEMENT, period_start, period_end, currency, tuple(lines)
    )


def _meter_book(meters: Iterable[Meter]) -> dict[str, Meter]:
    book: dict[str, Meter] = {}
    for meter in meters:
        if meter.name in book and book[meter.name] != meter:
            raise ValueError(f"meters: {meter.name} is declared twice, differently")
        book[meter.name] = meter
    return book


def _own_contracts(
    org: str,
    contracts: Iterable[ReservedContract],
    currency: str,
    windows: Sequence[tuple[datetime, datetime]],
) -> list[ReservedContract]:
    # Only contracts whose term meets a period being billed matter: an old contract in another
    # currency must not stop today's invoice.
    own: dict[str, ReservedContract] = {}
    for contract in contracts:
        if contract.org != org or not any(
            contract.start < end and start < contract.end for start, end in windows
        ):
            continue
        if contract.currency != currency:
            # Converting would need an exchange rate the core does not have; dropping it would
            # forget a commitment. Neither is right, so refuse.
            raise ValueError(
                f"contract {contract.id} is in {contract.currency}, the invoice in {currency}"
            )
        if contract.id in own and own[contract.id] != contract:
            raise ValueError(f"contracts: two different contracts share the id {contract.id}")
        own[contract.id] = contract
    return sorted(own.values(), key=lambda c: (c.start, c.id))


def _late_groups(late: Iterable[LateUsage], period_start: datetime) -> list[LateUsage]:
    groups = sorted(late, key=lambda g: (g.period_start, g.invoice_id))
    seen: set[str] = set()
    for group in groups:
        if group.invoice_id in seen:
            raise ValueError(f"late usage: invoice {group.invoice_id} is given twice")
        seen.add(group.invoice_id)
        if group.period_end > period_start:
            raise ValueError(
                f"late usage of invoice {group.invoice_id} must belong to a period that ended"
                f" by {period_start.isoformat()}, got one ending {group.period_end.isoformat()}"
            )
    return groups


def _usage_lines(rating: _Rating, totals: Mapping[LineKey, UsageTotal]) -> list[DocumentLine]:
    return [
        _line(
            rating,
            key,
            LineKind.USAGE,
            total.priced_quantity,
            total.amount,
            total.start,
            total.end,
            key.ref,
        )
        for key, total in totals.items()
    ]


def _adjustments(rating: _Rating, group: LateUsage) -> list[DocumentLine]:
    start, end = group.period_start, group.period_end
    late_spans = list(own_spans(rating.org, group.spans, start, end))
    late_events = own_events(rating.org, group.events, start, end)
    outside = [e for e in group.events if e.org == rating.org and not start <= e.time < end]
    if outside:
        raise ValueError(
            f"late usage of invoice {group.invoice_id}: event {outside[0].id} at"
            f" {outside[0].time.isoformat()} is outside its period"
        )
    if not late_spans and not late_events:
        return []
    times = [s.start for s in late_spans] + [e.time for e in late_events]
    ends = [s.end for s in late_spans] + [e.time for e in late_events]
    served = (min(times), max(ends))
    billed = rating.rate(start, end, group.billed_spans, group.billed_events)
    everything = rating.rate(
        start,
        end,
        [*group.billed_spans, *group.spans],
        [*group.billed_events, *group.events],
    )
    lines: list[DocumentLine] = []
    for key in sorted(everything.keys() | billed.keys(), key=LineKey.sort_key):
        after, before = everything.get(key, _NOTHING), billed.get(key, _NOTHING)
        per = after.per if key in everything else before.per
        with exact_arithmetic():
            quantity = after.quantity - before.quantity
            scaled = after.scaled_amount - before.scaled_amount
        if quantity == 0 and scaled == 0:
            continue
        lines.append(
            _line(
                rating,
                key,
                LineKind.ADJUSTMENT,
                priced_quantity(quantity, per),
                scaled_to_cents(scaled, per),
                *served,
                group.invoice_id,
            )
        )
    return lines


def _line(
    rating: _Rating,
    key: LineKey,
    kind: LineKind,
    quantity: Decimal,
    amount: Decimal,
    start: datetime,
    end: datetime,
    ref: str | None,
) -> DocumentLine:
    gpu = key.meter == GPU_METER
    description = _describe(rating, key)
    if kind is LineKind.ADJUSTMENT:
        description += f", late usage of invoice {ref}"
    return DocumentLine(
        kind=kind,
        description=description,
        quantity=quantity,
        unit=UNIT_GPU_HOUR if gpu else rating.meters[key.meter].unit,
        unit_price=key.unit_price,
        amount=amount,
        service_start=start,
        service_end=end,
        meter=key.meter,
        gpu_type=key.gpu_type or None,
        tier=key.tier,
        ref=ref,
    )


def _describe(rating: _Rating, key: LineKey) -> str:
    if key.meter == GPU_METER:
        if key.ref is not None:
            text = f"{key.gpu_type} reserved GPU time under contract {key.ref}"
        else:
            text = f"{key.gpu_type} {key.tier} GPU time"
            if rating.at_cost:
                text += " at cost"
    else:
        meter = rating.meters[key.meter]
        parts = [meter.name]
        if key.gpu_type:
            parts.append(key.gpu_type)
        if key.tier is not rating.default_tier:
            parts.append(key.tier.value)
        parts.extend(f"{dim}={value}" for dim, value in zip(meter.group_by, key.group, strict=True))
        text = " ".join(parts)
    if isinstance(key.price, Charge):
        text += f" ({key.price.model})"
    return text


def _discount(
    terms: OrgTerms,
    base_lines: Sequence[DocumentLine],
    currency: str,
    start: datetime,
    end: datetime,
    ref: str | None,
    what: str,
) -> list[DocumentLine]:
    if terms.discount_percent == 0:
        return []
    base = sum((ln.amount for ln in base_lines), Decimal("0.00"))
    rate = -terms.discount_percent / _HUNDRED
    amount = to_cents(base * rate)
    if amount == 0:
        return []
    return [
        DocumentLine(
            kind=LineKind.DISCOUNT,
            description=f"Discount {_plain(terms.discount_percent)}% on {what}",
            quantity=base,
            unit=currency,
            unit_price=rate,
            amount=amount,
            service_start=start,
            service_end=end,
            ref=ref,
        )
    ]


def _minimum(
    terms: OrgTerms,
    lines: Sequence[DocumentLine],
    currency: str,
    start: datetime,
    end: datetime,
) -> list[DocumentLine]:
    spent = sum((ln.amount for ln in lines), Decimal("0.00"))
    shortfall = terms.minimum_spend - spent
    if shortfall <= 0:
        return []
    return [
        DocumentLine(
            kind=LineKind.MINIMUM_COMMITMENT,
            description=(
                f"Minimum spend of {terms.minimum_spend} {currency} per period"
                f" (spent {spent} {currency})"
            ),
            quantity=Decimal(1),
            unit=UNIT_PERIOD,
            unit_price=None,
            amount=to_cents(shortfall),
            service_start=start,
            service_end=end,
        )
    ]


def _tax(
    terms: OrgTerms,
    lines: Sequence[DocumentLine],
    currency: str,
    start: datetime,
    end: datetime,
) -> list[DocumentLine]:
    if terms.tax_rate == 0 or not lines:
        return []
    subtotal = sum((ln.amount for ln in lines), Decimal("0.00"))
    return [
        DocumentLine(
            kind=LineKind.TAX,
            description=f"Tax {_plain(terms.tax_rate * _HUNDRED)}%",
            quantity=subtotal,
            unit=currency,
            unit_price=terms.tax_rate,
            amount=to_cents(subtotal * terms.tax_rate),
            service_start=start,
            service_end=end,
        )
    ]


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"
