"""Invoices for external orgs (at price) and statements for internal orgs (at cost)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neocloud.billing.document import BillingDocument
from neocloud.billing.invoice import (
    InvoiceKind,
    InvoiceStatus,
    check_invoice_transition,
    invoice_number,
)
from neocloud.billing.periods import month_bounds
from neocloud.domain.jobs import Tier
from neocloud.domain.money import to_cents
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.schemas import billing as api
from neocloud.schemas.events import BillingEventType
from neocloud.server.billing import credits
from neocloud.server.events.service import (
    credit_exhausted_data,
    emit,
    invoice_finalized_data,
)
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import conflict, invalid, not_found
from neocloud.server.http.org_failures import Loop, per_org
from neocloud.server.http.pagination import page_of, paginate
from neocloud.server.metering.rating_inputs import Books, load_books, rate_period
from neocloud.server.tenancy.service import PLATFORM_ORG, resolve_org
from neocloud.store.ids import new_id
from neocloud.store.models import InvoiceLineRow, InvoiceRow, InvoiceSequenceRow, OrgRow
from neocloud.store.usage_lock import hold_exclusive

# Amounts are whole cents; quantities and unit prices are shown at the store's 6 decimals, so an
# invoice reads the same freshly rated and read back from either database.
SIX = Decimal("0.000001")


def invoice_out(s: Session, row: InvoiceRow) -> api.Invoice:
    """Wire form of an invoice with its lines."""
    lines = s.scalars(
        select(InvoiceLineRow)
        .where(InvoiceLineRow.invoice_id == row.id)
        .order_by(InvoiceLineRow.position)
    ).all()
    return api.Invoice(
        id=row.id,
        org_id=row.org_id,
        kind=row.kind,
        number=row.number,
        status=row.status,
        period=row.period,
        period_start=row.period_start,
        period_end=row.period_end,
        currency=row.currency,
        subtotal=to_cents(row.subtotal),
        tax=to_cents(row.tax),
        total=to_cents(row.total),
        credits_applied=to_cents(row.credits_applied),
        amount_due=to_cents(row.amount_due),
        lines=[
            api.InvoiceLine(
                kind=ln.kind,
                description=ln.description,
                meter=ln.meter,
                gpu_type=ln.gpu_type,
                tier=Tier(ln.tier) if ln.tier else None,
                region=ln.region,
                quantity=ln.quantity.quantize(SIX),
                unit=ln.unit,
                unit_price=ln.unit_price.quantize(SIX) if ln.unit_price is not None else None,
                amount=to_cents(ln.amount),
                ref=ln.ref,
                service_start=ln.service_start,
                service_end=ln.service_end,
            )
            for ln in lines
        ],
        created_at=row.created_at,
        finalized_at=row.finalized_at,
        paid_at=row.paid_at,
        voided_at=row.voided_at,
    )


def _store_document(s: Session, row: InvoiceRow, doc: BillingDocument) -> None:
    """Replace a draft's lines and totals with a freshly rated document."""
    s.execute(delete(InvoiceLineRow).where(InvoiceLineRow.invoice_id == row.id))
    for i, line in enumerate(doc.lines):
        s.add(
            InvoiceLineRow(
                invoice_id=row.id,
                position=i,
                kind=line.kind.value,
                description=line.description[:300],
                meter=line.meter,
                gpu_type=line.gpu_type,
                tier=line.tier.value if line.tier else None,
                region=line.region,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                amount=line.amount,
                ref=line.ref,
                service_start=line.service_start,
                service_end=line.service_end,
            )
        )
    row.currency = doc.currency
    row.subtotal = doc.subtotal
    row.tax = doc.tax
    row.total = doc.total
    row.credits_applied = Decimal(0)
    row.amount_due = doc.total
    s.flush()


def generate(
    s: Session,
    p: Principal,
    body: api.InvoiceGenerate,
    now: datetime,
    failed: list[str] | None = None,
) -> list[api.Invoice]:
    """Draft invoices/statements for a month; drafts are regenerated, finalized ones untouched.

    Orgs of a run over every org that could not be drafted are appended (by id) to `failed`.
    """
    p.require(Permission.OPERATE)
    start, end = month_bounds(body.period)
    if body.org:
        orgs = [resolve_org(s, p, body.org)]
    else:
        orgs = list(
            s.scalars(select(OrgRow).where(OrgRow.name != PLATFORM_ORG).order_by(OrgRow.name)).all()
        )
    out: list[api.Invoice] = []
    books = load_books(s)
    for org in orgs:
        # A run over every org drafts every org it can: one org's failure is recorded (see
        # org_failures) and the next org goes on. Asked for one org, the failure is the answer.
        with per_org(Loop.INVOICE_RUN, org.id, org.name, s, answer=bool(body.org)) as one:
            invoice = _generate_one(s, org, body.period, start, end, now, books)
            if invoice is not None:
                out.append(invoice)
        if one.failure is not None and failed is not None:
            failed.append(org.id)
    return out


