"""Credit notes: the only way to correct a finalized invoice, line by line.

A note credits amounts against lines of the invoice (positions count from 1, as printed).
Over all notes of an invoice a line is never credited beyond its amount. The tax line is
never credited directly: a note on an invoice that had tax carries the proportional tax
credit, computed by one rule:

    tax credit = round_half_up(rate × credited subtotal), capped by the tax not yet credited

where rate is the tax line's unit_price, or the invoice's tax ÷ subtotal when the line has
none. The cap keeps rounding on many small notes from crediting more tax than was charged.
total = Σ lines + tax credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from neocloud.billing.document import BillingDocument, DocumentLine, LineKind
from neocloud.billing.invoice import InvoiceStatus
from neocloud.domain.money import CENT, to_cents

ZERO = Decimal("0.00")
_CREDITABLE = frozenset({InvoiceStatus.FINALIZED, InvoiceStatus.PAID})


class CreditNoteError(ValueError):
    """A credit note that cannot be issued as it stands; nothing is recorded."""


def can_issue_credit_note(status: InvoiceStatus) -> bool:
    """A note corrects finalized or paid invoices; a draft is regenerated, a void is gone."""
    return InvoiceStatus(status) in _CREDITABLE


@dataclass(frozen=True, slots=True)
class CreditNoteLine:
    """An amount credited against one invoice line (position counted from 1)."""

    invoice_line_position: int
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A correction of one invoice: the lines it credits and the tax credit that follows."""

    id: str
    invoice_id: str
    org: str
    currency: str
    lines: tuple[CreditNoteLine, ...]
    reason: str
    tax: Decimal = ZERO

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))

    @property
    def subtotal(self) -> Decimal:
        """Σ credited line amounts."""
        return sum((ln.amount for ln in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        """Σ lines + tax credit: what the org is credited."""
        return self.subtotal + self.tax


def tax_rate(invoice: BillingDocument) -> Decimal | None:
    """The invoice's tax rate, or None when it had no tax line."""
    taxes = [ln for ln in invoice.lines if ln.kind is LineKind.TAX]
    if not taxes:
        return None
    if taxes[0].unit_price is not None:
        return taxes[0].unit_price
    if invoice.subtotal == 0:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 40
        return invoice.tax / invoice.subtotal


def credit_note_tax(
    invoice: BillingDocument, earlier_notes: Sequence[CreditNote], credited_subtotal: Decimal
) -> Decimal:
    """The tax credit a note of credited_subtotal carries (module docstring: the rule)."""
    rate = tax_rate(invoice)
    if rate is None:
        return ZERO
    with localcontext() as ctx:
        ctx.prec = 40
        proportional = to_cents(rate * credited_subtotal)
    left = invoice.tax - sum((n.tax for n in earlier_notes), ZERO)
    return max(ZERO, min(proportional, left))


def make_credit_note(
    invoice: BillingDocument,
    invoice_id: str,
    earlier_notes: Sequence[CreditNote],
    id: str,
    lines: Sequence[CreditNoteLine],
    reason: str,
) -> CreditNote:
    """A checked credit note with its tax credit computed by the rule."""
    subtotal = sum((ln.amount for ln in lines), ZERO)
    note = CreditNote(
        id=id,
        invoice_id=invoice_id,
        org=invoice.org,
        currency=invoice.currency,
        lines=tuple(lines),
        reason=reason,
        tax=credit_note_tax(invoice, _same_invoice(earlier_notes, invoice_id), subtotal),
    )
    check_credit_note(invoice, invoice_id, earlier_notes, note)
    return note


def check_credit_note(
    invoice: BillingDocument,
    invoice_id: str,
    earlier_notes: Sequence[CreditNote],
    note: CreditNote,
) -> None:
    """Raise CreditNoteError naming the field unless the note may be issued on this invoice.

    `earlier_notes` are the notes already issued (notes of other invoices are ignored).
    """
    if note.invoice_id != invoice_id:
        raise CreditNoteError(f"invoice_id: note is for {note.invoice_id}, not {invoice_id}")
    if note.org != invoice.org:
        raise CreditNoteError(f"org: note is for {note.org}, the invoice for {invoice.org}")
    if note.currency != invoice.currency:
        raise CreditNoteError(
            f"currency: note is in {note.currency}, the invoice in {invoice.currency}"
        )
    if not note.reason.strip():
        raise CreditNoteError("reason: a credit note needs a reason")
    if not note.lines:
        raise CreditNoteError("lines: a credit note credits at least one line")
    earlier = _same_invoice(earlier_notes, invoice_id)
    if any(n.id == note.id for n in earlier):
        raise CreditNoteError(f"id: credit note {note.id} was already issued")
    credited = _credited(earlier)
    for i, line in enumerate(note.lines, start=1):
        target = _line_at(invoice.lines, line.invoice_line_position, i)
        field = f"lines[{i}].amount"
        if (
            not isinstance(line.amount, Decimal)
            or not line.amount.is_finite()
            or line.amount != line.amount.quantize(CENT)
        ):
            raise CreditNoteError(f"{field} must be a Decimal in whole cents, got {line.amount!r}")
        if line.amount <= 0:
            raise CreditNoteError(f"{field} must be > 0, got {line.amount}")
        pos = line.invoice_line_position
        credited[pos] = credited.get(pos, ZERO) + line.amount
        if credited[pos] > target.amount:
            left = target.amount - (credited[pos] - line.amount)
            raise CreditNoteError(
                f"{field}: {line.amount} exceeds what remains of invoice line {pos}"
                f" ({left} of {target.amount})"
            )
    expected = credit_note_tax(invoice, earlier, note.subtotal)
    if note.tax != expected:
        raise CreditNoteError(f"tax: the tax credit must be {expected}, got {note.tax}")


def _same_invoice(notes: Sequence[CreditNote], invoice_id: str) -> list[CreditNote]:
    return [n for n in notes if n.invoice_id == invoice_id]


def _credited(notes: Sequence[CreditNote]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for note in notes:
        for line in note.lines:
            pos = line.invoice_line_position
            out[pos] = out.get(pos, ZERO) + line.amount
    return out


def _line_at(lines: Sequence[DocumentLine], position: int, index: int) -> DocumentLine:
    field = f"lines[{index}].invoice_line_position"
    if isinstance(position, bool) or not isinstance(position, int):
        raise CreditNoteError(f"{field} must be an integer, got {position!r}")
    if not 1 <= position <= len(lines):
        raise CreditNoteError(f"{field}: the invoice has no line {position} (1 to {len(lines)})")
    line = lines[position - 1]
    if line.kind is LineKind.TAX:
        raise CreditNoteError(f"{field}: line {position} is the tax line; tax follows the lines")
    if line.amount <= 0:
        raise CreditNoteError(f"{field}: line {position} has nothing to credit ({line.amount})")
    return line
