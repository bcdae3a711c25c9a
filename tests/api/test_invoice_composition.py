"""Invoices through the API: meters and charge models, contracts, terms, late usage, credits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
MONTH = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
LAST_MONTH = (MONTH - timedelta(days=1)).replace(day=1)
PERIOD = f"{MONTH.year:04d}-{MONTH.month:02d}"
LAST_PERIOD = f"{LAST_MONTH.year:04d}-{LAST_MONTH.month:02d}"


@pytest.fixture
def billed(api: Api) -> Api:
    """acme, an input_tokens meter priced per token on demand, and no settle time."""
    api.ctx.settings.usage_settle_seconds = 0
    api.new_org("acme")
    meter = {"aggregation": "sum", "unit": "token", "group_by": ["model"]}
    assert api.http.put("/v1/meters/input_tokens", json=meter).status_code == 200
    _price(api, meter="input_tokens", unit_price="0.000002")
    return api


def _price(api: Api, **body: Any) -> None:
    body = {
        "tier": "on_demand",
        "effective_from": (LAST_MONTH - timedelta(days=40)).isoformat(),
        **body,
    }
    r = api.http.put("/v1/prices", json=body)
    assert r.status_code == 200, r.text


def _events(api: Api, *events: tuple[str, int, datetime]) -> None:
    body = {
        "events": [
            {
                "id": i,
                "org": "acme",
                "meter": "input_tokens",
                "value": str(v),
                "time": t.isoformat(),
                "dimensions": {"model": "llama"},
            }
            for i, v, t in events
        ]
    }
    r = api.http.post("/v1/usage/events", json=body)
    assert r.status_code == 200, r.text


def _invoice(api: Api, period: str = PERIOD) -> dict[str, Any]:
    r = api.http.post("/v1/invoices/generate", json={"period": period, "org": "acme"})
    assert r.status_code == 200, r.text
    (inv,) = r.json()
    return dict(inv)


def _by_kind(inv: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for line in inv["lines"]:
        out.setdefault(line["kind"], []).append(line)
    return out


def _adds_up(inv: dict[str, Any]) -> None:
    lines = [Decimal(ln["amount"]) for ln in inv["lines"]]
    assert Decimal(inv["total"]) == sum(lines)
    assert Decimal(inv["subtotal"]) + Decimal(inv["tax"]) == Decimal(inv["total"])


def test_reported_usage_is_billed_per_meter_at_its_price(billed: Api) -> None:
    _events(
        billed,
        ("a", 1_000_000, NOW - timedelta(minutes=5)),
        ("b", 500_000, NOW - timedelta(minutes=4)),
    )
    inv = _invoice(billed)
    (line,) = inv["lines"]
    assert line["meter"] == "input_tokens"
    assert Decimal(line["quantity"]) == 1_500_000
    assert Decimal(line["amount"]) == Decimal("3.00")
    spend = billed.http.get("/v1/spend", params={"org": "acme"}).json()
    assert Decimal(spend["amount"]) == Decimal("3.00")


def test_a_graduated_charge_prices_each_unit_in_its_tier(billed: Api) -> None:
    graduated = {
        "model": "graduated",
        "tiers": [
            {"up_to": "1000000", "unit_price": "0"},  # the first million tokens are free
            {"up_to": None, "unit_price": "0.000001"},
        ],
    }
    _price(
        billed,
        meter="input_tokens",
        unit_price="0",
        charge=graduated,
        effective_from=(LAST_MONTH - timedelta(days=20)).isoformat(),
    )
    _events(billed, ("a", 3_000_000, NOW - timedelta(minutes=5)))
    (line,) = _invoice(billed)["lines"]
    assert Decimal(line["amount"]) == Decimal("2.00")
    bad = {"model": "graduated", "tiers": [{"up_to": "5", "unit_price": "1"}]}  # no last tier
    r = billed.http.put(
        "/v1/prices",
        json={
            "meter": "input_tokens",
            "tier": "on_demand",
            "unit_price": "1",
            "charge": bad,
            "effective_from": NOW.isoformat(),
        },
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "charge"


def test_terms_give_discount_minimum_and_tax_lines_that_add_up(billed: Api) -> None:
    terms = {"discount_percent": "10", "minimum_spend": "50.00", "tax_rate": "0.20"}
    assert billed.http.put("/v1/orgs/acme/billing-terms", json=terms).status_code == 200
    _events(billed, ("a", 10_000_000, NOW - timedelta(minutes=5)))  # 20.00
    inv = _invoice(billed)
    kinds = _by_kind(inv)
    assert Decimal(kinds["discount"][0]["amount"]) == Decimal("-2.00")
    assert Decimal(kinds["minimum_commitment"][0]["amount"]) == Decimal("32.00")
    assert inv["lines"][-1]["kind"] == "tax"
    assert Decimal(inv["tax"]) == Decimal("10.00")
    assert Decimal(inv["total"]) == Decimal("60.00")
    _adds_up(inv)


def test_a_reserved_contract_is_billed_take_or_pay(billed: Api) -> None:
    start = LAST_MONTH
    end = MONTH + timedelta(days=40)
    contract = {
        "org": "acme",
        "gpu_type": "h100",
        "gpus": 2,
        "unit_price": "2.10",
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
    }
    assert billed.http.post("/v1/contracts", json=contract).status_code == 201
    record_usage(billed, "acme", "reserved", "h100", 2, MONTH + timedelta(hours=1), 3600)
    inv = _invoice(billed)
    (fee,) = _by_kind(inv)["contract"]
    days = (min(end, (MONTH + timedelta(days=32)).replace(day=1)) - MONTH).days
    assert Decimal(fee["amount"]) == Decimal("2.10") * 2 * 24 * days
    covered = [ln for ln in _by_kind(inv)["usage"] if ln["tier"] == "reserved"]
    assert [Decimal(ln["amount"]) for ln in covered] == [Decimal(0)]  # never charged twice
    _adds_up(inv)


def test_late_usage_of_a_finalized_period_is_an_adjustment_on_the_next_invoice(billed: Api) -> None:
    late_time = MONTH - timedelta(hours=2)  # the last hours of last month
    if NOW - late_time > timedelta(days=34):
        pytest.skip("last month is beyond the events' age limit today")
    _events(billed, ("a", 1_000_000, late_time))
    last = _invoice(billed, LAST_PERIOD)
    r = billed.http.post(f"/v1/invoices/{last['id']}/finalize")
    assert r.status_code == 200, r.text
    finalized = r.json()
    _events(
        billed,
        ("b", 2_000_000, late_time + timedelta(minutes=1)),
        ("c", 1, NOW - timedelta(minutes=1)),
    )
    current = _invoice(billed)
    (adjustment,) = _by_kind(current)["adjustment"]
    assert adjustment["ref"] == last["id"]
    assert Decimal(adjustment["amount"]) == Decimal("4.00")
    assert adjustment["service_start"] < f"{PERIOD}-01"
    again = billed.http.get(f"/v1/invoices/{last['id']}").json()
    assert again == finalized  # a finalized invoice never changes
    _adds_up(current)


def test_finalizing_applies_prepaid_credit(billed: Api) -> None:
    grant = {"org": "acme", "kind": "prepaid", "amount": "5.00"}
    assert billed.http.post("/v1/credits/grants", json=grant).status_code == 201
    _events(billed, ("a", 3_500_000, NOW - timedelta(minutes=5)))  # 7.00
    draft = _invoice(billed)
    done = billed.http.post(f"/v1/invoices/{draft['id']}/finalize").json()
    assert (done["total"], done["credits_applied"], done["amount_due"]) == ("7.00", "5.00", "2.00")
    status = billed.http.get("/v1/credits", params={"org": "acme"}).json()
    assert Decimal(status["available_credit"]) == 0
    postings = billed.http.get("/v1/credits/ledger", params={"org": "acme"}).json()
    assert sum(Decimal(p["amount"]) for p in postings) == 0
    events = billed.http.get("/v1/events", params={"org": "acme"}).json()["items"]
    assert sorted(e["type"] for e in events) == ["credit.exhausted", "invoice.finalized"]


def test_events_arriving_while_an_invoice_is_finalized_are_billed_exactly_once(
    billed: Api,
) -> None:
    _events(billed, ("seed", 1, NOW - timedelta(minutes=10)))
    draft = _invoice(billed)
    batches = [
        [(f"b{b}-{i}", 1_000, NOW - timedelta(minutes=5)) for i in range(200)] for b in range(12)
    ]

    def send(batch: list[tuple[str, int, datetime]]) -> None:
        _events(billed, *batch)

    def finalize() -> None:
        r = billed.http.post(f"/v1/invoices/{draft['id']}/finalize")
        assert r.status_code == 200, r.text

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(send, b) for b in batches[:6]]
        futures.append(pool.submit(finalize))
        futures += [pool.submit(send, b) for b in batches[6:]]
        for f in futures:
            f.result()
    final = billed.http.get(f"/v1/invoices/{draft['id']}").json()
    nxt = MONTH.replace(year=MONTH.year + MONTH.month // 12, month=MONTH.month % 12 + 1)
    later = _invoice(billed, f"{nxt.year:04d}-{nxt.month:02d}") if _has_late(billed, nxt) else None
    on_invoice = sum(Decimal(ln["quantity"]) for ln in final["lines"] if ln["kind"] == "usage")
    adjusted = (
        sum(Decimal(ln["quantity"]) for ln in later["lines"] if ln["kind"] == "adjustment")
        if later
        else Decimal(0)
    )
    assert (
        on_invoice + adjusted == 1 + 12 * 200 * 1_000
    )  # every token once: never lost, never twice


def _has_late(api: Api, month: datetime) -> bool:
    period = f"{month.year:04d}-{month.month:02d}"
    r = api.http.post("/v1/invoices/generate", json={"period": period, "org": "acme"})
    return bool(r.json())