def _generate_one(
    s: Session,
    org: OrgRow,
    period: str,
    start: datetime,
    end: datetime,
    now: datetime,
    books: Books,
) -> api.Invoice | None:
    """The org's draft of the period, made or regenerated; its standing invoice if finalized."""
    kind = InvoiceKind.STATEMENT if OrgKind(org.kind) is OrgKind.INTERNAL else InvoiceKind.INVOICE
    existing = _current(s, org.id, period, kind, lock=True)
    if existing is not None and existing.status != InvoiceStatus.DRAFT.value:
        return invoice_out(s, existing)
    doc = rate_period(s, org, start, end, now, books=books)
    if existing is None:
        if not doc.lines:
            return None
        existing = InvoiceRow(
            id=new_id("inv"),
            org_id=org.id,
            kind=kind.value,
            number=None,
            status=InvoiceStatus.DRAFT.value,
            period=period,
            period_start=start,
            period_end=end,
            currency=doc.currency,
            total=Decimal(0),
            created_at=now,
        )
        s.add(existing)
        s.flush()
    _store_document(s, existing, doc)
    return invoice_out(s, existing)


def _current(
    s: Session, org_id: str, period: str, kind: InvoiceKind, lock: bool = False
) -> InvoiceRow | None:
    stmt = select(InvoiceRow).where(
        InvoiceRow.org_id == org_id,
        InvoiceRow.period == period,
        InvoiceRow.kind == kind.value,
        InvoiceRow.status != InvoiceStatus.VOID.value,
    )
    return s.scalars(stmt.with_for_update() if lock else stmt).first()


def _visible(s: Session, p: Principal, invoice_id: str, lock: bool = False) -> InvoiceRow:
    row = s.get(InvoiceRow, invoice_id, with_for_update=lock)
    if row is None or not p.can_see_org(row.org_id):
        raise not_found("invoice", invoice_id)
    return row


def get(s: Session, p: Principal, invoice_id: str) -> api.Invoice:
    """One invoice the caller may see (billing roles)."""
    p.require(Permission.READ_BILLING)
    return invoice_out(s, _visible(s, p, invoice_id))


def list_invoices(
    s: Session,
    p: Principal,
    org_ident: str | None,
    period: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[api.Invoice], str | None]:
    """Invoices the caller may see."""
    p.require(Permission.READ_BILLING)
    stmt = select(InvoiceRow)
    if org_ident:
        stmt = stmt.where(InvoiceRow.org_id == resolve_org(s, p, org_ident).id)
    elif not p.is_operator:
        stmt = stmt.where(InvoiceRow.org_id == p.org_id)
    if period:
        try:
            month_bounds(period)
        except ValueError as exc:
            raise invalid("period", str(exc)) from exc
        stmt = stmt.where(InvoiceRow.period == period)
    rows = s.scalars(paginate(stmt, InvoiceRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [invoice_out(s, r) for r in items], nxt


def finalize(
    s: Session,
    p: Principal,
    invoice_id: str,
    prefix: str,
    now: datetime,
    settle_seconds: int = 0,
) -> api.Invoice:
    """Freeze a draft: it gets the next gapless number of its issuer and year, and never changes."""
    p.require(Permission.OPERATE)
    row = _visible(s, p, invoice_id, lock=True)
    try:
        check_invoice_transition(InvoiceStatus(row.status), InvoiceStatus.FINALIZED)
    except ValueError as exc:
        raise conflict(str(exc), {"status": row.status}) from exc
    org = s.get(OrgRow, row.org_id)
    assert org is not None
    # Re-rated at finalization with the usage lock held: writes in flight have committed and
    # later ones are stamped after the cutoff, so usage is on exactly one invoice.
    cutoff = hold_exclusive(s, not_before=now) - timedelta(seconds=settle_seconds)
    row.usage_cutoff = cutoff
    _store_document(s, row, rate_period(s, org, row.period_start, row.period_end, cutoff))
    year = row.period_start.year
    seq_key = f"{prefix}-{year}"
    seq = s.scalars(
        select(InvoiceSequenceRow).where(InvoiceSequenceRow.prefix == seq_key).with_for_update()
    ).first()
    if seq is None:
        seq = InvoiceSequenceRow(prefix=seq_key, next_value=1)
        s.add(seq)
    row.number = invoice_number(prefix, year, seq.next_value)
    seq.next_value += 1
    row.status = InvoiceStatus.FINALIZED.value
    row.finalized_at = now
    used_up = credits.apply_to_invoice(s, row, now)
    if used_up is not None:
        data = {**credit_exhausted_data(used_up, row.org_id, now), "invoice_id": row.id}
        emit(s, row.org_id, BillingEventType.CREDIT_EXHAUSTED, data, now)
    s.flush()
    emit(s, row.org_id, BillingEventType.INVOICE_FINALIZED, invoice_finalized_data(row), now)
    return invoice_out(s, row)
