"""The margin route: revenue, used and idle cost and gross margin over a window."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fastapi import APIRouter, Query, Response

from neocloud.economics.margin.idle_share import IdleShare
from neocloud.economics.margin.price_guide import DEFAULT_TARGET_MARGIN_PCT
from neocloud.schemas import billing as api
from neocloud.schemas.common import ErrorEnvelope
from neocloud.server.economics import margin as margin_svc
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.errors import invalid
from neocloud.server.http.params import window

router = APIRouter(prefix="/v1", tags=["billing"])

# About ten years of months.
MAX_MARGIN_DAYS = 3660


@router.get(
    "/margin",
    response_model=api.MarginReport,
    responses={
        409: {
            "model": ErrorEnvelope,
            "description": "Usage on capacity the fleet no longer describes (`missing_capacity`)",
        }
    },
)
def margin(
    ctx: Ctx,
    p: Caller,
    response: Response,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    idle: IdleShare = Query(
        IdleShare.LINE, description="Idle cost: its own line, or shared evenly or by used cost."
    ),
    target_margin_pct: Decimal = Query(
        DEFAULT_TARGET_MARGIN_PCT, ge=0, lt=100, description="Margin the target price reaches."
    ),
) -> api.MarginReport:
    """Revenue, used and idle cost and gross margin over a window, by every slice, with prices."""
    lo, hi = window(from_, to, utcnow())
    # The report has a row per month and GPU type: a window of centuries is work, not a question.
    if hi - lo > timedelta(days=MAX_MARGIN_DAYS):
        raise invalid("to", f"the window may span at most {MAX_MARGIN_DAYS} days")
    with ctx.db.session() as s:
        return margin_svc.report(s, p, lo, hi, utcnow(), idle, target_margin_pct)
