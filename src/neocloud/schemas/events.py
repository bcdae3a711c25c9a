"""Billing events on the wire: what happened to an org's money (webhooks, `GET /v1/events`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class BillingEventType(StrEnum):
    """Billing event types an endpoint may subscribe to.

    Payloads (`data`), money as decimal strings and times as ISO 8601 UTC:
    - `invoice.finalized`: invoice_id, number, kind (invoice|statement), org_id, period,
      total, amount_due, currency.
    - `budget.threshold_reached`: budget_id, budget_name, org_id, project_id, period,
      threshold (percent), spend, amount, currency.
    - `credit.exhausted`: grant_ids (the grants now used up), org_id, at.
    """

    INVOICE_FINALIZED = "invoice.finalized"
    BUDGET_THRESHOLD_REACHED = "budget.threshold_reached"
    CREDIT_EXHAUSTED = "credit.exhausted"


# Sent only by `POST /v1/webhooks/{id}/test`; not a billing event, so nobody subscribes to it.
WEBHOOK_TEST = "webhook.test"


class BillingEvent(BaseModel):
    """A billing event; its webhook body is this object as JSON."""

    id: str
    org_id: str
    type: str
    data: dict[str, Any]
    created_at: datetime
