"""Cost and usage exports of a billing period: FOCUS 1.2 and plain CSV."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from neocloud.server.billing import exports as svc
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.files import send
from neocloud.server.http.org_failures import ORG_FAILED_RESPONSE

router = APIRouter(prefix="/v1/exports", tags=["exports"])
Period = Query(description="a month, YYYY-MM", examples=["2026-11"])


@router.get(
    "/focus",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}},
        **ORG_FAILED_RESPONSE,
    },
)
def focus(
    ctx: Ctx,
    p: Caller,
    period: str = Period,
    org: str | None = None,
    format: str = Query("csv", description="csv, or parquet when the server has pyarrow"),
) -> Response:
    """FOCUS 1.2 rows of the period's finalized and paid invoices (docs/focus.md)."""
    with ctx.db.session() as s:
        return send(svc.focus(s, p, period, org, format))


@router.get(
    "/usage.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **ORG_FAILED_RESPONSE},
)
def usage_csv(ctx: Ctx, p: Caller, period: str = Period, org: str | None = None) -> Response:
    """One row per line of the period's finalized and paid invoices, with number and org."""
    with ctx.db.session() as s:
        return send(svc.usage_csv(s, p, period, org))
