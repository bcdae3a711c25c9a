"""Price-book routes: what each GPU type and tier costs, effective from a date."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.schemas import billing as api
from neocloud.server.fleet import prices as price_svc
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx, ProjectCaller

router = APIRouter(prefix="/v1", tags=["billing"])


@router.put("/prices", response_model=api.Price)
def set_price(body: api.PriceSet, ctx: Ctx, p: Caller) -> api.Price:
    """Add a price-book entry (effective from its date)."""
    with ctx.db.session() as s:
        return price_svc.set_price(s, p, body, utcnow())


@router.get("/prices", response_model=list[api.Price])
def list_prices(ctx: Ctx, p: ProjectCaller) -> list[api.Price]:
    """The price book."""
    with ctx.db.session() as s:
        return price_svc.list_prices(s, p)
