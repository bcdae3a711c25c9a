"""Billing terms, credit grants, and the prepaid credit limit that concurrent jobs cannot beat."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
# The demo price of h100 on demand is $2.99 per GPU-hour: one GPU for an hour may cost that.
ONE_GPU_HOUR = {
    "command": ["true"],
    "tier": "on_demand",
    "resources": {"gpu_type": "h100", "gpus_per_node": 1},
    "max_runtime_seconds": 3600,
}


def _prepaid(api: Api, credit: str, limit: str = "0", org: str = "acme") -> Any:
    client = api.new_org(org)
    r = api.http.put(f"/v1/orgs/{org}/billing-terms", json={"credit_limit": limit})
    assert r.status_code == 200, r.text
    r = api.http.post("/v1/credits/grants", json={"org": org, "kind": "prepaid", "amount": credit})
    assert r.status_code == 201, r.text
    return client


def test_grants_are_listed_in_the_order_they_are_consumed(api: Api) -> None:
    acme = api.new_org("acme")
    grants = [
        {"kind": "prepaid", "amount": "100.00"},
        {
            "kind": "promotional",
            "amount": "20.00",
            "expires_at": (NOW + timedelta(days=7)).isoformat(),
        },
        {"kind": "promotional", "amount": "5.00"},
    ]
    for g in grants:
        assert api.http.post("/v1/credits/grants", json={"org": "acme", **g}).status_code == 201
    status = acme.get("/v1/credits").json()
    assert Decimal(status["available_credit"]) == Decimal("125.00")
    assert [(g["kind"], g["amount"]) for g in status["grants"]] == [
        ("promotional", "20.00"),  # expiring first
        ("promotional", "5.00"),  # then promotional before prepaid
        ("prepaid", "100.00"),
    ]
    assert status["headroom"] is None  # postpaid: no limit set
    postings = acme.get("/v1/credits/ledger").json()
    assert sum(Decimal(p["amount"]) for p in postings) == 0  # every transaction balances


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/orgs/acme/billing-terms", {"tax_rate": "1.5"}, "tax_rate"),
        ("/v1/orgs/acme/billing-terms", {"discount_percent": "101"}, "discount_percent"),
        ("/v1/orgs/acme/billing-terms", {"credit_limit": "-1"}, "credit_limit"),
        ("/v1/orgs/acme/billing-terms", {"currency": "usd"}, "currency"),
        ("/v1/orgs/research/billing-terms", {}, "org"),
        ("/v1/credits/grants", {"org": "acme", "kind": "prepaid", "amount": "0"}, "amount"),
        ("/v1/credits/grants", {"org": "acme", "kind": "gift", "amount": "1"}, "kind"),
        ("/v1/credits/grants", {"org": "acme", "kind": "prepaid", "amount": "1.001"}, "amount"),
        (
            "/v1/credits/grants",
            {
                "org": "acme",
                "kind": "prepaid",
                "amount": "1",
                "expires_at": NOW.isoformat(),
                "effective_at": (NOW + timedelta(days=1)).isoformat(),
            },
            "expires_at",
        ),
        ("/v1/credits/grants", {"org": "research", "kind": "prepaid", "amount": "1"}, "org"),
    ],
)
def test_bad_terms_and_grants_are_refused_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    api.new_org("acme")
    method = api.http.put if path.endswith("billing-terms") else api.http.post
    r = method(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert api.http.get("/v1/credits", params={"org": "acme"}).json()["grants"] == []


def test_credit_and_terms_are_private_and_set_by_the_operator(api: Api) -> None:
    acme = _prepaid(api, "10.00")
    globex = api.new_org("globex")
    assert globex.get("/v1/credits", params={"org": "acme"}).status_code == 404
    assert globex.get("/v1/orgs/acme/billing-terms").status_code == 404
    assert acme.put("/v1/orgs/acme/billing-terms", json={}).status_code == 403
    r = acme.post("/v1/credits/grants", json={"org": "acme", "kind": "prepaid", "amount": "5"})
    assert r.status_code == 403
    assert acme.get("/v1/orgs/acme/billing-terms").json()["credit_limit"] == "0.00"


def test_a_job_is_admitted_only_if_its_maximum_cost_fits_the_headroom(api: Api) -> None:
    acme = _prepaid(api, "10.00")
    for _ in range(3):  # 3 × 2.99 = 8.97 held
        assert acme.post("/v1/jobs", json=ONE_GPU_HOUR).status_code == 201
    r = acme.post("/v1/jobs", json=ONE_GPU_HOUR)
    assert r.status_code == 402, r.text
    error = r.json()["error"]
    assert error["code"] == "credit_limit_reached"
    assert error["details"] == {
        "field": "max_runtime_seconds",
        "job_max_cost": "2.99",
        "headroom": "1.03",
        "currency": "USD",
    }
    short = {**ONE_GPU_HOUR, "max_runtime_seconds": 1200}  # 0.9967 → 1.00
    assert acme.post("/v1/jobs", json=short).status_code == 201
    status = acme.get("/v1/credits").json()
    assert Decimal(status["held_for_active_jobs"]) == Decimal("9.97")


def test_spend_beyond_credit_refuses_every_new_job(api: Api) -> None:
    acme = _prepaid(api, "1.00", limit="0.50")
    start = max(
        NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0), NOW - timedelta(hours=2)
    )
    record_usage(api, "acme", "on_demand", "h100", 1, start, 1800)  # 1.495 spent
    spot = {**ONE_GPU_HOUR, "tier": "spot", "max_runtime_seconds": 1}
    r = acme.post("/v1/jobs", json=spot)
    assert r.status_code == 402, r.text
    api.http.post("/v1/credits/grants", json={"org": "acme", "kind": "prepaid", "amount": "5"})
    assert acme.post("/v1/jobs", json=spot).status_code == 201


def test_postpaid_orgs_have_no_limit(api: Api) -> None:
    acme = api.new_org("acme")
    for _ in range(5):
        assert acme.post("/v1/jobs", json=ONE_GPU_HOUR).status_code == 201


def test_concurrent_submissions_cannot_overshoot_the_limit(api: Api) -> None:
    acme = _prepaid(api, "10.00")

    def submit(_: int) -> int:
        return acme.post("/v1/jobs", json=ONE_GPU_HOUR).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(submit, range(16)))
    assert sorted(codes) == [201] * 3 + [402] * 13
