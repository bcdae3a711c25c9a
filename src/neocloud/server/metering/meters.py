"""Meters: the platform's own GPU meter, and the reported ones the operator declares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from neocloud.billing.document import GPU_METER
from neocloud.billing.meters import Aggregation, Meter, require_meter_name
from neocloud.domain.tenancy import Permission
from neocloud.schemas import metering as api
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import conflict, invalid, not_found
from neocloud.store.models import MeterRow, UsageEventRow

# GPU time is measured from allocations by the platform itself; it is listed, never reported.
GPU_METER_OUT = api.Meter(
    name=GPU_METER,
    aggregation="sum",
    unit="GPU-second",
    unique_by=None,
    group_by=["gpu_type", "tier", "region"],
    description="GPU time, from each allocation's real start to its real end",
    reported=False,
)


def meter_out(row: MeterRow) -> api.Meter:
    """Wire form of a meter."""
    return api.Meter(
        name=row.name,
        aggregation=row.aggregation,  # type: ignore[arg-type]
        unit=row.unit,
        unique_by=row.unique_by,
        group_by=list(row.group_by),
        description=row.description,
        reported=True,
    )


def list_meters(s: Session, p: Principal) -> list[api.Meter]:
    """Every meter, the GPU meter first: the catalogue is the same for every caller."""
    p.require(Permission.READ)
    rows = s.scalars(select(MeterRow).order_by(MeterRow.name)).all()
    return [GPU_METER_OUT, *(meter_out(r) for r in rows)]


def get_meter(s: Session, p: Principal, name: str) -> api.Meter:
    """One meter by name."""
    p.require(Permission.READ)
    if name == GPU_METER:
        return GPU_METER_OUT
    row = s.get(MeterRow, name)
    if row is None:
        raise not_found("meter", name)
    return meter_out(row)


def set_meter(s: Session, p: Principal, name: str, body: api.MeterSet, now: datetime) -> api.Meter:
    """Declare a meter or change its unit/description; how it aggregates is fixed once used."""
    p.require(Permission.OPERATE)
    try:
        require_meter_name(name)
    except ValueError as exc:
        raise invalid("name", str(exc)) from exc
    if name == GPU_METER:
        raise invalid("name", f"{GPU_METER} is measured by the platform and cannot be declared")
    if body.aggregation == "unique_count" and body.unique_by is None:
        raise invalid("unique_by", "a unique_count meter names the dimension it counts")
    if body.aggregation != "unique_count" and body.unique_by is not None:
        raise invalid("unique_by", "only unique_count meters count a dimension")
    if len(set(body.group_by)) != len(body.group_by):
        raise invalid("group_by", "names a dimension twice")
    try:
        # Billing's own constructor: a meter the API stores is one billing can build.
        Meter(name, Aggregation(body.aggregation), body.unit, body.unique_by, tuple(body.group_by))
    except ValueError as exc:
        raise invalid("group_by", str(exc)) from exc
    row = s.get(MeterRow, name, with_for_update=True)
    if row is None:
        row = MeterRow(name=name, created_at=now)
        s.add(row)
    elif _shape(row) != (body.aggregation, body.unique_by, list(body.group_by)) and s.scalar(
        select(exists().where(UsageEventRow.meter == name))
    ):
        # Changing how events aggregate would silently re-price usage already reported.
        raise conflict(
            f"meter {name!r} has events: its aggregation, unique_by and group_by are fixed",
            {"field": "aggregation"},
        )
    row.aggregation = body.aggregation
    row.unit = body.unit
    row.unique_by = body.unique_by
    row.group_by = list(body.group_by)
    row.description = body.description
    s.flush()
    return meter_out(row)


def reported_meters(s: Session) -> dict[str, MeterRow]:
    """The declared meters by name."""
    return {r.name: r for r in s.scalars(select(MeterRow)).all()}


def _shape(row: MeterRow) -> tuple[str, str | None, list[str]]:
    return row.aggregation, row.unique_by, list(row.group_by)
