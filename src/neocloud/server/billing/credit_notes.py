"""Credit notes: numbered corrections of finalized or paid invoices, and where the credit goes.

The rule (docs/billing.md): a note's total first lowers what the customer still owes on an
unpaid (finalized) invoice, never below zero; whatever is left, and all of it on a paid
invoice, becomes a prepaid credit grant the customer can spend. Neither changes the invoice's
lines or total: the invoice stays as issued, the note is its own document.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from neocloud.billing import ledger
from neocloud.billing.credit_notes import (
    CreditNote,
    CreditNoteError,
    CreditNoteLine,
    can_issue_credit_note,
    make_credit_note,
)
from neocloud.billing.invoice import InvoiceKind, InvoiceStatus, invoice_number
from neocloud.domain.money import to_cents
from neocloud.domain.tenancy import Permission
from neocloud.schemas import invoice_documents as api
from neocloud.server.billing.credits import append, transactions_of
from neocloud.server.billing.invoice_documents import document_of, lines_of
from neocloud.server.billing.invoice_status import visible_invoice
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import ApiError, conflict, not_found
from neocloud.store.ids import new_id
from neocloud.store.models import (
    CreditGrantRow,
    CreditNoteLineRow,
    CreditNoteRow,
    InvoiceRow,
    InvoiceSequenceRow,
)

ZERO = Decimal("0.00")
PREFIX = "CN"
# The pure rules name a note's lines from 1 and call the position invoice_line_position; the
# API names them as the request body does: lines[0].line, lines[0].amount.
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(invoice_line_position|amount)")
_API_FIELD = {"invoice_line_position": "line", "amount": "amount"}


def grant_id_of(note_id: str) -> str:
    """The id of the prepaid grant a note gives, derived from the note's so each finds the other."""
    return f"grt_{note_id.removeprefix('cn_')}"


