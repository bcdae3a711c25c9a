"""Budgets: a monthly amount per org or project, and alerts when spend crosses its thresholds.

Each threshold alerts at most once per budget and period. That is the database's promise, not
this code's: the alert row's primary key is (budget, period, threshold), so when two evaluators
race, one insert wins and the other's fails with an IntegrityError and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neocloud.billing.periods import period_of
from neocloud.domain.money import to_cents
from neocloud.domain.tenancy import Permission
from neocloud.schemas import budgets as api
from neocloud.schemas.events import BillingEventType
from neocloud.server.events.service import emit
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import invalid, not_found
from neocloud.server.http.org_failures import Loop, per_org
from neocloud.server.http.pagination import page_of, paginate
from neocloud.server.metering.spend import Spend, period_spend
from neocloud.server.tenancy.service import org_or_own, resolve_org, resolve_project
from neocloud.store.ids import new_id
from neocloud.store.models import BudgetAlertRow, BudgetRow, OrgRow

log = logging.getLogger("neocloud.budgets")
PERCENT_PLACES = Decimal("0.01")

SpendOf = Callable[[str, str | None], Spend | None]


def _spend_cache(s: Session, now: datetime) -> SpendOf:
    """Spend per (org, project), computed once per evaluation; None when it cannot be rated."""
    cache: dict[tuple[str, str | None], Spend | None] = {}

    def spend_of(org_id: str, project_id: str | None) -> Spend | None:
        key = (org_id, project_id)
        if key not in cache:
            org = s.get(OrgRow, org_id)
            assert org is not None
            # Usage that cannot be rated (no price yet, say): this budget shows no spend and
            # the failure is recorded for the org; the other orgs' budgets are listed.
            cache[key] = None
            with per_org(Loop.BUDGETS, org.id, org.name, s):
                cache[key] = period_spend(s, org, now, project_id)
        return cache[key]

    return spend_of


def _reached(s: Session, budget_id: str, period: str) -> list[int]:
    return sorted(
        s.scalars(
            select(BudgetAlertRow.threshold).where(
                BudgetAlertRow.budget_id == budget_id, BudgetAlertRow.period == period
            )
        ).all()
    )


def budget_out(s: Session, row: BudgetRow, spend: Spend | None, period: str) -> api.Budget:
    """Wire form of a budget with this period's spend and the thresholds already alerted."""
    usable = spend is not None and spend.currency == row.currency
    amount = to_cents(spend.amount) if usable and spend is not None else None
    percent = (
        (amount * 100 / row.amount).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)
        if amount is not None
        else None
    )
    return api.Budget(
        id=row.id,
        org_id=row.org_id,
        project_id=row.project_id,
        name=row.name,
        amount=to_cents(row.amount),
        currency=row.currency,
        thresholds=list(row.thresholds),
        created_at=row.created_at,
        period=period,
        spend=amount,
        percent_used=percent,
        reached=_reached(s, row.id, period),
    )


def create(s: Session, p: Principal, body: api.BudgetCreate, now: datetime) -> api.Budget:
    """Set a budget for the caller's org (or, for the operator, any org), or one of its projects."""
    p.require(Permission.MANAGE_BILLING)
    org = org_or_own(s, p, body.org)
    project_id = resolve_project(s, org, body.project).id if body.project else None
    spend = _spend_cache(s, now)(org.id, project_id)
    if spend is not None and spend.currency != body.currency:
        raise invalid(
            "currency", f"org {org.name} is billed in {spend.currency}; use {spend.currency}"
        )
    row = BudgetRow(
        id=new_id("bud"),
        org_id=org.id,
        project_id=project_id,
        name=body.name,
        amount=body.amount,
        currency=body.currency,
        thresholds=list(body.thresholds),
        created_at=now,
    )
    s.add(row)
    s.flush()
    return budget_out(s, row, spend, period_of(now))


def _visible(s: Session, p: Principal, budget_id: str) -> BudgetRow:
    row = s.get(BudgetRow, budget_id)
    if row is None or not p.can_see_org(row.org_id):
        raise not_found("budget", budget_id)
    return row


