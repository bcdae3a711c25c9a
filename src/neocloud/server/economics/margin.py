"""Gross margin over a window: revenue as the invoices rate it, cost from the cost model.

Revenue is what composition bills, month by month: usage at price (GPU time and every metered
unit), reserved contract fees, discounts (spread over the usage lines they reduce) and minimum
spend true-ups of whole months inside the window. Tax is not revenue and is left out. Late
usage counts in the month it happened (the margin of a month is what that month earned, however
late it was invoiced). Internal use earns nothing; its opportunity value is its GPU time rated at
the on-demand price in force.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.composition import OrgTerms, compose_invoice
from neocloud.billing.document import BillingDocument, LineKind
from neocloud.billing.periods import month_bounds, month_slices
from neocloud.billing.pricebook import price_at
from neocloud.billing.rating import RatingError
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.money import DEFAULT_CURRENCY
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.economics.exact import split_exactly
from neocloud.economics.margin.analysis import (
    CapacityBlock,
    MarginReport,
    MissingCapacity,
    RevenueItem,
    margin_analysis,
)
from neocloud.economics.margin.idle_share import IdleShare
from neocloud.schemas import billing as api
from neocloud.server.fleet.costs import load_capacity_blocks
from neocloud.server.fleet.service import current_fleet
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import ApiError
from neocloud.server.http.org_failures import Loop, OrgFailure, failure_out, per_org
from neocloud.server.metering.rating_inputs import (
    Books,
    contracts_of,
    events_in,
    load_books,
    terms_and_currency,
)
from neocloud.server.metering.spend import running_spans
from neocloud.server.metering.usage import check_window, records_in, span_of
from neocloud.store.models import OrgRow

_REVENUE_KINDS = (LineKind.USAGE, LineKind.CONTRACT, LineKind.MINIMUM_COMMITMENT)


def report(
    s: Session,
    p: Principal,
    start: datetime,
    end: datetime,
    now: datetime,
    idle_share: IdleShare,
    target_margin_pct: Decimal,
) -> api.MarginReport:
    """The margin report the operator reads: every breakdown and the price guide."""
    p.require(Permission.OPERATE)
    check_window(start, end)
    failed: list[OrgFailure] = []
    analysis = analyse(s, start, end, now, idle_share, target_margin_pct, failed)
    out = api.MarginReport.model_validate(analysis, from_attributes=True)
    out.failed_orgs = [failure_out(f) for f in failed]
    names = {o.id: o.name for o in s.scalars(select(OrgRow)).all()}
    for row in out.by_org:
        row.org_name = names.get(row.org or "")
    return out


def analyse(
    s: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    idle_share: IdleShare,
    target_margin_pct: Decimal,
    failed: list[OrgFailure] | None = None,
) -> MarginReport:
    """The core margin analysis over the store's usage, revenue, prices and capacity.

    An org whose revenue cannot be worked out is left out and appended to `failed` (and
    recorded by org_failures); its usage still costs what it cost.
    """
    capacity = load_capacity_blocks(s)
    currency = _currency(s)
    books = load_books(s)
    orgs = list(s.scalars(select(OrgRow).order_by(OrgRow.id)).all())
    spans = [span_of(r) for r in records_in(s, start, end, None)]
    if now > start:
        for org in orgs:
            spans += running_spans(s, org.id, start, min(now, end))
    by_org: dict[str, list[UsageSpan]] = defaultdict(list)
    for span in spans:
        by_org[span.org].append(span)
    revenue: list[RevenueItem] = []
    opportunity: list[RevenueItem] = []
    for org in orgs:
        mine = by_org.get(org.id, [])
        with per_org(Loop.MARGIN, org.id, org.name, s) as attempt:
            if OrgKind(org.kind) is OrgKind.INTERNAL:
                opportunity += _opportunity(org, mine, start, end, books, currency)
            else:
                revenue += _revenue(s, org, mine, start, end, books, currency)
        if attempt.failure is not None and failed is not None:
            failed.append(attempt.failure)
    try:
        return margin_analysis(
            start,
            end,
            capacity,
            spans,
            revenue,
            idle_share=idle_share,
            opportunity=opportunity,
            list_prices=_list_prices(books, capacity, end, currency),
            target_margin_pct=target_margin_pct,
            currency=currency,
        )
    except MissingCapacity as exc:
        raise ApiError(409, "missing_capacity", f"cannot cost usage: {exc}") from exc


def _revenue(
    s: Session,
    org: OrgRow,
    spans: list[UsageSpan],
    start: datetime,
    end: datetime,
    books: Books,
    currency: str,
) -> list[RevenueItem]:
    terms, org_currency = terms_and_currency(s, org.id)
    events = events_in(s, org.id, start, end)
    contracts = contracts_of(s, org.id, start, end)
    if not spans and not events and not contracts and terms.minimum_spend == 0:
        return []
    if org_currency != currency:
        raise ApiError(
            409,
            "currency_mismatch",
            f"org {org.name} is billed in {org_currency} but the fleet costs are in {currency}:"
            " margins cannot add the two",
            {"org": org.name},
        )
    items: list[RevenueItem] = []
    for month, lo, hi in month_slices(start, end):
        # A minimum spend is per whole month: a window holding part of a month cannot say yet
        # whether the month falls short. Tax is not revenue.
        whole = (lo, hi) == month_bounds(month)
        month_terms = OrgTerms(
            discount_percent=terms.discount_percent,
            minimum_spend=terms.minimum_spend if whole else Decimal(0),
        )
        try:
            doc = compose_invoice(
                org.id,
                lo,
                hi,
                spans,
                events,
                books.meters,
                books.prices,
                contracts,
                month_terms,
                currency,
            )
        except RatingError as exc:
            raise ApiError(
                409, "missing_price", f"cannot rate org {org.name}: {exc}", {"org": org.name}
            ) from exc
        items += _items(org.id, month, doc)
    return items


def _items(org_id: str, month: str, doc: BillingDocument) -> list[RevenueItem]:
    """A document's revenue lines, each discount spread over the usage lines it reduces."""
    usage = [ln for ln in doc.lines if ln.kind is LineKind.USAGE and ln.amount > 0]
    items = [
        RevenueItem(org_id, month, ln.amount, ln.gpu_type, ln.tier, ln.region)
        for ln in doc.lines
        if ln.kind in _REVENUE_KINDS and ln.amount != 0
    ]
    for discount in (ln for ln in doc.lines if ln.kind is LineKind.DISCOUNT):
        if not usage:
            items.append(RevenueItem(org_id, month, discount.amount))
            continue
        parts = split_exactly(discount.amount, [ln.amount for ln in usage])
        items += [
            RevenueItem(org_id, month, part, ln.gpu_type, ln.tier, ln.region)
            for ln, part in zip(usage, parts, strict=True)
        ]
    return items


