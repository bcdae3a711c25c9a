"""Everything rating needs for one org and period, read from the store, and the rated document.

Invoices, statements and real-time spend all come from `rate_period`, so they agree to the cent.

Late usage: usage is on an invoice when it was recorded (GPU allocations) or received (usage
events) before the invoice's `usage_cutoff`. Usage of a period whose invoice is finalized that
arrives after that cutoff is billed on the next invoice as adjustment lines: the period is
re-rated with everything known now, minus what finalized invoices already billed, so the
adjustment is exact whatever the charge model (tiers included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.composition import LateUsage, OrgTerms, compose_invoice, compose_statement
from neocloud.billing.contracts import ReservedContract
from neocloud.billing.document import BillingDocument
from neocloud.billing.invoice import InvoiceKind, InvoiceStatus
from neocloud.billing.meters import Aggregation, Meter, MeterEvent
from neocloud.billing.pricebook import PriceEntry
from neocloud.billing.rating import RatingError
from neocloud.billing.usage import UsageSpan
from neocloud.domain.money import DEFAULT_CURRENCY, to_cents
from neocloud.domain.tenancy import OrgKind
from neocloud.server.fleet.costs import unit_cost_by_gpu_type
from neocloud.server.fleet.prices import load_price_book
from neocloud.server.http.errors import ApiError
from neocloud.server.metering.usage import span_of
from neocloud.store.models import (
    BillingTermsRow,
    ContractRow,
    InvoiceRow,
    MeterRow,
    OrgRow,
    UsageEventRow,
    UsageRecordRow,
)

BILLED = (InvoiceStatus.FINALIZED.value, InvoiceStatus.PAID.value)


@dataclass(frozen=True, slots=True)
class Books:
    """What rating reads that is the same for every org: prices, meters and unit costs.

    Loaded once per run (an invoice run rates every org with one set).
    """

    prices: list[PriceEntry]
    meters: list[Meter]
    unit_cost: dict[str, Decimal]


def load_books(s: Session) -> Books:
    """The price book, the declared meters and the cost per GPU-hour of each GPU type."""
    return Books(load_price_book(s), meters_of(s), unit_cost_by_gpu_type(s))


def meters_of(s: Session) -> list[Meter]:
    """The declared meters as the billing core takes them."""
    return [
        Meter(
            name=r.name,
            aggregation=Aggregation(r.aggregation),
            unit=r.unit,
            unique_by=r.unique_by,
            group_by=tuple(r.group_by),
            description=r.description,
        )
        for r in s.scalars(select(MeterRow).order_by(MeterRow.name)).all()
    ]


def terms_and_currency(s: Session, org_id: str) -> tuple[OrgTerms, str]:
    """The org's discount, minimum and tax as the core takes them, and its currency."""
    row = s.get(BillingTermsRow, org_id)
    if row is None:
        return OrgTerms(), DEFAULT_CURRENCY
    terms = OrgTerms(
        discount_percent=row.discount_percent,
        minimum_spend=to_cents(row.minimum_spend),
        tax_rate=row.tax_rate,
    )
    return terms, row.currency


def contracts_of(s: Session, org_id: str, start: datetime, end: datetime) -> list[ReservedContract]:
    """The org's contracts whose term overlaps [start, end)."""
    rows = s.scalars(
        select(ContractRow).where(
            ContractRow.org_id == org_id, ContractRow.starts_at < end, ContractRow.ends_at > start
        )
    ).all()
    return [
        ReservedContract(
            id=r.id,
            org=r.org_id,
            gpu_type=r.gpu_type,
            gpus=r.gpus,
            start=r.starts_at,
            end=r.ends_at,
            unit_price=r.unit_price,
            currency=r.currency,
        )
        for r in rows
    ]


def spans_in(
    s: Session,
    org_id: str,
    start: datetime,
    end: datetime,
    recorded_from: datetime | None = None,
    recorded_before: datetime | None = None,
) -> list[UsageSpan]:
    """Usage records overlapping [start, end), optionally by when they were recorded."""
    stmt = select(UsageRecordRow).where(
        UsageRecordRow.org_id == org_id,
        UsageRecordRow.started_at < end,
        UsageRecordRow.ended_at > start,
    )
    if recorded_from is not None:
        stmt = stmt.where(UsageRecordRow.recorded_at >= recorded_from)
    if recorded_before is not None:
        stmt = stmt.where(UsageRecordRow.recorded_at < recorded_before)
    return [span_of(r) for r in s.scalars(stmt.order_by(UsageRecordRow.id)).all()]


