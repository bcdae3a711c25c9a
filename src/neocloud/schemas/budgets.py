"""Budgets and their alert thresholds on the wire."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from pydantic import BaseModel, Field, field_validator

from neocloud.schemas.common import StrictModel
from neocloud.schemas.strict import Name


class BudgetCreate(StrictModel):
    """A monthly spending budget for an org, or one of its projects, alerting at thresholds."""

    name: Name = Field(min_length=1, max_length=100)
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2, allow_inf_nan=False)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    thresholds: list[int] = Field(
        default_factory=lambda: [50, 80, 100],
        min_length=1,
        max_length=20,
        description="percentages of amount, strictly ascending, 1–1000",
    )
    org: Name | None = Field(default=None, max_length=63)
    project: Name | None = Field(default=None, max_length=63)

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        for t in value:
            if not 1 <= t <= 1000:
                raise ValueError(f"{t} is not a percentage from 1 to 1000")
        if any(b <= a for a, b in pairwise(value)):
            raise ValueError("must be strictly ascending, e.g. [50, 80, 100]")
        return value


class Budget(BaseModel):
    """A budget with this period's spend (running work included) and the thresholds reached."""

    id: str
    org_id: str
    project_id: str | None
    name: str
    amount: Decimal
    currency: str
    thresholds: list[int]
    created_at: datetime
    period: str
    spend: Decimal | None = Field(description="null when the spend cannot be rated yet")
    percent_used: Decimal | None
    reached: list[int] = Field(description="thresholds alerted in this period")
