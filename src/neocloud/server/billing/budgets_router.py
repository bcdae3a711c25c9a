"""Budgets with alert thresholds."""

from __future__ import annotations

from fastapi import APIRouter, Response

from neocloud.domain.tenancy import Permission
from neocloud.schemas import budgets as api
from neocloud.schemas.common import Page
from neocloud.server.billing import budgets as svc
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.idempotency import Create
from neocloud.server.http.pagination import Limit

router = APIRouter(prefix="/v1/budgets", tags=["budgets"])


@router.post("", status_code=201, response_model=api.Budget)
def create_budget(
    body: api.BudgetCreate,
    op: Create,
) -> object:
    """Set a monthly budget for an org or one of its projects."""
    return op.run(
        body,
        lambda s: svc.create(s, op.caller, body, op.now),
        permission=Permission.MANAGE_BILLING,
    )


@router.get("", response_model=Page[api.Budget])
def list_budgets(
    ctx: Ctx,
    p: Caller,
    org: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.Budget]:
    """Budgets with this period's spend, % used and thresholds reached."""
    with ctx.db.session() as s:
        items, nxt = svc.list_budgets(s, p, org, cursor, limit, utcnow())
    return Page(items=items, next_cursor=nxt)


@router.get("/{budget_id}", response_model=api.Budget)
def get_budget(budget_id: str, ctx: Ctx, p: Caller) -> api.Budget:
    """One budget with this period's spend."""
    with ctx.db.session() as s:
        return svc.get(s, p, budget_id, utcnow())


@router.delete("/{budget_id}", status_code=204)
def delete_budget(budget_id: str, ctx: Ctx, p: Caller) -> Response:
    """Remove a budget; alerts already sent stay in the event log."""
    with ctx.db.session() as s:
        svc.delete_budget(s, p, budget_id)
    return Response(status_code=204)