def _opportunity(
    org: OrgRow,
    spans: list[UsageSpan],
    start: datetime,
    end: datetime,
    books: Books,
    currency: str,
) -> list[RevenueItem]:
    """Internal GPU time at the on-demand price it displaced, per GPU type that has one."""
    by_type: dict[str, list[UsageSpan]] = defaultdict(list)
    for span in spans:
        by_type[span.gpu_type].append(dataclasses.replace(span, tier=Tier.ON_DEMAND))
    items: list[RevenueItem] = []
    for month, lo, hi in month_slices(start, end):
        for gpu_type in sorted(by_type):
            typed = by_type[gpu_type]
            try:
                doc = compose_invoice(
                    org.id, lo, hi, typed, (), (), books.prices, currency=currency
                )
            except RatingError:
                # No on-demand price for this GPU type: nothing external was displaced that
                # the book can value; the report shows opportunity only where a price exists.
                continue
            items += [
                RevenueItem(org.id, month, ln.amount, ln.gpu_type, Tier.INTERNAL, ln.region)
                for ln in doc.lines
                if ln.kind is LineKind.USAGE and ln.amount != 0
            ]
    return items


def _list_prices(
    books: Books, capacity: Iterable[CapacityBlock], end: datetime, currency: str
) -> dict[str, Decimal]:
    """The on-demand GPU-hour price in force at the window's end, per GPU type.

    A region-less price if there is one, else the price of the type's first region that has one.
    """
    at = end - timedelta(microseconds=1)
    book = [e for e in books.prices if e.currency == currency]
    prices: dict[str, Decimal] = {}
    regions: dict[str, list[str | None]] = defaultdict(list)
    for block in capacity:
        if block.region not in regions[block.gpu_type]:
            regions[block.gpu_type].append(block.region)
    for gpu_type, where in sorted(regions.items()):
        for region in [None, *where]:
            entry = price_at(book, gpu_type, Tier.ON_DEMAND, at, region)
            if entry is not None:
                prices[gpu_type] = entry.unit_price
                break
    return prices


def _currency(s: Session) -> str:
    """The fleet's cost currency (the fleet file holds every node model to one)."""
    fleet = current_fleet(s)
    if fleet is None or not fleet.node_models:
        return DEFAULT_CURRENCY
    return next(iter(fleet.node_models.values())).currency
