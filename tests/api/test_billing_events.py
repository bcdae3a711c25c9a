"""Billing events: finalizing an invoice emits `invoice.finalized`, readable at GET /v1/events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
MONTH_START = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
PERIOD = f"{NOW.year:04d}-{NOW.month:02d}"


def _finalized_invoice(api: Api, org: str = "acme") -> dict[str, Any]:
    body = {
        "gpu_type": "h100",
        "tier": "spot",
        "unit_price": "36.00",
        "effective_from": (MONTH_START - timedelta(days=40)).isoformat(),
    }
    assert api.http.put("/v1/prices", json=body).status_code == 200
    record_usage(api, org, "spot", "h100", 2, max(MONTH_START, NOW - timedelta(hours=1)), 600)
    (draft,) = api.http.post("/v1/invoices/generate", json={"period": PERIOD, "org": org}).json()
    r = api.http.post(f"/v1/invoices/{draft['id']}/finalize")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_finalizing_an_invoice_emits_the_event_and_queues_its_webhook(api: Api) -> None:
    acme = api.new_org("acme")
    hook = acme.post(
        "/v1/webhooks",
        json={"url": "https://hooks.acme.test/i", "event_types": ["invoice.finalized"]},
    ).json()
    invoice = _finalized_invoice(api)
    (event,) = acme.get("/v1/events").json()["items"]
    assert event["type"] == "invoice.finalized" and event["org_id"] == invoice["org_id"]
    assert event["data"] == {
        "invoice_id": invoice["id"],
        "number": invoice["number"],
        "kind": "invoice",
        "org_id": invoice["org_id"],
        "period": PERIOD,
        "total": "12.00",
        "amount_due": invoice["amount_due"],
        "currency": "USD",
    }
    assert acme.get(f"/v1/events/{event['id']}").json() == event
    (delivery,) = acme.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert delivery["event_id"] == event["id"] and delivery["status"] == "pending"
    assert delivery["attempts"] == 0


def test_a_refused_finalize_emits_nothing(api: Api) -> None:
    acme = api.new_org("acme")
    invoice = _finalized_invoice(api)
    assert api.http.post(f"/v1/invoices/{invoice['id']}/finalize").status_code == 409
    assert len(acme.get("/v1/events").json()["items"]) == 1


def test_events_are_private_filterable_and_paginated(api: Api) -> None:
    acme = api.new_org("acme")
    globex = api.new_org("globex")
    invoice = _finalized_invoice(api)
    event_id = acme.get("/v1/events").json()["items"][0]["id"]
    assert globex.get("/v1/events").json()["items"] == []
    assert globex.get(f"/v1/events/{event_id}").status_code == 404
    assert globex.get("/v1/events", params={"org": "acme"}).status_code == 404
    operator = api.http.get("/v1/events", params={"org": "acme"}).json()["items"]
    assert [e["data"]["invoice_id"] for e in operator] == [invoice["id"]]
    assert acme.get("/v1/events", params={"type": "credit.exhausted"}).json()["items"] == []
    page = acme.get("/v1/events", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [({"type": "invoice.paid"}, "type"), ({"limit": 0}, "limit"), ({"cursor": "!!"}, "cursor")],
)
def test_bad_queries_name_the_field(api: Api, params: dict[str, Any], field: str) -> None:
    acme = api.new_org("acme")
    r = acme.get("/v1/events", params=params)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field


@pytest.mark.parametrize(("role", "status"), [("billing", 200), ("admin", 200), ("viewer", 403)])
def test_events_need_the_right_to_read_billing(api: Api, role: str, status: int) -> None:
    assert api.new_org("acme", role=role).get("/v1/events").status_code == status