def events_in(
    s: Session,
    org_id: str,
    start: datetime,
    end: datetime,
    received_from: datetime | None = None,
    received_before: datetime | None = None,
) -> list[MeterEvent]:
    """Usage events of [start, end), optionally by when they were received."""
    stmt = select(UsageEventRow).where(
        UsageEventRow.org_id == org_id, UsageEventRow.time >= start, UsageEventRow.time < end
    )
    if received_from is not None:
        stmt = stmt.where(UsageEventRow.received_at >= received_from)
    if received_before is not None:
        stmt = stmt.where(UsageEventRow.received_at < received_before)
    return [
        MeterEvent(
            id=r.id,
            org=r.org_id,
            project=r.project_id,
            meter=r.meter,
            value=r.value,
            time=r.time,
            dimensions=dict(r.dimensions),
        )
        for r in s.scalars(stmt).all()
    ]


def late_usage(
    s: Session, org_id: str, kind: InvoiceKind, before: datetime, cutoff: datetime
) -> list[LateUsage]:
    """Usage of earlier, finalized periods that arrived after what their invoices billed."""
    billed = s.scalars(
        select(InvoiceRow)
        .where(
            InvoiceRow.org_id == org_id,
            InvoiceRow.kind == kind.value,
            InvoiceRow.status.in_(BILLED),
            InvoiceRow.period_end <= before,
        )
        .order_by(InvoiceRow.period_start)
    ).all()
    groups = []
    for inv in billed:
        # Every finalized invoice from this period on billed this period's usage up to its own
        # cutoff (the original, then adjustments on later ones): the latest cutoff is the line.
        known = max(_cutoff(i) for i in billed if i.period_start >= inv.period_start)
        late_spans = spans_in(s, org_id, inv.period_start, inv.period_end, known, cutoff)
        late_events = events_in(s, org_id, inv.period_start, inv.period_end, known, cutoff)
        if not late_spans and not late_events:
            continue
        groups.append(
            LateUsage(
                invoice_id=inv.id,
                period_start=inv.period_start,
                period_end=inv.period_end,
                spans=late_spans,
                events=late_events,
                billed_spans=spans_in(
                    s, org_id, inv.period_start, inv.period_end, recorded_before=known
                ),
                billed_events=events_in(
                    s, org_id, inv.period_start, inv.period_end, received_before=known
                ),
            )
        )
    return groups


def rate_period(
    s: Session,
    org: OrgRow,
    start: datetime,
    end: datetime,
    cutoff: datetime,
    extra_spans: list[UsageSpan] | None = None,
    project_id: str | None = None,
    books: Books | None = None,
) -> BillingDocument:
    """The org's document for [start, end) with usage known before `cutoff`.

    External orgs get an invoice at price, internal ones a statement at cost. `extra_spans`
    adds usage not yet recorded (running allocations, for real-time spend). A usage with no
    price in force is a 409 naming the org, never billed as zero.
    """
    spans = spans_in(s, org.id, start, end, recorded_before=cutoff) + (extra_spans or [])
    events = events_in(s, org.id, start, end, received_before=cutoff)
    if project_id is not None:
        spans = [sp for sp in spans if sp.project == project_id]
        events = [ev for ev in events if ev.project == project_id]
    books = books or load_books(s)
    meters, prices = books.meters, books.prices
    internal = OrgKind(org.kind) is OrgKind.INTERNAL
    kind = InvoiceKind.STATEMENT if internal else InvoiceKind.INVOICE
    late = late_usage(s, org.id, kind, start, cutoff)
    try:
        if internal:
            if project_id is not None:
                late = []
            return compose_statement(
                org.id,
                start,
                end,
                spans,
                events,
                meters,
                prices,
                books.unit_cost,
                late=late,
            )
        terms, currency = terms_and_currency(s, org.id)
        contracts = contracts_of(s, org.id, start, end)
        if project_id is not None:
            # A project's share: its usage at the org's prices and discount, without the
            # org-wide commitments (contracts, minimum spend) or earlier periods' adjustments.
            terms = OrgTerms(discount_percent=terms.discount_percent, tax_rate=terms.tax_rate)
            contracts, late = [], []
        return compose_invoice(
            org.id,
            start,
            end,
            spans,
            events,
            meters,
            prices,
            contracts,
            terms,
            currency,
            late,
        )
    except RatingError as exc:
        raise ApiError(
            409, "missing_price", f"cannot rate org {org.name}: {exc}", {"org": org.name}
        ) from exc


def _cutoff(row: InvoiceRow) -> datetime:
    # Invoices finalized before cutoffs were recorded billed what was known when finalized.
    moment = row.usage_cutoff or row.finalized_at
    assert moment is not None
    return moment
