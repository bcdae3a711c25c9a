"""First-start seeding of the embedded cloud: demo fleet, a demo internal org, a price book."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind, Role
from neocloud.schemas.billing import PriceSet
from neocloud.schemas.tenancy import ApiKeyCreated
from neocloud.server.fleet.prices import add_price
from neocloud.server.fleet.service import current_fleet, load_fleet_text
from neocloud.server.tenancy.service import ensure_platform_org, issue_key
from neocloud.store.ids import new_id
from neocloud.store.models import ApiKeyRow, OrgRow, PriceRow, QuotaRow

DEMO_ORG = "research"
# List prices in the range GPU clouds charged in 2025-26 ($/GPU-hour), see docs/economics.md.
DEMO_PRICES: dict[str, dict[Tier, Decimal]] = {
    "h100": {
        Tier.RESERVED: Decimal("2.20"),
        Tier.ON_DEMAND: Decimal("2.99"),
        Tier.SPOT: Decimal("1.49"),
    },
    "h200": {
        Tier.RESERVED: Decimal("2.90"),
        Tier.ON_DEMAND: Decimal("3.79"),
        Tier.SPOT: Decimal("1.99"),
    },
    "a100": {
        Tier.RESERVED: Decimal("1.10"),
        Tier.ON_DEMAND: Decimal("1.49"),
        Tier.SPOT: Decimal("0.69"),
    },
}
PRICES_FROM = datetime(2026, 1, 1, tzinfo=UTC)


def demo_fleet_text() -> str:
    """The demo fleet shipped with neocloud."""
    return resources.files("neocloud.demo").joinpath("fleet.yaml").read_text()


def seed(s: Session, now: datetime, fleet_file: Path | None) -> list[str]:
    """Seed what is missing (never overwrites); returns what was done, for the start banner."""
    done: list[str] = []
    ensure_platform_org(s, now)
    if fleet_file is not None:
        load_fleet_text(s, fleet_file.read_text(), now)
        done.append(f"loaded fleet from {fleet_file}")
    elif current_fleet(s) is None:
        load_fleet_text(s, demo_fleet_text(), now)
        done.append("loaded the demo fleet")
    fleet = current_fleet(s)
    assert fleet is not None
    if s.scalars(select(OrgRow).where(OrgRow.name == DEMO_ORG)).first() is None:
        org = OrgRow(
            id=new_id("org"),
            name=DEMO_ORG,
            kind=OrgKind.INTERNAL.value,
            display_name="Research (demo internal team)",
            fair_share_weight=1,
            created_at=now,
        )
        s.add(org)
        s.flush()
        for gpu_type in fleet.gpu_types():
            s.add(QuotaRow(org_id=org.id, gpu_type=gpu_type, gpus=fleet.gpus_of_type(gpu_type)))
        done.append(f"created internal org {DEMO_ORG} with quota of every GPU in the fleet")
    if s.scalars(select(PriceRow).limit(1)).first() is None:
        for gpu_type in fleet.gpu_types():
            for tier, price in DEMO_PRICES.get(gpu_type, {}).items():
                add_price(
                    s,
                    PriceSet(
                        gpu_type=gpu_type, tier=tier, unit_price=price, effective_from=PRICES_FROM
                    ),
                    now,
                )
        done.append("set demo list prices")
    return done


def operator_key(s: Session, now: datetime) -> ApiKeyCreated:
    """A fresh operator key (shown once)."""
    platform = ensure_platform_org(s, now)
    return issue_key(s, platform, f"operator ({now:%Y-%m-%d %H:%M:%S} UTC)", Role.OPERATOR, now)


def active_operator_keys(s: Session, now: datetime) -> list[ApiKeyRow]:
    """Operator keys that authenticate right now (not revoked, not expired)."""
    return list(
        s.scalars(
            select(ApiKeyRow)
            .where(
                ApiKeyRow.role == Role.OPERATOR.value,
                ApiKeyRow.revoked_at.is_(None),
                (ApiKeyRow.expires_at.is_(None)) | (ApiKeyRow.expires_at > now),
            )
            .order_by(ApiKeyRow.created_at)
        ).all()
    )


def startup_operator_key(s: Session, now: datetime, new: bool = False) -> ApiKeyCreated | None:
    """An operator key minted at start: only if none is active, or if asked (`new`)."""
    if not new and active_operator_keys(s, now):
        return None
    return operator_key(s, now)
