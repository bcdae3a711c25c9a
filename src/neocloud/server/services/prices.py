"""The price book: effective-dated $/GPU-hour per GPU type × tier (× region)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.pricebook import PriceEntry
from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.schemas import billing as api
from neocloud.server.auth import Principal
from neocloud.server.errors import invalid
from neocloud.server.services.gpu_types import require_gpu_type
from neocloud.store.ids import new_id
from neocloud.store.models import PriceRow


def load_price_book(s: Session) -> list[PriceEntry]:
    """Every price entry, as the pure rating code takes them."""
    return [
        PriceEntry(
            gpu_type=r.gpu_type,
            tier=Tier(r.tier),
            unit_price=r.unit_price,
            currency=r.currency,
            effective_from=r.effective_from,
            region=r.region,
        )
        for r in s.scalars(select(PriceRow).order_by(PriceRow.effective_from, PriceRow.id)).all()
    ]


def price_out(r: PriceRow) -> api.Price:
    """Wire form of a price entry."""
    return api.Price(
        id=r.id,
        gpu_type=r.gpu_type,
        tier=Tier(r.tier),
        region=r.region,
        unit_price=r.unit_price,
        currency=r.currency,
        effective_from=r.effective_from,
    )


def set_price(s: Session, p: Principal, body: api.PriceSet, now: datetime) -> api.Price:
    """Add a price entry (prices are never edited: a new entry takes effect from its date)."""
    p.require(Permission.OPERATE)
    return add_price(s, body, now)


def add_price(s: Session, body: api.PriceSet, now: datetime) -> api.Price:
    """Add a price entry without an auth check (seeding uses this)."""
    if body.effective_from.tzinfo is None:
        raise invalid("effective_from", "must include a timezone")
    require_gpu_type(s, body.gpu_type)
    row = PriceRow(
        id=new_id("prc"),
        gpu_type=body.gpu_type,
        tier=body.tier.value,
        region=body.region,
        unit_price=body.unit_price,
        currency=body.currency,
        effective_from=body.effective_from,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return price_out(row)


def list_prices(s: Session, p: Principal) -> list[api.Price]:
    """The price book; external orgs don't see internal-tier entries."""
    rows = s.scalars(
        select(PriceRow).order_by(PriceRow.gpu_type, PriceRow.tier, PriceRow.effective_from)
    ).all()
    if p.org_kind is OrgKind.EXTERNAL:
        rows = [r for r in rows if r.tier != Tier.INTERNAL.value]
    return [price_out(r) for r in rows]
