"""Invoice routes: draft a month, list, read and finalize invoices."""

from __future__ import annotations

from fastapi import APIRouter, Response

from neocloud.schemas import billing as api
from neocloud.schemas.common import Page
from neocloud.server.billing import invoices as invoice_svc
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.org_failures import FAILED_ORGS_HEADER
from neocloud.server.http.pagination import Limit

router = APIRouter(prefix="/v1", tags=["billing"])


@router.post("/invoices/generate", response_model=list[api.Invoice])
def generate_invoices(
    body: api.InvoiceGenerate, ctx: Ctx, p: Caller, response: Response
) -> list[api.Invoice]:
    """Draft invoices (external) and statements (internal) for a month.

    A run over every org drafts every org it can; orgs it could not draft are named by id in
    the Neocloud-Failed-Orgs header and in /v1/health/orgs.
    """
    failed: list[str] = []
    with ctx.db.session() as s:
        out = invoice_svc.generate(s, p, body, utcnow(), failed)
    if failed:
        response.headers[FAILED_ORGS_HEADER] = ", ".join(failed)
    return out


@router.get("/invoices", response_model=Page[api.Invoice])
def list_invoices(
    ctx: Ctx,
    p: Caller,
    org: str | None = None,
    period: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.Invoice]:
    """Invoices the caller may see."""
    with ctx.db.session() as s:
        items, nxt = invoice_svc.list_invoices(s, p, org, period, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get("/invoices/{invoice_id}", response_model=api.Invoice)
def get_invoice(invoice_id: str, ctx: Ctx, p: Caller) -> api.Invoice:
    """One invoice."""
    with ctx.db.session() as s:
        return invoice_svc.get(s, p, invoice_id)


@router.post("/invoices/{invoice_id}/finalize", response_model=api.Invoice)
def finalize_invoice(invoice_id: str, ctx: Ctx, p: Caller) -> api.Invoice:
    """Finalize a draft: numbered and immutable from now on."""
    with ctx.db.session() as s:
        return invoice_svc.finalize(
            s,
            p,
            invoice_id,
            ctx.settings.invoice_prefix,
            utcnow(),
            ctx.settings.usage_settle_seconds,
        )
