"""Billing terms, credit grants and the credit ledger."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.domain.tenancy import Permission
from neocloud.schemas import credits as api
from neocloud.server.billing import credits as svc
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.idempotency import Create

router = APIRouter(prefix="/v1", tags=["credits"])


@router.get("/orgs/{org}/billing-terms", response_model=api.BillingTerms)
def get_terms(org: str, ctx: Ctx, p: Caller) -> api.BillingTerms:
    """An org's commercial terms: currency, discount, minimum spend, tax, credit limit."""
    with ctx.db.session() as s:
        return svc.get_terms(s, p, org)


@router.put("/orgs/{org}/billing-terms", response_model=api.BillingTerms)
def set_terms(org: str, body: api.BillingTermsSet, ctx: Ctx, p: Caller) -> api.BillingTerms:
    """Set an external org's terms (operator)."""
    with ctx.db.session() as s:
        return svc.set_terms(s, p, org, body, utcnow())


@router.post("/credits/grants", status_code=201, response_model=api.Grant)
def create_grant(
    body: api.GrantCreate,
    op: Create,
) -> object:
    """Give an org prepaid credit or a promotional grant (operator)."""
    return op.run(
        body,
        lambda s: svc.create_grant(s, op.caller, body, op.now),
        permission=Permission.OPERATE,
    )


@router.get("/credits", response_model=api.CreditStatus)
def credit_status(ctx: Ctx, p: Caller, org: str | None = None) -> api.CreditStatus:
    """Grants in consumption order, available credit, and the prepaid limit position."""
    with ctx.db.session() as s:
        return svc.status(s, p, org, utcnow())


@router.get("/credits/ledger", response_model=list[api.LedgerPosting])
def credit_ledger(ctx: Ctx, p: Caller, org: str | None = None) -> list[api.LedgerPosting]:
    """Every posting of the org's credit ledger, in the order appended."""
    with ctx.db.session() as s:
        return svc.ledger_postings(s, p, org)
