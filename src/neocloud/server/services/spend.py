"""Real-time spend: what an org has run up so far this period, running work included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.periods import month_bounds, period_of
from neocloud.billing.rating import RatedInvoice, rate_invoice, rate_statement
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.money import to_cents
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.schemas import billing as api
from neocloud.server.auth import Principal
from neocloud.server.services.costs import unit_cost_by_gpu_type
from neocloud.server.services.prices import load_price_book
from neocloud.server.services.tenancy import resolve_org, resolve_project
from neocloud.server.services.usage import records_in, span_of
from neocloud.store.models import AllocationRow, JobRow, OrgRow


@dataclass(frozen=True, slots=True)
class Spend:
    """An org's (or project's) spend in the period up to `as_of`, before tax and credits."""

    org_id: str
    project_id: str | None
    period: str
    as_of: datetime
    amount: Decimal
    currency: str
    rated: RatedInvoice


def running_spans(s: Session, org_id: str, start: datetime, now: datetime) -> list[UsageSpan]:
    """Allocations still running, as spans from their start (or `start`) up to `now`."""
    rows = s.execute(
        select(AllocationRow, JobRow)
        .join(JobRow, JobRow.id == AllocationRow.job_id)
        .where(
            JobRow.org_id == org_id,
            AllocationRow.ended_at.is_(None),
            AllocationRow.started_at.is_not(None),
            AllocationRow.started_at < now,
        )
        .order_by(AllocationRow.id)
    ).all()
    spans = []
    for alloc, job in rows:
        assert alloc.started_at is not None
        spans.append(
            UsageSpan(
                id="run_" + alloc.id,
                org=org_id,
                project=job.project_id,
                job=job.id,
                gpu_type=alloc.gpu_type,
                tier=Tier(job.tier),
                region=alloc.region,
                gpus=len(alloc.gpu_indices),
                start=max(alloc.started_at, start),
                end=now,
            )
        )
    return spans


def period_spend(s: Session, org: OrgRow, now: datetime, project_id: str | None = None) -> Spend:
    """Spend so far in the period `now` falls in: ended usage plus running allocations to now.

    External orgs at price, internal ones at cost; within seconds of the usage because running
    work counts up to the moment of the question, not only once it ends.
    """
    period = period_of(now)
    start, _ = month_bounds(period)
    spans = [span_of(r) for r in records_in(s, start, now, org.id)]
    spans += running_spans(s, org.id, start, now)
    if project_id is not None:
        spans = [sp for sp in spans if sp.project == project_id]
    if OrgKind(org.kind) is OrgKind.INTERNAL:
        rated = rate_statement(org.id, start, now, spans, unit_cost_by_gpu_type(s))
    else:
        rated = rate_invoice(org.id, start, now, spans, load_price_book(s))
    return Spend(org.id, project_id, period, now, rated.total, rated.currency, rated)


def spend_now(
    s: Session, p: Principal, org_ident: str | None, project_ident: str | None, now: datetime
) -> api.Spend:
    """The caller's (or a visible org's) spend so far this period, optionally for one project."""
    p.require(Permission.READ_BILLING)
    if org_ident:
        org = resolve_org(s, p, org_ident)
    else:
        own = s.get(OrgRow, p.org_id)
        assert own is not None
        org = own
    project_id = resolve_project(s, org, project_ident).id if project_ident else None
    spend = period_spend(s, org, now, project_id)
    return api.Spend(
        org_id=org.id,
        project_id=project_id,
        period=spend.period,
        as_of=spend.as_of,
        amount=to_cents(spend.amount),
        currency=spend.currency,
        lines=[
            api.InvoiceLine(
                description=ln.description,
                meter="gpu_seconds",
                gpu_type=ln.gpu_type,
                tier=ln.tier,
                quantity=ln.quantity,
                unit=ln.unit,
                unit_price=ln.unit_price,
                amount=ln.amount,
            )
            for ln in spend.rated.lines
        ],
    )
