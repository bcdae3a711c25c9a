"""Rating: usage × price book → invoice lines (external orgs) or statements at cost (internal).

Seconds are summed exactly per line before pricing, and each line is rounded once, half-up to
the cent: so how usage is cut into spans never changes a line, and the total is exactly the sum
of the lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from neocloud.billing.intervals import require_interval, seconds_between
from neocloud.billing.invoice import InvoiceKind
from neocloud.billing.pricebook import PriceEntry, price_segments
from neocloud.billing.usage import UsageSpan, clip, unique_spans
from neocloud.domain.jobs import Tier
from neocloud.domain.money import DEFAULT_CURRENCY, SECONDS_PER_HOUR, to_cents

UNIT_GPU_HOUR = "GPU-hour"
QUANTITY_QUANTUM = Decimal("0.000001")
_LINE_PRECISION = 80

_LineKey = tuple[str, Tier, Decimal]


class RatingError(ValueError):
    """Usage that cannot be priced; nothing is billed rather than something wrong."""


class MissingPrice(RatingError):
    """Usage at a moment when no price is in force for its GPU type × tier × region."""

    def __init__(
        self, gpu_type: str, tier: Tier, at: datetime, region: str | None, currency: str
    ) -> None:
        self.gpu_type, self.tier, self.at, self.region, self.currency = (
            gpu_type,
            tier,
            at,
            region,
            currency,
        )
        super().__init__(
            f"no {currency} price for {gpu_type} {tier} in region {region}"
            f" in force at {at.isoformat()}"
        )


class MissingCost(RatingError):
    """Internal usage of a GPU type whose cost per GPU-hour is unknown."""

    def __init__(self, gpu_type: str) -> None:
        self.gpu_type = gpu_type
        super().__init__(f"no cost per GPU-hour known for GPU type {gpu_type}")


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


def rate_invoice(
    org: str,
    period_start: datetime,
    period_end: datetime,
    spans: Iterable[UsageSpan],
    prices: Sequence[PriceEntry],
    currency: str = DEFAULT_CURRENCY,
) -> RatedInvoice:
    """Price an org's usage in [period_start, period_end) with the price book, in one currency.

    Spans of other orgs are ignored. Usage is split wherever the price in force changes; usage
    at a moment with no price in the invoice currency raises MissingPrice, never bills zero.
    """
    require_interval(period_start, period_end, "billing period")
    in_currency = [p for p in prices if p.currency == currency]
    seconds: dict[_LineKey, Decimal] = defaultdict(Decimal)
    for span in _own_spans(org, spans, period_start, period_end):
        for segment in price_segments(
            in_currency, span.gpu_type, span.tier, span.start, span.end, span.region
        ):
            if segment.entry is None:
                raise MissingPrice(span.gpu_type, span.tier, segment.start, span.region, currency)
            key = (span.gpu_type, span.tier, segment.entry.unit_price)
            seconds[key] += span.gpus * seconds_between(segment.start, segment.end)
    lines = _lines(seconds, lambda gpu_type, tier: f"{gpu_type} {tier} GPU time")
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
    seconds: dict[_LineKey, Decimal] = defaultdict(Decimal)
    for span in _own_spans(org, spans, period_start, period_end):
        if span.gpu_type not in unit_cost:
            raise MissingCost(span.gpu_type)
        seconds[(span.gpu_type, span.tier, unit_cost[span.gpu_type])] += span.gpu_seconds
    lines = _lines(seconds, lambda gpu_type, tier: f"{gpu_type} {tier} GPU time at cost")
    return _invoice(org, InvoiceKind.STATEMENT, period_start, period_end, currency, lines)


def line_amount(gpu_seconds: Decimal, unit_price: Decimal) -> Decimal:
    """The amount of a line: exact GPU-seconds × price per GPU-hour, rounded once to the cent."""
    # Wide enough that the product is exact and the division cannot round across a half cent
    # before to_cents does: the line is rounded once, as the rule says, not twice.
    with localcontext() as ctx:
        ctx.prec = _LINE_PRECISION
        exact = gpu_seconds * unit_price / SECONDS_PER_HOUR
    return to_cents(exact)


def _own_spans(
    org: str, spans: Iterable[UsageSpan], start: datetime, end: datetime
) -> Iterable[UsageSpan]:
    for span in unique_spans(s for s in spans if s.org == org):
        clipped = clip(span, start, end)
        if clipped is not None:
            yield clipped


def _lines(
    seconds: Mapping[_LineKey, Decimal], describe: Callable[[str, Tier], str]
) -> list[RatedLine]:
    ordered = sorted(seconds.items(), key=lambda item: (item[0][0], item[0][1].rank, item[0][2]))
    return [
        RatedLine(
            description=describe(gpu_type, tier),
            gpu_type=gpu_type,
            tier=tier,
            quantity=(gpu_seconds / SECONDS_PER_HOUR).quantize(
                QUANTITY_QUANTUM, rounding=ROUND_HALF_UP
            ),
            unit=UNIT_GPU_HOUR,
            unit_price=unit_price,
            amount=line_amount(gpu_seconds, unit_price),
        )
        for (gpu_type, tier, unit_price), gpu_seconds in ordered
    ]


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
