"""Real-time spend: ended and running usage this period, at price (external) or cost (internal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
MONTH_START = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _price(api: Api, tier: str, price: str) -> None:
    body = {
        "gpu_type": "h100",
        "tier": tier,
        "unit_price": price,
        "effective_from": (MONTH_START - timedelta(days=40)).isoformat(),
    }
    assert api.http.put("/v1/prices", json=body).status_code == 200


def test_running_work_counts_up_to_the_moment_of_the_question(api: Api) -> None:
    acme = api.new_org("acme")
    _price(api, "spot", "36.00")  # a cent per GPU-second
    # The module's NOW is read at collection, minutes earlier in a long run: take a fresh one.
    now = datetime.now(UTC)
    # Ended an hour ago after 10 minutes on 2 GPUs; another has run on 1 GPU for 5 minutes.
    hour_ago = max(MONTH_START, now - timedelta(hours=1))
    record_usage(api, "acme", "spot", "h100", 2, hour_ago, 600)
    record_usage(api, "acme", "spot", "h100", 1, now - timedelta(seconds=300), None)
    first = acme.get("/v1/spend").json()
    assert first["period"] == f"{now.year:04d}-{now.month:02d}"
    ended = Decimal("12.00")  # 1,200 GPU-seconds
    running = Decimal(first["amount"]) - ended
    assert Decimal("3.00") <= running <= Decimal("3.60")  # 300 s and the test's own seconds
    later = acme.get("/v1/spend").json()
    assert Decimal(later["amount"]) >= Decimal(first["amount"])
    assert sum(Decimal(ln["amount"]) for ln in first["lines"]) == Decimal(first["amount"])


def test_usage_before_the_period_is_not_this_periods_spend(api: Api) -> None:
    acme = api.new_org("acme")
    _price(api, "spot", "36.00")
    record_usage(api, "acme", "spot", "h100", 1, MONTH_START - timedelta(days=3), 600)
    assert Decimal(acme.get("/v1/spend").json()["amount"]) == 0


def test_spend_is_private_to_its_org(api: Api) -> None:
    api.new_org("acme")
    globex = api.new_org("globex")
    assert globex.get("/v1/spend", params={"org": "acme"}).status_code == 404
    assert globex.get("/v1/spend", params={"project": "nope"}).status_code == 404
    assert api.http.get("/v1/spend", params={"org": "acme"}).status_code == 200