def next_number(s: Session, prefix: str, year: int) -> str:
    """The next gapless number of a prefix and year; the sequence row stays locked until commit."""
    key = f"{prefix}-{year}"
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Two first notes of a year must not both insert the row: the loser would fail on the key.
    s.execute(
        insert(InvoiceSequenceRow)
        .values(prefix=key, next_value=1)
        .on_conflict_do_nothing(index_elements=["prefix"])
    )
    seq = s.scalars(
        select(InvoiceSequenceRow)
        .where(InvoiceSequenceRow.prefix == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    number = invoice_number(prefix, year, seq.next_value)
    seq.next_value += 1
    return number


def notes_of(s: Session, invoice_id: str) -> list[CreditNoteRow]:
    """An invoice's credit notes in the order they were numbered."""
    return list(
        s.scalars(
            select(CreditNoteRow)
            .where(CreditNoteRow.invoice_id == invoice_id)
            .order_by(CreditNoteRow.number)
        ).all()
    )


def _lines(s: Session, note_id: str) -> list[CreditNoteLineRow]:
    return list(
        s.scalars(
            select(CreditNoteLineRow)
            .where(CreditNoteLineRow.credit_note_id == note_id)
            .order_by(CreditNoteLineRow.id)
        ).all()
    )


def pure_note(s: Session, row: CreditNoteRow) -> CreditNote:
    """A stored credit note as the billing core's value."""
    return CreditNote(
        id=row.id,
        invoice_id=row.invoice_id,
        org=row.org_id,
        currency=row.currency,
        lines=tuple(
            CreditNoteLine(ln.invoice_line_position, to_cents(ln.amount), ln.reason)
            for ln in _lines(s, row.id)
        ),
        reason=row.reason,
        tax=to_cents(row.tax),
    )


def _field_error(exc: CreditNoteError) -> ApiError:
    message = str(exc)
    match = _LINE_FIELD.match(message)
    if match is None:
        field = re.split(r"[ :]", message, maxsplit=1)[0]
    else:
        field = f"lines[{int(match.group(1)) - 1}].{_API_FIELD[match.group(2)]}"
        message = field + message[match.end() :]
    return ApiError(422, "invalid_request", message, {"field": field})


def note_out(s: Session, row: CreditNoteRow, invoice: InvoiceRow) -> api.CreditNote:
    """Wire form of a stored note, with how its total reached the customer."""
    printed = lines_of(s, invoice)
    grant = s.get(CreditGrantRow, grant_id_of(row.id))
    granted = to_cents(grant.amount) if grant is not None else ZERO
    total = to_cents(row.total)
    return api.CreditNote(
        id=row.id,
        number=row.number,
        invoice_id=row.invoice_id,
        invoice_number=invoice.number,
        org_id=row.org_id,
        currency=row.currency,
        reason=row.reason,
        lines=[
            api.CreditNoteLine(
                line=ln.invoice_line_position,
                description=printed[ln.invoice_line_position - 1].description,
                amount=to_cents(ln.amount),
                reason=ln.reason,
            )
            for ln in _lines(s, row.id)
        ],
        subtotal=to_cents(row.subtotal),
        tax=to_cents(row.tax),
        total=total,
        amount_due_reduced=total - granted,
        credit_granted=granted,
        grant_id=grant.id if grant is not None else None,
        created_at=row.created_at,
    )


def create(
    s: Session, p: Principal, invoice_id: str, body: api.CreditNoteCreate, now: datetime
) -> api.CreditNote:
    """Issue a credit note (operator); over all notes no line is credited beyond its amount."""
    p.require(Permission.OPERATE)
    # The lock makes notes of one invoice wait for each other, so each sees what the earlier
    # ones credited and two together cannot credit a line beyond its amount.
    invoice = visible_invoice(s, p, invoice_id, lock=True)
    status = InvoiceStatus(invoice.status)
    if invoice.kind != InvoiceKind.INVOICE.value:
        raise conflict(
            f"{invoice.number or invoice.id} is a statement: internal orgs are shown cost,"
            " nothing is owed, so there is nothing to credit",
            {"kind": invoice.kind},
        )
    if not can_issue_credit_note(status):
        raise conflict(
            f"invoice {invoice.number or invoice.id} is {status}: credit notes correct finalized"
            " or paid invoices (a draft is regenerated, a void one is gone)",
            {"status": status.value},
        )
    note_id = new_id("cn")
    try:
        note = make_credit_note(
            document_of(s, invoice),
            invoice.id,
            [pure_note(s, r) for r in notes_of(s, invoice.id)],
            note_id,
            [CreditNoteLine(ln.line, ln.amount, ln.reason or body.reason) for ln in body.lines],
            body.reason,
        )
    except CreditNoteError as exc:
        raise _field_error(exc) from exc
    row = CreditNoteRow(
        id=note.id,
        invoice_id=invoice.id,
        org_id=invoice.org_id,
        number=next_number(s, PREFIX, now.year),
        currency=note.currency,
        reason=note.reason,
        subtotal=note.subtotal,
        tax=note.tax,
        total=note.total,
        created_at=now,
    )
    s.add(row)
    s.flush()
    for line in note.lines:
        s.add(
            CreditNoteLineRow(
                credit_note_id=note.id,
                invoice_line_position=line.invoice_line_position,
                amount=line.amount,
                reason=line.reason,
            )
        )
    _give(s, invoice, row, status, now)
    s.flush()
    return note_out(s, row, invoice)


def _give(
    s: Session, invoice: InvoiceRow, note: CreditNoteRow, status: InvoiceStatus, now: datetime
) -> None:
    """Lower what is still due, then grant the rest as prepaid credit (the module's rule)."""
    total = to_cents(note.total)
    reduced = ZERO
    if status is InvoiceStatus.FINALIZED:
        reduced = min(total, max(ZERO, to_cents(invoice.amount_due)))
        invoice.amount_due = to_cents(invoice.amount_due) - reduced
    txs: list[ledger.Transaction] = []
    recorded = any(
        tx.kind is ledger.TransactionKind.INVOICE and tx.ref == invoice.id
        for tx in transactions_of(s, invoice.org_id)
    )
    if reduced and recorded:
        # Keeps the ledger's invoice account at −(amount still due).
        txs.append(
            _revenue_back(
                f"credit_note:{note.id}",
                invoice,
                ledger.TransactionKind.REVERSAL,
                ledger.invoice_account(invoice.id),
                reduced,
                invoice.id,
                now,
            )
        )
    granted = total - reduced
    if granted:
        grant = CreditGrantRow(
            id=grant_id_of(note.id),
            org_id=invoice.org_id,
            kind=ledger.GrantKind.PREPAID.value,
            amount=granted,
            currency=invoice.currency,
            priority=0,
            effective_at=now,
            expires_at=None,
            description=f"Credit note {note.number} on invoice {invoice.number}",
            created_at=now,
        )
        s.add(grant)
        s.flush()
        # Credit given back is revenue given back, not cash received: the grant is funded
        # from revenue rather than from `cash` as a bought grant is.
        txs.append(
            _revenue_back(
                f"grant:{grant.id}",
                invoice,
                ledger.TransactionKind.GRANT,
                ledger.grant_account(grant.id),
                granted,
                grant.id,
                now,
            )
        )
    append(s, txs)


def _revenue_back(
    tx_id: str,
    invoice: InvoiceRow,
    kind: ledger.TransactionKind,
    account: str,
    amount: Decimal,
    ref: str,
    now: datetime,
) -> ledger.Transaction:
    return ledger.Transaction(
        id=tx_id,
        org=invoice.org_id,
        time=now,
        kind=kind,
        currency=invoice.currency,
        postings=(ledger.Posting(account, amount), ledger.Posting(ledger.REVENUE, -amount)),
        ref=ref,
    )


def list_for_invoice(s: Session, p: Principal, invoice_id: str) -> list[api.CreditNote]:
    """An invoice's credit notes (billing roles of its org, or the operator)."""
    p.require(Permission.READ_BILLING)
    invoice = visible_invoice(s, p, invoice_id)
    return [note_out(s, r, invoice) for r in notes_of(s, invoice.id)]


def get(s: Session, p: Principal, note_id: str) -> api.CreditNote:
    """One credit note the caller may see."""
    p.require(Permission.READ_BILLING)
    row = s.get(CreditNoteRow, note_id)
    if row is None or not p.can_see_org(row.org_id):
        raise not_found("credit note", note_id)
    invoice = s.get(InvoiceRow, row.invoice_id)
    assert invoice is not None
    return note_out(s, row, invoice)
