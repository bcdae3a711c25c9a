"""An invoice after finalization: pay, void, credit notes, and its document."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from neocloud.domain.tenancy import Permission
from neocloud.schemas import invoice_documents as api
from neocloud.server.billing import credit_notes as notes_svc
from neocloud.server.billing import exports as export_svc
from neocloud.server.billing import invoice_status as status_svc
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.files import send
from neocloud.server.http.idempotency import Create

router = APIRouter(prefix="/v1", tags=["invoices"])


@router.post("/invoices/{invoice_id}/pay", response_model=api.InvoiceStatusChange)
def pay_invoice(
    invoice_id: str,
    op: Create,
    body: api.InvoicePay | None = None,
) -> object:
    """Mark a finalized invoice paid (operator)."""
    given = body or api.InvoicePay()
    return op.run(
        given,
        lambda s: status_svc.pay(s, op.caller, invoice_id, given, op.now),
        permission=Permission.OPERATE,
    )


@router.post("/invoices/{invoice_id}/void", response_model=api.InvoiceStatusChange)
def void_invoice(
    invoice_id: str,
    body: api.InvoiceVoid,
    op: Create,
) -> object:
    """Void a finalized invoice (operator): its number stays used, applied credit goes back."""
    return op.run(
        body,
        lambda s: status_svc.void(s, op.caller, invoice_id, body, op.now),
        permission=Permission.OPERATE,
    )


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201, response_model=api.CreditNote)
def create_credit_note(
    invoice_id: str,
    body: api.CreditNoteCreate,
    op: Create,
) -> object:
    """Credit lines of a finalized or paid invoice (operator)."""
    return op.run(
        body,
        lambda s: notes_svc.create(s, op.caller, invoice_id, body, op.now),
        permission=Permission.OPERATE,
    )


@router.get("/invoices/{invoice_id}/credit-notes", response_model=list[api.CreditNote])
def list_credit_notes(invoice_id: str, ctx: Ctx, p: Caller) -> list[api.CreditNote]:
    """An invoice's credit notes, in number order."""
    with ctx.db.session() as s:
        return notes_svc.list_for_invoice(s, p, invoice_id)


@router.get("/credit-notes/{note_id}", response_model=api.CreditNote)
def get_credit_note(note_id: str, ctx: Ctx, p: Caller) -> api.CreditNote:
    """One credit note."""
    with ctx.db.session() as s:
        return notes_svc.get(s, p, note_id)


@router.get(
    "/invoices/{invoice_id}/document",
    response_class=Response,
    responses={
        200: {
            "description": "the invoice as issued, in the format asked for",
            "content": {"application/json": {}, "text/csv": {}, "text/html": {}},
        }
    },
)
def invoice_document(
    invoice_id: str,
    ctx: Ctx,
    p: Caller,
    format: str = Query("json", description="json, csv or html"),
) -> Response:
    """The invoice as a document: exact JSON, CSV (one row per line) or a printable HTML page."""
    with ctx.db.session() as s:
        return send(export_svc.document(s, p, invoice_id, format))
