"""Budgets: spend and % used this period; each threshold alerts once, also when evaluators race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from neocloud.server.billing.budgets import evaluate_budgets
from neocloud.store.models import BudgetAlertRow, WebhookDeliveryRow
from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
MONTH_START = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
PERIOD = f"{NOW.year:04d}-{NOW.month:02d}"


def _price(api: Api) -> None:
    body = {
        "gpu_type": "h100",
        "tier": "spot",
        "unit_price": "36.00",  # a cent per GPU-second
        "effective_from": (MONTH_START - timedelta(days=40)).isoformat(),
    }
    assert api.http.put("/v1/prices", json=body).status_code == 200


def _spend(api: Api, org: str, cents: int, project_id: str | None = None) -> None:
    """Usage worth `cents` this period (8 GPUs, so it fits in a few minutes)."""
    start = max(MONTH_START, NOW - timedelta(hours=1))
    assert cents % 8 == 0
    record_usage(api, org, "spot", "h100", 8, start, cents // 8, project_id)


def _evaluate(api: Api) -> list[tuple[str, int]]:
    with api.ctx.db.session() as s:
        return [(a.budget_id, a.threshold) for a in evaluate_budgets(s, datetime.now(UTC))]


def _budget(client: Any, **over: Any) -> dict[str, Any]:
    r = client.post("/v1/budgets", json={"name": "monthly", "amount": "100.00", **over})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_thresholds_alert_once_each_and_queue_webhooks(api: Api) -> None:
    acme = api.new_org("acme")
    _price(api)
    hook = acme.post(
        "/v1/webhooks",
        json={"url": "https://hooks.acme.test/b", "event_types": ["budget.threshold_reached"]},
    ).json()
    budget = _budget(acme)
    assert budget["thresholds"] == [50, 80, 100] and budget["currency"] == "USD"
    assert Decimal(budget["spend"]) == 0 and budget["reached"] == []
    _spend(api, "acme", 8520)  # $85.20: past 50 % and 80 %, short of 100 %
    assert _evaluate(api) == [(budget["id"], 50), (budget["id"], 80)]
    assert _evaluate(api) == []  # evaluated again: still once
    listed = acme.get("/v1/budgets").json()["items"]
    (b,) = listed
    assert Decimal(b["spend"]) == Decimal("85.20") and Decimal(b["percent_used"]) == Decimal("85.2")
    assert b["reached"] == [50, 80] and b["period"] == PERIOD
    events = acme.get("/v1/events", params={"type": "budget.threshold_reached"}).json()["items"]
    assert [e["data"]["threshold"] for e in events] == [50, 80]
    first = events[0]["data"]
    assert first == {
        "budget_id": budget["id"],
        "budget_name": "monthly",
        "org_id": budget["org_id"],
        "project_id": None,
        "period": PERIOD,
        "threshold": 50,
        "spend": "85.20",
        "amount": "100.00",
        "currency": "USD",
    }
    deliveries = acme.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert [(d["event_type"], d["status"]) for d in deliveries] == [
        ("budget.threshold_reached", "pending")
    ] * 2
    # Crossing 100 % later alerts 100 only.
    _spend(api, "acme", 2000)
    assert _evaluate(api) == [(budget["id"], 100)]


def test_racing_evaluators_alert_each_threshold_once(api: Api) -> None:
    acme = api.new_org("acme")
    _price(api)
    _budget(acme, thresholds=[10, 20, 30, 40, 50])
    _spend(api, "acme", 6000)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def evaluate() -> None:
        try:
            with api.ctx.db.session() as s:
                start.wait()
                evaluate_budgets(s, datetime.now(UTC))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with api.ctx.db.session() as s:
        alerts = s.scalar(select(func.count()).select_from(BudgetAlertRow))
    assert alerts == 5
    events = acme.get("/v1/events").json()["items"]
    assert sorted(e["data"]["threshold"] for e in events) == [10, 20, 30, 40, 50]


def test_a_project_budget_counts_only_its_project(api: Api) -> None:
    acme = api.new_org("acme")
    _price(api)
    project = acme.post("/v1/orgs/acme/projects", json={"name": "vision"}).json()
    budget = _budget(acme, project="vision", amount="10.00", thresholds=[100])
    assert budget["project_id"] == project["id"]
    _spend(api, "acme", 4000)  # another project's (or no project's) spend
    assert _evaluate(api) == []
    _spend(api, "acme", 1000, project_id=project["id"])
    assert _evaluate(api) == [(budget["id"], 100)]
    (b,) = acme.get("/v1/budgets").json()["items"]
    assert Decimal(b["spend"]) == Decimal("10.00") and Decimal(b["percent_used"]) == 100


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"thresholds": [80, 50]}, "thresholds"),
        ({"thresholds": [50, 50]}, "thresholds"),
        ({"thresholds": [0]}, "thresholds"),
        ({"thresholds": [1001]}, "thresholds"),
        ({"thresholds": []}, "thresholds"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "EUR"}, "currency"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    acme = api.new_org("acme")
    r = acme.post("/v1/budgets", json={"name": "monthly", "amount": "100", **body})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert acme.get("/v1/budgets").json()["items"] == []


@pytest.mark.parametrize(("role", "create", "read"), [
    ("owner", 201, 200), ("billing", 201, 200), ("admin", 403, 200),
    ("member", 403, 403), ("viewer", 403, 403),
])  # fmt: skip
def test_billing_roles_set_budgets_and_readers_of_billing_see_them(
    api: Api, role: str, create: int, read: int
) -> None:
    caller = api.new_org("acme", role=role)
    assert caller.post("/v1/budgets", json={"name": "b", "amount": "5"}).status_code == create
    assert caller.get("/v1/budgets").status_code == read


def test_other_orgs_budgets_are_404_and_the_operator_sets_any(api: Api) -> None:
    api.new_org("acme")
    globex = api.new_org("globex")
    budget = _budget(api.http, org="acme")
    assert (
        globex.post("/v1/budgets", json={"name": "x", "amount": "5", "org": "acme"}).status_code
        == 404
    )
    api.http.post("/v1/orgs/acme/projects", json={"name": "vision"})
    r = globex.post("/v1/budgets", json={"name": "x", "amount": "5", "project": "vision"})
    assert r.status_code == 404  # acme's project is not globex's
    for method in ("GET", "DELETE"):
        r = globex.request(method, f"/v1/budgets/{budget['id']}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert globex.get("/v1/budgets").json()["items"] == []
    assert globex.get("/v1/budgets", params={"org": "acme"}).status_code == 404
    assert api.http.get(f"/v1/budgets/{budget['id']}").status_code == 200


def test_delete_removes_the_budget_and_its_alerts_but_not_the_events(api: Api) -> None:
    acme = api.new_org("acme")
    _price(api)
    budget = _budget(acme, thresholds=[1])
    _spend(api, "acme", 800)
    assert len(_evaluate(api)) == 1
    assert acme.delete(f"/v1/budgets/{budget['id']}").status_code == 204
    assert acme.get("/v1/budgets").json()["items"] == []
    assert acme.get(f"/v1/budgets/{budget['id']}").status_code == 404
    assert len(acme.get("/v1/events").json()["items"]) == 1
    with api.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(BudgetAlertRow)) == 0
        assert s.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 0
    assert _evaluate(api) == []