def list_budgets(
    s: Session,
    p: Principal,
    org_ident: str | None,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> tuple[list[api.Budget], str | None]:
    """Budgets the caller may see, each with its spend so far this period."""
    p.require(Permission.READ_BILLING)
    stmt = select(BudgetRow)
    if org_ident:
        stmt = stmt.where(BudgetRow.org_id == resolve_org(s, p, org_ident).id)
    elif not p.is_operator:
        stmt = stmt.where(BudgetRow.org_id == p.org_id)
    rows = s.scalars(paginate(stmt, BudgetRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    spend_of = _spend_cache(s, now)
    period = period_of(now)
    return [budget_out(s, r, spend_of(r.org_id, r.project_id), period) for r in items], nxt


def get(s: Session, p: Principal, budget_id: str, now: datetime) -> api.Budget:
    """One budget with its spend so far this period."""
    p.require(Permission.READ_BILLING)
    row = _visible(s, p, budget_id)
    return budget_out(s, row, _spend_cache(s, now)(row.org_id, row.project_id), period_of(now))


def delete_budget(s: Session, p: Principal, budget_id: str) -> None:
    """Remove a budget and its alert records (events already sent stay in the event log)."""
    p.require(Permission.MANAGE_BILLING)
    row = _visible(s, p, budget_id)
    s.execute(delete(BudgetAlertRow).where(BudgetAlertRow.budget_id == row.id))
    s.delete(row)
    s.flush()


def _record_once(
    s: Session, budget: BudgetRow, period: str, threshold: int, spend: Spend, now: datetime
) -> BudgetAlertRow | None:
    """Insert the alert and emit its event together, or neither if another evaluator won."""
    alert = BudgetAlertRow(
        budget_id=budget.id, period=period, threshold=threshold, spend=spend.amount, reached_at=now
    )
    try:
        with s.begin_nested():
            s.add(alert)
            s.flush()
            emit(
                s,
                budget.org_id,
                BillingEventType.BUDGET_THRESHOLD_REACHED,
                {
                    "budget_id": budget.id,
                    "budget_name": budget.name,
                    "org_id": budget.org_id,
                    "project_id": budget.project_id,
                    "period": period,
                    "threshold": threshold,
                    "spend": to_cents(spend.amount),
                    "amount": to_cents(budget.amount),
                    "currency": budget.currency,
                },
                now,
            )
    except IntegrityError:
        log.info(
            "budget %s: %s%% of %s was alerted by another evaluator", budget.id, threshold, period
        )
        return None
    return alert


def evaluate_budgets(s: Session, now: datetime) -> list[BudgetAlertRow]:
    """Alert every threshold each budget's spend has reached for the first time this period.

    Org by org: an org whose spend cannot be rated is recorded as failing (org_failures) and
    its budgets wait; every other org's budgets are evaluated.
    """
    period = period_of(now)
    by_org: dict[str, list[BudgetRow]] = {}
    for budget in s.scalars(select(BudgetRow).order_by(BudgetRow.id)).all():
        by_org.setdefault(budget.org_id, []).append(budget)
    alerts: list[BudgetAlertRow] = []
    for org_id, budgets in by_org.items():
        org = s.get(OrgRow, org_id)
        assert org is not None
        with per_org(Loop.BUDGETS, org.id, org.name, s):
            alerts += _evaluate_org(s, org, budgets, period, now)
    return alerts


def _evaluate_org(
    s: Session, org: OrgRow, budgets: list[BudgetRow], period: str, now: datetime
) -> list[BudgetAlertRow]:
    spends: dict[str | None, Spend] = {}
    alerts = []
    for budget in budgets:
        if budget.project_id not in spends:
            spends[budget.project_id] = period_spend(s, org, now, budget.project_id)
        spend = spends[budget.project_id]
        if spend.currency != budget.currency:
            continue
        done = set(_reached(s, budget.id, period))
        for threshold in budget.thresholds:
            # Exact: spend / amount ≥ threshold / 100, without dividing.
            if threshold in done or spend.amount * 100 < budget.amount * threshold:
                continue
            alert = _record_once(s, budget, period, threshold, spend, now)
            if alert is not None:
                alerts.append(alert)
    return alerts
