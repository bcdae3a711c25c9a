"""SDK: webhooks, budgets and events follow the HTTP contract; receivers verify signatures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from neocloud.domain.webhooks import signed_headers
from neocloud.schemas.budgets import Budget
from neocloud.schemas.common import Page
from neocloud.schemas.events import BillingEvent
from neocloud.schemas.webhooks import Webhook, WebhookCreated, WebhookDelivery
from neocloud.sdk import NeocloudError
from neocloud.sdk.client import Client
from neocloud.sdk.webhooks import verify_signature
from tests.sdk.api_double import Api

T0 = "2026-11-01T00:00:00Z"


def webhook(**over: Any) -> dict[str, Any]:
    """A webhook endpoint as the server sends it."""
    return {
        "id": "whe_1",
        "org_id": "org_1",
        "url": "https://hooks.acme.test/n",
        "event_types": ["invoice.finalized"],
        "enabled": True,
        "created_at": T0,
        "disabled_at": None,
    } | over


def delivery(**over: Any) -> dict[str, Any]:
    """A delivery."""
    return {
        "id": "whd_1",
        "endpoint_id": "whe_1",
        "event_id": "evt_1",
        "event_type": "webhook.test",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": T0,
        "last_error": None,
        "created_at": T0,
        "delivered_at": None,
    } | over


def budget(**over: Any) -> dict[str, Any]:
    """A budget with its spend."""
    return {
        "id": "bud_1",
        "org_id": "org_1",
        "project_id": None,
        "name": "monthly",
        "amount": "100.00",
        "currency": "USD",
        "thresholds": [50, 80, 100],
        "created_at": T0,
        "period": "2026-11",
        "spend": "85.20",
        "percent_used": "85.20",
        "reached": [50, 80],
    } | over


def event(**over: Any) -> dict[str, Any]:
    """A billing event."""
    return {
        "id": "evt_1",
        "org_id": "org_1",
        "type": "invoice.finalized",
        "data": {"invoice_id": "inv_1", "number": "NC-2026-000001", "total": "12.00"},
        "created_at": T0,
    } | over


def page(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A page envelope."""
    return {"items": items, "next_cursor": None}


@dataclass
class Route:
    """One SDK call and the request it must make."""

    call: Callable[[Client], Any]
    method: str
    path: str
    answer: Any
    returns: type | None
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    status: int = 200


ROUTES: dict[str, Route] = {
    "webhooks.create": Route(
        lambda c: c.webhooks.create(
            "https://hooks.acme.test/n", ["invoice.finalized", "credit.exhausted"], org="acme"
        ),
        "POST",
        "/v1/webhooks",
        webhook(secret="whsec_x"),
        WebhookCreated,
        body={
            "url": "https://hooks.acme.test/n",
            "event_types": ["invoice.finalized", "credit.exhausted"],
            "org": "acme",
        },
        status=201,
    ),
    "webhooks.list": Route(
        lambda c: c.webhooks.list(org="acme", limit=5),
        "GET",
        "/v1/webhooks",
        page([webhook()]),
        Page,
        query={"org": "acme", "limit": "5"},
    ),
    "webhooks.delete": Route(
        lambda c: c.webhooks.delete("whe_1"),
        "DELETE",
        "/v1/webhooks/whe_1",
        webhook(enabled=False, disabled_at=T0),
        Webhook,
    ),
    "webhooks.deliveries": Route(
        lambda c: c.webhooks.deliveries("whe_1", status="failed"),
        "GET",
        "/v1/webhooks/whe_1/deliveries",
        page([delivery(status="failed", last_error="HTTP 500")]),
        Page,
        query={"status": "failed"},
    ),
    "webhooks.test": Route(
        lambda c: c.webhooks.test("whe_1"),
        "POST",
        "/v1/webhooks/whe_1/test",
        delivery(),
        WebhookDelivery,
        status=202,
    ),
    "budgets.create": Route(
        lambda c: c.budgets.create(
            "monthly", Decimal("100.00"), thresholds=[50, 90], project="vision"
        ),
        "POST",
        "/v1/budgets",
        budget(),
        Budget,
        body={
            "name": "monthly",
            "amount": "100.00",
            "currency": "USD",
            "thresholds": [50, 90],
            "project": "vision",
        },
        status=201,
    ),
    "budgets.list": Route(
        lambda c: c.budgets.list(org="acme"),
        "GET",
        "/v1/budgets",
        page([budget()]),
        Page,
        query={"org": "acme"},
    ),
    "budgets.get": Route(
        lambda c: c.budgets.get("bud_1"), "GET", "/v1/budgets/bud_1", budget(), Budget
    ),
    "budgets.delete": Route(
        lambda c: c.budgets.delete("bud_1"), "DELETE", "/v1/budgets/bud_1", None, None, status=204
    ),
    "events.list": Route(
        lambda c: c.events.list(type="budget.threshold_reached", limit=10),
        "GET",
        "/v1/events",
        page([event()]),
        Page,
        query={"type": "budget.threshold_reached", "limit": "10"},
    ),
    "events.get": Route(
        lambda c: c.events.get("evt_1"), "GET", "/v1/events/evt_1", event(), BillingEvent
    ),
}
ITEMS = {
    "webhooks.list": Webhook,
    "webhooks.deliveries": WebhookDelivery,
    "budgets.list": Budget,
    "events.list": BillingEvent,
}


