"""Cost and usage exports of a billing period: FOCUS 1.2 and plain CSV."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from neocloud.server.context import Caller, Ctx
from neocloud.server.org_failures import FAILED_ORGS_HEADER, ORG_FAILED_RESPONSE
from neocloud.server.services import exports as svc

router = APIRouter(prefix="/v1/exports", tags=["exports"])
Period = Query(description="a month, YYYY-MM", examples=["2026-11"])


def send(file: svc.File) -> Response:
    """A file as a response named by Content-Disposition."""
    how = "attachment" if file.attachment else "inline"
    disposition = {"Content-Disposition": f'{how}; filename="{file.filename}"'}
    if file.failed_orgs:
        # The file holds every other org; these could not be exported (see /v1/health/orgs).
        disposition[FAILED_ORGS_HEADER] = ", ".join(file.failed_orgs)
    if isinstance(file.content, dict):
        return JSONResponse(file.content, headers=disposition)
    return Response(file.content, media_type=file.media_type, headers=disposition)


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
