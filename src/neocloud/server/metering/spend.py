"""Real-time spend: what an org has run up so far this period, running work included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.document import BillingDocument, LineKind
from neocloud.billing.periods import month_bounds, period_of
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.money import to_cents
from neocloud.domain.tenancy import Permission
from neocloud.schemas import billing as api
from neocloud.server.http.auth import Principal
from neocloud.server.http.org_failures import Loop, per_org
from neocloud.server.metering.rating_inputs import rate_period
from neocloud.server.tenancy.service import org_or_own, project_in_scope
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
    document: BillingDocument


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
    """Spend so far in the period `now` falls in: rated exactly as the invoice will be.

    Running allocations count up to the moment of the question, not only once they end, so
    spend follows usage within seconds. For one project, only its own usage counts (contracts
    and minimums are the org's).
    """
    period = period_of(now)
    start, _ = month_bounds(period)
    running = running_spans(s, org.id, start, now)
    # Records written this very second count: the cutoff is just after now.
    cutoff = now + timedelta(seconds=1)
    doc = rate_period(s, org, start, now, cutoff, running, project_id)
    return Spend(org.id, project_id, period, now, doc.subtotal, doc.currency, doc)


def spend_now(
    s: Session, p: Principal, org_ident: str | None, project_ident: str | None, now: datetime
) -> api.Spend:
    """The caller's (or a visible org's) spend so far this period, optionally for one project."""
    p.require(Permission.READ_BILLING)
    org = org_or_own(s, p, org_ident)
    project_id = project_in_scope(s, p, org, project_ident)
    # A failure is recorded where the org and the operator see it, and answered as a 409.
    with per_org(Loop.SPEND, org.id, org.name, answer=True):
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
                kind=ln.kind.value,
                description=ln.description,
                meter=ln.meter,
                gpu_type=ln.gpu_type,
                tier=ln.tier,
                region=ln.region,
                quantity=ln.quantity,
                unit=ln.unit,
                unit_price=ln.unit_price,
                amount=ln.amount,
                ref=ln.ref,
                service_start=ln.service_start,
                service_end=ln.service_end,
            )
            for ln in spend.document.lines
            if ln.kind is not LineKind.TAX
        ],
    )
