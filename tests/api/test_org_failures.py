"""One org's failure stops nobody else: every loop and cross-org report goes on for the others.

Each test plants a failure for the org `broken` (usage billing cannot read, stored behind the
API's back, or a step made to raise for that org) next to a healthy org `acme`, then checks that
acme's work was done and that broken's failure is visible: in its own view, in /metrics, and in
the health routes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from neocloud.server.billing import exports
from neocloud.server.billing.budgets import evaluate_budgets
from neocloud.server.http.org_failures import FAILED_ORGS_HEADER
from neocloud.server.jobs.control_loop import ControlLoop
from neocloud.server.jobs.credit_guard import enforce
from neocloud.server.webhooks.delivery_loop import CRASHED, Claim, Outcome, WebhookLoop
from neocloud.store.models import JobEventRow, OrgRow, UsageEventRow, WebhookDeliveryRow
from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
MONTH = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
START = max(MONTH, NOW - timedelta(hours=3))
PERIOD = f"{NOW:%Y-%m}"


@pytest.fixture
def two_orgs(api: Api) -> Api:
    """acme and broken, both buying on-demand H100 time at $3.60 an hour this month."""
    api.ctx.settings.usage_settle_seconds = 0
    price = {
        "gpu_type": "h100",
        "tier": "on_demand",
        "unit_price": "3.60",
        "effective_from": (MONTH - timedelta(days=40)).isoformat(),
    }
    assert api.http.put("/v1/prices", json=price).status_code == 200
    meter = {"aggregation": "sum", "unit": "token", "group_by": ["model"]}
    assert api.http.put("/v1/meters/tokens", json=meter).status_code == 200
    for org in ("acme", "broken"):
        api.new_org(org)
        record_usage(api, org, "on_demand", "h100", 1, START, 3600)
    return api


def _org_id(api: Api, name: str) -> str:
    with api.ctx.db.session() as s:
        return s.scalars(select(OrgRow.id).where(OrgRow.name == name)).one()


def _plant_unbillable_usage(api: Api, org: str = "broken") -> None:
    """An event billing cannot read, stored directly (as an older server could have)."""
    with api.ctx.db.session() as s:
        s.add(
            UsageEventRow(
                org_id=_org_id(api, org),
                id="planted",
                project_id=None,
                meter="tokens",
                value=Decimal(5),
                time=START,
                dimensions={"model name": "llama"},
                received_at=START,
            )
        )


def _key_of(api: Api, org: str) -> Any:
    r = api.http.post("/v1/keys", json={"org": org, "name": "reader", "role": "billing"})
    assert r.status_code == 201, r.text
    return api.as_key(r.json()["secret"])


def _assert_visible(api: Api, loop: str, org: str = "broken") -> None:
    """The org's failure in the loop shows in /healthz, /v1/health/orgs (to the operator and to
    the org itself, not to another org), and /metrics."""
    assert api.http.get("/healthz").json()["failing_orgs"] == {loop: 1}
    operator = api.http.get("/v1/health/orgs").json()["failing"]
    assert [(f["loop"], f["org_name"]) for f in operator] == [(loop, org)]
    assert operator[0]["error"] and operator[0]["count"] >= 1
    assert [f["loop"] for f in _key_of(api, org).get("/v1/health/orgs").json()["failing"]] == [loop]
    assert _key_of(api, "acme").get("/v1/health/orgs").json()["failing"] == []
    metrics = api.http.get("/metrics").text
    assert f'neocloud_failing_orgs{{loop="{loop}"}} 1.0' in metrics
    assert f'neocloud_org_failures_total{{loop="{loop}"}}' in metrics


def test_spend_answers_409_for_the_failing_org_and_200_for_the_others(two_orgs: Api) -> None:
    _plant_unbillable_usage(two_orgs)
    r = two_orgs.http.get("/v1/spend", params={"org": "broken"})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "org_failed"
    assert "model name" in r.json()["error"]["message"]
    assert Decimal(
        two_orgs.http.get("/v1/spend", params={"org": "acme"}).json()["amount"]
    ) == Decimal("3.60")
    _assert_visible(two_orgs, "spend")


def test_margin_counts_every_other_org_and_marks_the_failing_one(two_orgs: Api) -> None:
    _plant_unbillable_usage(two_orgs)
    window = {"from": MONTH.isoformat(), "to": (NOW + timedelta(minutes=1)).isoformat()}
    r = two_orgs.http.get("/v1/margin", params=window)
    assert r.status_code == 200, r.text
    report = r.json()
    assert [f["org_name"] for f in report["failed_orgs"]] == ["broken"]
    assert "model name" in report["failed_orgs"][0]["error"]
    assert Decimal(report["revenue"]) == Decimal("3.60")  # acme's hour, broken's left out
    _assert_visible(two_orgs, "margin")


def test_budgets_of_every_other_org_still_alert(two_orgs: Api) -> None:
    for org in ("acme", "broken"):
        body = {"org": org, "name": "cap", "amount": "2.00", "thresholds": [50]}
        assert two_orgs.http.post("/v1/budgets", json=body).status_code == 201
    _plant_unbillable_usage(two_orgs)
    with two_orgs.ctx.db.session() as s:
        alerts = evaluate_budgets(s, datetime.now(UTC))
        alerted = {a.budget_id for a in alerts}
    (acme_budget,) = two_orgs.http.get("/v1/budgets", params={"org": "acme"}).json()["items"]
    assert alerted == {acme_budget["id"]}
    # The operator's list of every org's budgets: broken's spend unknown, acme's there.
    r = two_orgs.http.get("/v1/budgets")
    assert r.status_code == 200, r.text
    spends = {b["org_id"]: b["spend"] for b in r.json()["items"]}
    assert spends == {_org_id(two_orgs, "acme"): "3.60", _org_id(two_orgs, "broken"): None}
    _assert_visible(two_orgs, "budgets")


def test_the_credit_guard_enforces_every_other_prepaid_org(two_orgs: Api) -> None:
    running = {
        org: record_usage(two_orgs, org, "on_demand", "h100", 1, START, None)
        for org in ("acme", "broken")
    }
    terms = {"credit_limit": "0.00", "stop_grace_seconds": 60}
    for org in ("acme", "broken"):
        assert two_orgs.http.put(f"/v1/orgs/{org}/billing-terms", json=terms).status_code == 200
    _plant_unbillable_usage(two_orgs)
    # The control loop's own step, as each tick runs it.
    ControlLoop(two_orgs.ctx.db, two_orgs.ctx.engines).guard_credit()
    assert _reasons(two_orgs, running["acme"])[-1] == "credit_limit_notice"
    assert "credit_limit_notice" not in _reasons(two_orgs, running["broken"])
    _assert_visible(two_orgs, "credit_guard")
    with two_orgs.ctx.db.session() as s:
        report = enforce(s, datetime.now(UTC) + timedelta(seconds=61))
    assert report.failed_orgs == ["broken"]
    assert report.stopped == [running["acme"]]


def _reasons(api: Api, job_id: str) -> list[str]:
    with api.ctx.db.session() as s:
        return list(
            s.scalars(
                select(JobEventRow.reason)
                .where(JobEventRow.job_id == job_id)
                .order_by(JobEventRow.seq)
            )
        )


def test_an_invoice_run_drafts_every_other_org(two_orgs: Api) -> None:
    _plant_unbillable_usage(two_orgs)
    r = two_orgs.http.post("/v1/invoices/generate", json={"period": PERIOD})
    assert r.status_code == 200, r.text
    assert {i["org_id"] for i in r.json()} == {_org_id(two_orgs, "acme")}
    assert r.headers[FAILED_ORGS_HEADER] == _org_id(two_orgs, "broken")
    _assert_visible(two_orgs, "invoice_run")
    # Asked for the failing org alone, the failure is the answer.
    r = two_orgs.http.post("/v1/invoices/generate", json={"period": PERIOD, "org": "broken"})
    assert r.status_code == 409, r.text


def test_an_export_holds_every_other_org_and_names_the_failing_one(
    two_orgs: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = two_orgs.http.post("/v1/invoices/generate", json={"period": PERIOD})
    for invoice in r.json():
        assert two_orgs.http.post(f"/v1/invoices/{invoice['id']}/finalize").status_code == 200
    broken = _org_id(two_orgs, "broken")
    issued = exports.issued

    def failing_for_broken(s: Any, row: Any) -> Any:
        if row.org_id == broken:
            raise ValueError("the stored document cannot be read")
        return issued(s, row)

    monkeypatch.setattr(exports, "issued", failing_for_broken)
    for path in ("/v1/exports/focus", "/v1/exports/usage.csv"):
        r = two_orgs.http.get(path, params={"period": PERIOD})
        assert r.status_code == 200, r.text
        assert r.headers[FAILED_ORGS_HEADER] == broken
        assert "acme" in r.text or _org_id(two_orgs, "acme") in r.text
        r = two_orgs.http.get(path, params={"period": PERIOD, "org": "broken"})
        assert r.status_code == 409, r.text
    _assert_visible(two_orgs, "exports")


def test_webhook_deliveries_of_every_other_org_go_out(
    two_orgs: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = {}
    for org in ("acme", "broken"):
        body = {
            "org": org,
            "url": "https://93.184.216.34/hook",
            "event_types": ["invoice.finalized"],
        }
        r = two_orgs.http.post("/v1/webhooks", json=body)
        assert r.status_code == 201, r.text
        hooks[org] = r.json()["id"]
        assert two_orgs.http.post(f"/v1/webhooks/{hooks[org]}/test").status_code in (200, 202)
    broken = _org_id(two_orgs, "broken")
    loop = WebhookLoop(two_orgs.ctx.db, guard=two_orgs.ctx.outbound(), secrets=two_orgs.ctx.secrets)

    def send(claim: Claim) -> Outcome:
        if claim.org_id == broken:
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return Outcome(True)

    monkeypatch.setattr(loop, "send", send)
    try:
        assert loop.deliver_due() == 2
    finally:
        loop.stop()
    with two_orgs.ctx.db.session() as s:
        rows = {r.endpoint_id: r for r in s.scalars(select(WebhookDeliveryRow)).all()}
        assert rows[hooks["acme"]].status == "delivered"
        # The crash counts as a failed attempt: the retry schedule paces it and ends it.
        assert rows[hooks["broken"]].status == "pending"
        assert rows[hooks["broken"]].last_error == CRASHED
    _assert_visible(two_orgs, "webhooks")


def test_a_later_success_clears_the_orgs_failure(two_orgs: Api) -> None:
    _plant_unbillable_usage(two_orgs)
    assert two_orgs.http.get("/v1/spend", params={"org": "broken"}).status_code == 409
    with two_orgs.ctx.db.session() as s:
        s.query(UsageEventRow).filter(UsageEventRow.id == "planted").delete()
    assert two_orgs.http.get("/v1/spend", params={"org": "broken"}).status_code == 200
    assert two_orgs.http.get("/healthz").json()["failing_orgs"] == {}
    assert two_orgs.http.get("/v1/health/orgs").json()["failing"] == []
