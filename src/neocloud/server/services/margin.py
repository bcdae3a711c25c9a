"""Gross margin over a window: revenue from rating, cost from the cost model, idle separate."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.rating import MissingPrice, rate_invoice
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.economics.margin import MissingCapacity, margin_report
from neocloud.schemas import billing as api
from neocloud.server.auth import Principal
from neocloud.server.errors import ApiError
from neocloud.server.services.costs import capacity_blocks
from neocloud.server.services.prices import load_price_book
from neocloud.server.services.usage import check_window, records_in, span_of
from neocloud.store.models import OrgRow


def report(s: Session, p: Principal, start: datetime, end: datetime) -> api.MarginReport:
    """The margin report the operator reads (external revenue at price, internal use at cost)."""
    p.require(Permission.OPERATE)
    check_window(start, end)
    kinds = {o.id: OrgKind(o.kind) for o in s.scalars(select(OrgRow)).all()}
    spans = [span_of(r) for r in records_in(s, start, end, None)]
    book = load_price_book(s)
    by_org: dict[str, list[UsageSpan]] = defaultdict(list)
    for span in spans:
        if kinds.get(span.org) is OrgKind.EXTERNAL:
            by_org[span.org].append(span)
    revenue: dict[tuple[str, Tier], Decimal] = defaultdict(Decimal)
    for org_id, org_spans in sorted(by_org.items()):
        try:
            rated = rate_invoice(org_id, start, end, org_spans, book)
        except MissingPrice as exc:
            raise ApiError(409, "missing_price", f"cannot rate usage: {exc}") from exc
        for line in rated.lines:
            revenue[(line.gpu_type, line.tier)] += line.amount
    try:
        m = margin_report(start, end, capacity_blocks(s), spans, dict(revenue))
    except MissingCapacity as exc:
        raise ApiError(409, "missing_capacity", f"cannot cost usage: {exc}") from exc
    return api.MarginReport.model_validate(m, from_attributes=True)
