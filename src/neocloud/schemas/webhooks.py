"""Webhook endpoints and their deliveries on the wire."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from neocloud.schemas.common import StrictModel
from neocloud.schemas.events import BillingEventType
from neocloud.schemas.strict import Name


class DeliveryStatus(StrEnum):
    """Where a delivery stands: retried while pending, then delivered or failed for good."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # The endpoint was deleted before the delivery landed.
    CANCELLED = "cancelled"


class WebhookCreate(StrictModel):
    """Register an endpoint for some billing event types (`org`: the operator's choice)."""

    url: str = Field(min_length=1, max_length=2000, description="http or https URL")
    event_types: list[BillingEventType] = Field(min_length=1, max_length=16)
    org: Name | None = Field(default=None, max_length=63)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError("must be an http or https URL")
        if not host:
            raise ValueError("must name a host")
        if parts.fragment:
            raise ValueError("must not have a #fragment")
        return value

    @field_validator("event_types")
    @classmethod
    def _distinct(cls, value: list[BillingEventType]) -> list[BillingEventType]:
        return list(dict.fromkeys(value))


class Webhook(BaseModel):
    """A registered endpoint (its secret is shown only when it is created)."""

    id: str
    org_id: str
    url: str
    event_types: list[str]
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None


class WebhookCreated(Webhook):
    """A new endpoint with its signing secret, shown this once."""

    secret: str = Field(description="whsec_…: keys the HMAC-SHA256 signature of each delivery")


class WebhookDelivery(BaseModel):
    """One event sent (or to be sent) to one endpoint."""

    id: str = Field(description="sent as Neocloud-Webhook-Id; receivers deduplicate on it")
    endpoint_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
