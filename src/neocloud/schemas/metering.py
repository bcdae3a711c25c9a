"""Meters and usage events on the wire."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from neocloud.billing import meters as rules
from neocloud.schemas.common import StrictModel
from neocloud.schemas.strict import Name

MAX_BATCH = 10_000
# The rules are billing's own (billing.meters): what the API accepts, billing can rate.
METER_NAME = rules.METER_NAME.pattern
DIMENSION_KEY = rules.DIMENSION_KEY.pattern
MeterName = Annotated[str, AfterValidator(rules.require_meter_name)]
DimensionKey = Annotated[str, AfterValidator(rules.require_dimension_key)]

Aggregation = Literal["sum", "max", "count", "unique_count"]


class MeterSet(StrictModel):
    """Declare (or re-declare) an externally reported meter."""

    aggregation: Aggregation
    unit: str = Field(min_length=1, max_length=32)
    unique_by: DimensionKey | None = None
    group_by: list[DimensionKey] = Field(default_factory=list, max_length=rules.MAX_GROUP_BY)
    description: str = Field(default="", max_length=300)


class Meter(BaseModel):
    """A meter: how its events aggregate into a billable quantity."""

    name: str
    aggregation: Aggregation
    unit: str
    unique_by: str | None
    group_by: list[str]
    description: str
    reported: bool = Field(description="false for meters the platform produces itself")


class UsageEventIn(StrictModel):
    """One usage event: the same id (per org) counts once, however often it is sent."""

    id: Annotated[str, AfterValidator(rules.require_event_id)]
    org: Name = Field(min_length=1, max_length=63)
    project: Name | None = Field(default=None, max_length=63)
    meter: MeterName
    # Six decimals is the store's scale: a finer value would be rounded silently, so refuse it.
    value: Annotated[
        Decimal,
        Field(max_digits=24, decimal_places=6, allow_inf_nan=False),
        AfterValidator(rules.require_event_value),
    ]
    time: AwareDatetime
    dimensions: Annotated[dict[str, str], AfterValidator(rules.require_dimensions)] = Field(
        default_factory=dict
    )


class UsageEventBatch(StrictModel):
    """Up to 10,000 events, stored all together or not at all."""

    events: list[UsageEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class UsageEventsAccepted(BaseModel):
    """What a batch did: events received, newly accepted, and duplicates (already counted)."""

    received: int
    accepted: int
    duplicates: int


class UsageEvent(BaseModel):
    """A stored usage event."""

    id: str
    org_id: str
    project_id: str | None
    meter: str
    value: Decimal
    time: datetime
    dimensions: dict[str, str]
    received_at: datetime
