"""Invoices and statements over usage records: lines, totals, finalizing, immutability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.api.billing_rows import record_usage as _usage
from tests.api.conftest import Api

NOV = datetime(2026, 11, 1, tzinfo=UTC)


def _price(api: Api, tier: str, price: str, when: datetime) -> None:
    r = api.http.put(
        "/v1/prices",
        json={
            "gpu_type": "h100",
            "tier": tier,
            "unit_price": price,
            "effective_from": when.isoformat(),
        },
    )
    assert r.status_code == 200, r.text


def test_an_invoice_has_a_line_per_type_tier_and_price_and_adds_up(api: Api) -> None:
    acme = api.new_org("acme")
    _price(api, "spot", "1.00", NOV)
    _price(api, "spot", "2.00", NOV + timedelta(days=10))
    _usage(
        api, "acme", "spot", "h100", 2, NOV + timedelta(days=9, hours=23), 7200
    )  # spans the change
    _usage(api, "acme", "on_demand", "h100", 1, NOV + timedelta(days=2), 1800)
    invs = api.http.post("/v1/invoices/generate", json={"period": "2026-11", "org": "acme"}).json()
    assert len(invs) == 1
    lines = {(ln["tier"], ln["unit_price"]): ln for ln in invs[0]["lines"]}
    assert Decimal(lines[("spot", "1.000000")]["quantity"]) == Decimal(2)  # 1 h × 2 GPUs at $1
    assert Decimal(lines[("spot", "2.000000")]["quantity"]) == Decimal(2)
    assert Decimal(lines[("on_demand", "2.990000")]["amount"]) == Decimal("1.50")  # 0.5 h × 2.99
    total = Decimal(invs[0]["total"])
    assert total == sum(Decimal(ln["amount"]) for ln in invs[0]["lines"])
    assert total == Decimal("2.00") + Decimal("4.00") + Decimal("1.50")
    assert acme.get(f"/v1/invoices/{invs[0]['id']}").json()["total"] == invs[0]["total"]


def test_internal_orgs_get_a_statement_at_cost(api: Api) -> None:
    _usage(api, "research", "internal", "h100", 4, NOV + timedelta(days=1), 3600)
    invs = api.http.post("/v1/invoices/generate", json={"period": "2026-11"}).json()
    statement = next(i for i in invs if i["kind"] == "statement")
    (line,) = statement["lines"]
    cost = api.http.get("/v1/economics/cost", params={"node_model": "hgx-h100-4"}).json()
    assert Decimal(line["unit_price"]) == Decimal(cost["total"]).quantize(Decimal("0.000001"))
    assert Decimal(line["quantity"]) == 4
    assert Decimal(statement["total"]) == Decimal("6.38")  # 4 GPU-hours × $1.5955


def test_finalized_invoices_are_numbered_and_never_change(api: Api) -> None:
    api.new_org("acme")
    api.new_org("globex")
    _usage(api, "acme", "spot", "h100", 1, NOV + timedelta(days=3), 3600)
    _usage(api, "globex", "spot", "h100", 1, NOV + timedelta(days=3), 3600)
    drafts = {
        i["org_id"]: i
        for i in api.http.post("/v1/invoices/generate", json={"period": "2026-11"}).json()
        if i["kind"] == "invoice"
    }
    numbers = []
    for inv in drafts.values():
        fin = api.http.post(f"/v1/invoices/{inv['id']}/finalize").json()
        assert fin["status"] == "finalized"
        numbers.append(fin["number"])
    assert sorted(numbers) == ["NC-2026-000001", "NC-2026-000002"]
    again = api.http.post(f"/v1/invoices/{next(iter(drafts.values()))['id']}/finalize")
    assert again.status_code == 409

    # Late usage does not touch a finalized invoice.
    _usage(api, "acme", "spot", "h100", 8, NOV + timedelta(days=4), 3600)
    before = {i: api.http.get(f"/v1/invoices/{d['id']}").json() for i, d in drafts.items()}
    api.http.post("/v1/invoices/generate", json={"period": "2026-11"})
    after = {i: api.http.get(f"/v1/invoices/{d['id']}").json() for i, d in drafts.items()}
    assert before == after


def test_a_draft_is_regenerated_in_place(api: Api) -> None:
    api.new_org("acme")
    _usage(api, "acme", "spot", "h100", 1, NOV + timedelta(days=3), 3600)
    first = api.http.post(
        "/v1/invoices/generate", json={"period": "2026-11", "org": "acme"}
    ).json()[0]
    _usage(api, "acme", "spot", "h100", 1, NOV + timedelta(days=5), 3600)
    second = api.http.post(
        "/v1/invoices/generate", json={"period": "2026-11", "org": "acme"}
    ).json()[0]
    assert second["id"] == first["id"] and second["status"] == "draft"
    assert Decimal(second["total"]) == 2 * Decimal(first["total"])


def test_usage_with_no_price_is_never_billed_as_zero(api: Api) -> None:
    api.new_org("acme")
    _usage(
        api, "acme", "spot", "h100", 1, datetime(2025, 6, 1, tzinfo=UTC), 3600
    )  # before any price
    r = api.http.post("/v1/invoices/generate", json={"period": "2025-06", "org": "acme"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "missing_price"


def test_usage_summary_groups_by_day_and_tier(api: Api) -> None:
    acme = api.new_org("acme")
    _usage(
        api, "acme", "spot", "h100", 2, NOV + timedelta(days=1, hours=23), 7200
    )  # crosses midnight
    rows = acme.get(
        "/v1/usage/summary",
        params={"from": "2026-11-01", "to": "2026-12-01", "group_by": "day,tier"},
    ).json()
    assert [(r["day"], r["tier"], Decimal(r["gpu_seconds"])) for r in rows] == [
        ("2026-11-02", "spot", Decimal(7200)),
        ("2026-11-03", "spot", Decimal(7200)),
    ]
    bad = acme.get("/v1/usage/summary", params={"group_by": "colour"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "group_by"
