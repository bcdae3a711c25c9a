"""Reserved contracts: N GPUs of a type for a term at a rate; guaranteed, never preempted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.schemas import fleet as api
from neocloud.server.fleet.gpu_types import require_gpu_type
from neocloud.server.fleet.service import caps
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import conflict, invalid
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.ids import new_id
from neocloud.store.models import ContractRow, OrgRow


def contract_out(row: ContractRow, org_name: str) -> api.Contract:
    """Wire form of a contract."""
    return api.Contract(
        id=row.id,
        org_id=row.org_id,
        org_name=org_name,
        gpu_type=row.gpu_type,
        gpus=row.gpus,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        unit_price=row.unit_price,
        currency=row.currency,
        created_at=row.created_at,
    )


def create(s: Session, p: Principal, body: api.ContractCreate, now: datetime) -> api.Contract:
    """Sign a contract; refused if the type's contracts would ever exceed its sellable cap."""
    p.require(Permission.OPERATE)
    org = resolve_org(s, p, body.org)
    if OrgKind(org.kind) is not OrgKind.EXTERNAL:
        raise invalid("org", "contracts are for external orgs; internal orgs have quotas")
    for field, value in (("starts_at", body.starts_at), ("ends_at", body.ends_at)):
        if value.tzinfo is None:
            raise invalid(field, "must include a timezone")
    if body.ends_at <= body.starts_at:
        raise invalid("ends_at", "must be after starts_at")
    gpus = require_gpu_type(s, body.gpu_type)
    # Contracts are guarantees: together they may never promise more than the sellable cap.
    sellable = math.floor(caps(s).get(body.gpu_type, 1) * gpus)
    overlapping = s.scalars(
        select(ContractRow).where(
            ContractRow.gpu_type == body.gpu_type,
            ContractRow.starts_at < body.ends_at,
            ContractRow.ends_at > body.starts_at,
        )
    ).all()
    peak = _peak_commitment(overlapping, body.starts_at, body.ends_at)
    if peak + body.gpus > sellable:
        raise conflict(
            f"contracts would promise {peak + body.gpus} {body.gpu_type} at once; the sellable cap "
            f"allows {sellable} of {gpus}",
            {"field": "gpus", "committed": peak, "sellable": sellable},
        )
    row = ContractRow(
        id=new_id("ctr"),
        org_id=org.id,
        gpu_type=body.gpu_type,
        gpus=body.gpus,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        unit_price=body.unit_price,
        currency=body.currency,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return contract_out(row, org.name)


def _peak_commitment(rows: Sequence[ContractRow], start: datetime, end: datetime) -> int:
    """Most GPUs the given contracts promise at any one instant within [start, end)."""
    points = sorted({start, *(r.starts_at for r in rows if r.starts_at > start)})
    return max(
        (sum(r.gpus for r in rows if r.starts_at <= t < r.ends_at) for t in points if t < end),
        default=0,
    )


def list_contracts(s: Session, p: Principal, org_ident: str | None) -> list[api.Contract]:
    """Contracts the caller may see (its own org's, or all for the operator)."""
    p.require(Permission.READ)
    stmt = select(ContractRow, OrgRow).join(OrgRow, OrgRow.id == ContractRow.org_id)
    if org_ident:
        stmt = stmt.where(ContractRow.org_id == resolve_org(s, p, org_ident).id)
    elif not p.is_operator:
        stmt = stmt.where(ContractRow.org_id == p.org_id)
    rows = s.execute(stmt.order_by(ContractRow.starts_at, ContractRow.id)).all()
    return [contract_out(c, o.name) for c, o in rows]


def active(s: Session, at: datetime) -> list[ContractRow]:
    """Contracts in force at an instant."""
    return list(
        s.scalars(
            select(ContractRow).where(ContractRow.starts_at <= at, ContractRow.ends_at > at)
        ).all()
    )


def active_gpus(s: Session, org_id: str, gpu_type: str, at: datetime) -> int:
    """GPUs an org has under contract for a type at an instant."""
    return sum(c.gpus for c in active(s, at) if c.org_id == org_id and c.gpu_type == gpu_type)
