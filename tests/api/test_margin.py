"""The margin report through the API: its revenue is what the invoices bill, to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
MONTH = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
NEXT_MONTH = (MONTH + timedelta(days=32)).replace(day=1)
PERIOD = f"{MONTH.year:04d}-{MONTH.month:02d}"
WINDOW = {"from": MONTH.isoformat(), "to": NEXT_MONTH.isoformat()}
D = Decimal


@pytest.fixture
def trading(api: Api) -> Api:
    """acme buys GPU time, tokens and a contract at a 10 % discount and 20 % tax; research
    (internal) uses an H100 for two hours."""
    api.ctx.settings.usage_settle_seconds = 0
    api.new_org("acme")
    meter = {"aggregation": "sum", "unit": "token", "group_by": ["model"]}
    assert api.http.put("/v1/meters/input_tokens", json=meter).status_code == 200
    price = {
        "meter": "input_tokens",
        "tier": "on_demand",
        "unit_price": "0.000002",
        "effective_from": (MONTH - timedelta(days=40)).isoformat(),
    }
    assert api.http.put("/v1/prices", json=price).status_code == 200
    terms = {"discount_percent": "10", "tax_rate": "0.20"}
    assert api.http.put("/v1/orgs/acme/billing-terms", json=terms).status_code == 200
    contract = {
        "org": "acme",
        "gpu_type": "a100",
        "gpus": 1,
        "unit_price": "1.00",
        "starts_at": MONTH.isoformat(),
        "ends_at": (MONTH + timedelta(days=2)).isoformat(),
    }
    assert api.http.post("/v1/contracts", json=contract).status_code == 201
    start = MONTH + timedelta(minutes=10)
    record_usage(api, "acme", "on_demand", "h100", 2, start, 3600)  # 2 GPU-h × 2.99 = 5.98
    record_usage(api, "acme", "spot", "h100", 1, start, 1800)  # 0.5 × 1.49 = 0.745 → 0.75
    record_usage(api, "research", "internal", "h100", 1, start, 7200)  # 2 GPU-h internal
    event = {
        "id": "t1",
        "org": "acme",
        "meter": "input_tokens",
        "value": "5000000",  # × 0.000002 = 10.00
        "time": min(NOW - timedelta(minutes=1), start).isoformat(),
        "dimensions": {"model": "llama"},
    }
    assert api.http.post("/v1/usage/events", json={"events": [event]}).status_code == 200
    return api


def _margin(api: Api, **params: str) -> dict[str, Any]:
    r = api.http.get("/v1/margin", params={**WINDOW, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _rows(report: dict[str, Any], breakdown: str, key: str) -> dict[str, dict[str, Any]]:
    return {str(row[key]): row for row in report[f"by_{breakdown}"]}


def test_margin_revenue_is_the_invoice_subtotal(trading: Api) -> None:
    r = trading.http.post("/v1/invoices/generate", json={"period": PERIOD, "org": "acme"})
    assert r.status_code == 200, r.text
    (invoice,) = r.json()
    assert D(invoice["tax"]) > 0 and any(ln["kind"] == "discount" for ln in invoice["lines"])

    report = _margin(trading)

    # Usage at price, tokens, the contract fee and the discount; tax is not revenue.
    assert D(report["revenue"]) == D(invoice["subtotal"])
    acme = _rows(report, "org", "org_name")["acme"]
    assert D(acme["revenue"]) == D(invoice["subtotal"])
    # Token revenue belongs to no GPU type; the discount is spread over the lines it reduced.
    assert sum(D(r["revenue"]) for r in report["by_gpu_type"]) == D(invoice["subtotal"])
    assert D(_rows(report, "gpu_type", "gpu_type")["None"]["revenue"]) > 0


def test_internal_use_is_valued_at_cost_and_at_the_on_demand_price(trading: Api) -> None:
    report = _margin(trading)

    internal = _rows(report, "tier", "tier")["internal"]
    assert D(internal["revenue"]) == 0
    assert D(internal["internal_gpu_hours"]) == 2
    assert D(internal["opportunity_value"]) == D("5.98")  # 2 GPU-h × 2.99
    assert D(internal["internal_cost"]) == D(internal["used_cost"]) > 0
    research = _rows(report, "org", "org_name")["research"]
    assert D(research["opportunity_value"]) == D("5.98")


@pytest.mark.parametrize("idle", ["line", "even", "weighted"])
def test_every_idle_choice_keeps_the_identities(trading: Api, idle: str) -> None:
    report = _margin(trading, idle=idle)

    f = {k: Fraction(v) for k, v in report.items() if isinstance(v, str) and k[0].islower()
         and k not in ("start", "end", "currency", "idle_share")}  # fmt: skip
    assert report["idle_share"] == idle
    assert f["total_cost"] == f["used_cost"] + f["idle_cost"]
    assert f["gross_margin"] == f["revenue"] - f["used_cost"] - f["shared_idle_cost"]
    assert f["margin_after_idle"] == f["revenue"] - f["total_cost"]
    for breakdown in ("gpu_type", "tier", "org", "region", "month"):
        rows = report[f"by_{breakdown}"]
        assert sum(Fraction(r["gross_margin"]) for r in rows) == f["gross_margin"], breakdown
    (month,) = report["by_month"]
    assert month["month"] == PERIOD
    # Tokens and the contract fee are tied to no region: their revenue is a row of its own.
    assert [r["region"] for r in report["by_region"]] == ["local", None]
    assert D(report["by_region"][1]["capacity_gpu_hours"]) == 0


def test_the_price_guide_names_every_gpu_type_of_the_fleet(trading: Api) -> None:
    report = _margin(trading, target_margin_pct="30")

    guides = {g["gpu_type"]: g for g in report["pricing"]}
    assert set(guides) == {"a100", "h100"}
    h100 = guides["h100"]
    assert D(h100["list_price"]) == D("2.99")
    assert D(h100["target_margin_pct"]) == 30
    assert 0 < D(h100["break_even_utilisation"]) < 1
    assert 0 < D(h100["price_floor"]) < D(h100["full_cost"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"idle": "sometimes"}, "idle"),
        ({"target_margin_pct": "100"}, "target_margin_pct"),
        ({"target_margin_pct": "-5"}, "target_margin_pct"),
        ({"target_margin_pct": "lots"}, "target_margin_pct"),
    ],
)
def test_bad_choices_are_refused_naming_the_field(
    trading: Api, params: dict[str, str], field: str
) -> None:
    r = trading.http.get("/v1/margin", params={**WINDOW, **params})

    assert r.status_code == 422
    assert field in r.text


def test_a_customer_cannot_read_the_margin(trading: Api) -> None:
    customer = trading.new_org("globex")
    assert customer.get("/v1/margin", params=WINDOW).status_code in (403, 404)
