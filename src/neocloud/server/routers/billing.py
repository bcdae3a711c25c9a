"""Usage, prices, invoices and margin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, Query, Response

from neocloud.domain.text import instant_problem
from neocloud.economics.idle_share import IdleShare
from neocloud.economics.price_guide import DEFAULT_TARGET_MARGIN_PCT
from neocloud.schemas import billing as api
from neocloud.schemas.common import ErrorEnvelope, Page
from neocloud.server.clock import utcnow
from neocloud.server.context import Caller, Ctx, ProjectCaller
from neocloud.server.errors import invalid
from neocloud.server.org_failures import FAILED_ORGS_HEADER, ORG_FAILED_RESPONSE
from neocloud.server.pagination import Limit
from neocloud.server.services import invoices as invoice_svc
from neocloud.server.services import margin as margin_svc
from neocloud.server.services import prices as price_svc
from neocloud.server.services import spend as spend_svc
from neocloud.server.services import usage as usage_svc

router = APIRouter(prefix="/v1", tags=["billing"])
# About ten years of months.
MAX_MARGIN_DAYS = 3660


def parse_instant(field: str, value: str) -> datetime:
    """An ISO date (midnight UTC) or an ISO datetime with a timezone."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            t = datetime(d.year, d.month, d.day, tzinfo=UTC)
        else:
            t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise invalid(field, f"not an ISO date or datetime: {value!r}") from exc
    if t.tzinfo is None:
        raise invalid(field, "datetime must include a timezone (use Z for UTC)")
    problem = instant_problem(t)
    if problem is not None:
        raise invalid(field, problem)
    return t.astimezone(UTC)


def window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[from, to) with defaults: the current month so far."""
    now = utcnow()
    lo = (
        parse_instant("from", start)
        if start
        else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    hi = parse_instant("to", end) if end else now
    return lo, hi


@router.get("/usage/records", response_model=Page[api.UsageRecord])
def usage_records(
    ctx: Ctx,
    p: ProjectCaller,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    org: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.UsageRecord]:
    """Immutable usage records overlapping the window."""
    lo, hi = window(from_, to)
    with ctx.db.session() as s:
        items, nxt = usage_svc.list_records(s, p, lo, hi, org, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get("/usage/summary", response_model=list[api.UsageSummaryRow])
def usage_summary(
    ctx: Ctx,
    p: ProjectCaller,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    org: str | None = None,
    group_by: str = "org,gpu_type,tier",
) -> list[api.UsageSummaryRow]:
    """GPU-seconds grouped by org, project, GPU type, tier and/or day."""
    lo, hi = window(from_, to)
    keys = [k.strip() for k in group_by.split(",") if k.strip()]
    with ctx.db.session() as s:
        return usage_svc.summary(s, p, lo, hi, org, keys)


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


@router.get("/spend", response_model=api.Spend, responses=ORG_FAILED_RESPONSE)
def spend(
    ctx: Ctx, p: ProjectCaller, org: str | None = None, project: str | None = None
) -> api.Spend:
    """Spend so far this period (running work counted up to now), before tax and credits."""
    with ctx.db.session() as s:
        return spend_svc.spend_now(s, p, org, project, utcnow())


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
    lo, hi = window(from_, to)
    # The report has a row per month and GPU type: a window of centuries is work, not a question.
    if hi - lo > timedelta(days=MAX_MARGIN_DAYS):
        raise invalid("to", f"the window may span at most {MAX_MARGIN_DAYS} days")
    with ctx.db.session() as s:
        return margin_svc.report(s, p, lo, hi, utcnow(), idle, target_margin_pct)
