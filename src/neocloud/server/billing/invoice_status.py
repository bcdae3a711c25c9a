"""An invoice's life after finalization: paid, or void (its credit given back)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing import ledger
from neocloud.billing.invoice import (
    InvalidInvoiceTransition,
    InvoiceKind,
    InvoiceStatus,
    check_invoice_transition,
)
from neocloud.domain.tenancy import Permission
from neocloud.schemas import invoice_documents as api
from neocloud.server.billing.credits import append, grants_of, transactions_of
from neocloud.server.billing.invoices import invoice_out
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import conflict, invalid, not_found
from neocloud.store.models import CreditNoteRow, InvoiceRow

ZERO = Decimal("0.00")
_SINKS = frozenset({ledger.BREAKAGE, ledger.PROMOTION_EXPENSE})


def visible_invoice(s: Session, p: Principal, invoice_id: str, *, lock: bool = False) -> InvoiceRow:
    """The invoice if the caller may see it, else 404; `lock` holds its row until commit.

    Every change to a finalized invoice locks its row first, so pay, void and credit notes of
    one invoice run one after another, each seeing what the previous one did.
    """
    stmt = select(InvoiceRow).where(InvoiceRow.id == invoice_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = s.scalars(stmt).first()
    if row is None or not p.can_see_org(row.org_id):
        raise not_found("invoice", invoice_id)
    return row


def actor(p: Principal) -> api.Actor:
    """Who is acting, as a response records it."""
    return api.Actor(key_id=p.key_id, org_id=p.org_id, org=p.org_name, role=p.role.value)


def _move(row: InvoiceRow, target: InvoiceStatus) -> InvoiceStatus:
    current = InvoiceStatus(row.status)
    try:
        check_invoice_transition(current, target)
    except InvalidInvoiceTransition as exc:
        raise conflict(
            f"invoice {row.number or row.id} is {current}: {exc}",
            {"status": current.value, "target": target.value},
        ) from exc
    row.status = target.value
    return current


def pay(
    s: Session, p: Principal, invoice_id: str, body: api.InvoicePay, now: datetime
) -> api.InvoiceStatusChange:
    """Mark a finalized invoice paid (operator), at body.paid_at or now."""
    p.require(Permission.OPERATE)
    row = visible_invoice(s, p, invoice_id, lock=True)
    paid_at = body.paid_at or now
    previous = _move(row, InvoiceStatus.PAID)
    if paid_at > now:
        raise invalid("paid_at", f"{paid_at.isoformat()} is in the future")
    if row.finalized_at is not None and paid_at < row.finalized_at:
        raise invalid(
            "paid_at",
            f"{paid_at.isoformat()} is before the invoice was finalized"
            f" ({row.finalized_at.isoformat()})",
        )
    row.paid_at = paid_at
    s.flush()
    return api.InvoiceStatusChange(
        invoice=invoice_out(s, row),
        action="pay",
        previous_status=previous.value,
        at=now,
        by=actor(p),
    )


def void(
    s: Session, p: Principal, invoice_id: str, body: api.InvoiceVoid, now: datetime
) -> api.InvoiceStatusChange:
    """Void a finalized invoice (operator): its number stays used, credit applied goes back."""
    p.require(Permission.OPERATE)
    row = visible_invoice(s, p, invoice_id, lock=True)
    previous = _move(row, InvoiceStatus.VOID)
    notes = list(
        s.scalars(
            select(CreditNoteRow.number)
            .where(CreditNoteRow.invoice_id == row.id)
            .order_by(CreditNoteRow.number)
        ).all()
    )
    if notes:
        # A note already gave the customer part of this invoice back (as less due or as
        # credit); voiding as well would give it twice.
        raise conflict(
            f"invoice {row.number} has credit notes ({', '.join(notes)}): correct it further"
            " with credit notes instead of voiding it",
            {"status": previous.value, "credit_notes": notes},
        )
    returned, written_off, tx_id = ZERO, ZERO, None
    if row.kind == InvoiceKind.INVOICE.value:
        reversal = ledger.reverse_application(
            grants_of(s, row.org_id), transactions_of(s, row.org_id), row.id, now
        )
        if reversal is not None:
            append(s, [reversal])
            tx_id = reversal.id
            for posting in reversal.postings:
                if posting.account.startswith("grant:"):
                    returned += posting.amount
                elif posting.account in _SINKS:
                    written_off += posting.amount
    row.voided_at = now
    s.flush()
    return api.InvoiceStatusChange(
        invoice=invoice_out(s, row),
        action="void",
        previous_status=previous.value,
        at=now,
        by=actor(p),
        reason=body.reason,
        credits_returned=returned,
        credits_written_off=written_off,
        ledger_transaction_id=tx_id,
    )
