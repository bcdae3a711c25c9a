"""Meters and usage events on the wire."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from neocloud.schemas.common import StrictModel

MAX_BATCH = 10_000
METER_NAME = r"^[a-z][a-z0-9_]{0,62}$"
DIMENSION_KEY = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,62}$"

Aggregation = Literal["sum", "max", "count", "unique_count"]


class MeterSet(StrictModel):
    """Declare (or re-declare) an externally reported meter."""

    aggregation: Aggregation
    unit: str = Field(min_length=1, max_length=32)
    unique_by: str | None = Field(default=None, pattern=DIMENSION_KEY)
    group_by: list[str] = Field(default_factory=list, max_length=8)
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

    id: str = Field(min_length=1, max_length=255)
    org: str = Field(min_length=1, max_length=63)
    project: str | None = Field(default=None, max_length=63)
    meter: str = Field(pattern=METER_NAME)
    # Six decimals is the store's scale: a finer value would be rounded silently, so refuse it.
    value: Decimal = Field(ge=0, max_digits=24, decimal_places=6, allow_inf_nan=False)
    time: AwareDatetime
    dimensions: dict[str, str] = Field(default_factory=dict, max_length=32)


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
