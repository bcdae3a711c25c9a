"""The price book: effective-dated prices per meter × GPU type × tier (× region)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.charges import Charge, ChargeModel, PriceTier
from neocloud.billing.document import GPU_METER
from neocloud.billing.pricebook import PriceEntry
from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.schemas import billing as api
from neocloud.server.fleet.gpu_types import require_gpu_type
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import invalid
from neocloud.store.ids import new_id
from neocloud.store.models import MeterRow, PriceRow


def charge_of(stored: dict[str, Any] | None) -> Charge | None:
    """The billing core's charge from its stored JSON form (decimals kept as strings)."""
    if stored is None:
        return None

    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return Charge(
        model=ChargeModel(stored["model"]),
        unit_price=dec(stored.get("unit_price")),
        tiers=tuple(
            PriceTier(
                up_to=dec(t.get("up_to")),
                unit_price=Decimal(str(t["unit_price"])),
                flat_fee=Decimal(str(t.get("flat_fee", "0"))),
            )
            for t in stored.get("tiers", [])
        ),
        package_size=dec(stored.get("package_size")),
        package_price=dec(stored.get("package_price")),
    )


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
            meter=r.meter,
            charge=charge_of(r.charge),
        )
        for r in s.scalars(select(PriceRow).order_by(PriceRow.effective_from, PriceRow.id)).all()
    ]


def price_out(r: PriceRow) -> api.Price:
    """Wire form of a price entry."""
    return api.Price(
        id=r.id,
        meter=r.meter,
        charge=api.ChargeIn.model_validate(r.charge) if r.charge else None,
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
    if body.meter == GPU_METER or body.gpu_type:
        require_gpu_type(s, body.gpu_type)
    if body.meter != GPU_METER and s.get(MeterRow, body.meter) is None:
        raise invalid("meter", f"unknown meter {body.meter!r}: declare it first")
    stored = body.charge.model_dump(mode="json") if body.charge else None
    try:
        PriceEntry(
            gpu_type=body.gpu_type,
            tier=body.tier,
            unit_price=body.unit_price,
            currency=body.currency,
            effective_from=body.effective_from,
            region=body.region,
            meter=body.meter,
            charge=charge_of(stored),
        )
    except ValueError as exc:
        raise invalid("charge" if body.charge else "unit_price", str(exc)) from exc
    row = PriceRow(
        id=new_id("prc"),
        gpu_type=body.gpu_type,
        tier=body.tier.value,
        region=body.region,
        unit_price=body.unit_price,
        currency=body.currency,
        effective_from=body.effective_from,
        created_at=now,
        meter=body.meter,
        charge=stored,
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