@pytest.mark.parametrize("name", list(ROUTES))
def test_method_follows_the_http_contract(api: Api, name: str) -> None:
    route = ROUTES[name]
    if route.status == 204:
        api.handle(route.method, route.path, lambda _: httpx.Response(204))
    else:
        api.on(route.method, route.path, route.answer, status=route.status)

    result = route.call(api.client())

    sent = api.requests[-1]
    assert (sent.method, sent.url.path) == (route.method, route.path)
    assert dict(sent.url.params) == route.query
    if route.body is None:
        assert sent.content == b""
    else:
        assert json.loads(sent.content) == route.body
    if route.returns is None:
        assert result is None
        return
    assert isinstance(result, route.returns)
    if name in ITEMS:
        assert isinstance(result, Page)
        assert result.items and all(isinstance(i, ITEMS[name]) for i in result.items)


def test_money_stays_decimal(api: Api) -> None:
    api.on("GET", "/v1/budgets", page([budget()]))
    (b,) = api.client().budgets.iter()
    assert b.spend == Decimal("85.20") and b.percent_used == Decimal("85.20")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.webhooks.create("ftp://x.test/", ["invoice.finalized"]), "url"),
        (lambda c: c.webhooks.create("https://x.test/", []), "event_types"),
        (lambda c: c.budgets.create("b", "10", thresholds=[80, 50]), "thresholds"),
    ],
)
def test_bad_input_is_refused_before_sending(
    api: Api, call: Callable[[Client], Any], field: str
) -> None:
    with pytest.raises(NeocloudError) as err:
        call(api.client())
    assert err.value.status == 422 and err.value.details["field"] == field
    assert api.requests == []


def test_a_float_amount_is_refused(api: Api) -> None:
    with pytest.raises(TypeError):
        api.client().budgets.create("b", 10.5)  # type: ignore[arg-type]


def test_a_receiver_verifies_a_delivery_with_the_sdk() -> None:
    body = b'{"id":"evt_1","type":"invoice.finalized"}'
    headers = signed_headers("whd_1", "whsec_abc", int(time.time()), body)
    assert verify_signature("whsec_abc", headers, body)
    assert not verify_signature("whsec_other", headers, body)
    assert not verify_signature("whsec_abc", headers, body.replace(b"1", b"2"))
    stale = signed_headers("whd_1", "whsec_abc", int(time.time()) - 3600, body)
    assert not verify_signature("whsec_abc", stale, body)
