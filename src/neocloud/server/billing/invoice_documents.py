"""A stored invoice as the billing core's document, for renderers, credit notes and exports."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.document import BillingDocument, DocumentLine, LineKind
from neocloud.billing.invoice import InvoiceKind, InvoiceStatus
from neocloud.billing.render import InvoiceView
from neocloud.domain.jobs import Tier
from neocloud.domain.money import to_cents
from neocloud.store.models import InvoiceLineRow, InvoiceRow, OrgRow

ISSUER = "neocloud"


def lines_of(s: Session, row: InvoiceRow) -> list[InvoiceLineRow]:
    """The invoice's stored lines in printed order."""
    return list(
        s.scalars(
            select(InvoiceLineRow)
            .where(InvoiceLineRow.invoice_id == row.id)
            .order_by(InvoiceLineRow.position)
        ).all()
    )


def document_of(s: Session, row: InvoiceRow) -> BillingDocument:
    """The invoice's lines as a BillingDocument (service periods default to the invoice's)."""
    return BillingDocument(
        org=row.org_id,
        kind=InvoiceKind(row.kind),
        period_start=row.period_start,
        period_end=row.period_end,
        currency=row.currency,
        lines=tuple(
            DocumentLine(
                kind=LineKind(ln.kind),
                description=ln.description,
                quantity=ln.quantity,
                unit=ln.unit,
                unit_price=ln.unit_price,
                amount=to_cents(ln.amount),
                service_start=ln.service_start or row.period_start,
                service_end=ln.service_end or row.period_end,
                meter=ln.meter,
                gpu_type=ln.gpu_type,
                tier=Tier(ln.tier) if ln.tier else None,
                region=ln.region,
                ref=ln.ref,
            )
            for ln in lines_of(s, row)
        ),
    )


def view_of(s: Session, row: InvoiceRow, issuer: str = ISSUER) -> InvoiceView:
    """Number, status, parties and what is left to pay, as the renderers show them."""
    org = s.get(OrgRow, row.org_id)
    assert org is not None
    return InvoiceView(
        number=row.number,
        status=InvoiceStatus(row.status),
        issued_on=row.finalized_at.date() if row.finalized_at else None,
        issuer_name=issuer,
        customer_name=org.display_name or org.name,
        credits_applied=to_cents(row.credits_applied),
        amount_due=to_cents(row.amount_due),
    )
