"""What the usage API accepts, billing can rate, invoice and export: one rule per field.

The API's schemas call billing's own checks (billing.meters), so an event that billing would
refuse later is refused when it is sent, naming the field, and stores nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neocloud.billing.meters import DIMENSION_KEY
from neocloud.domain.text import name_problem
from tests.api.conftest import Api

METERS = {
    "tokens": {"aggregation": "sum", "unit": "token", "group_by": ["model"]},
    "peak_gb": {"aggregation": "max", "unit": "GB"},
    "calls": {"aggregation": "count", "unit": "call"},
    "users": {"aggregation": "unique_count", "unit": "user", "unique_by": "user"},
}
NEEDS = {"tokens": ("model",), "users": ("user",)}
TIERS = ("internal", "reserved", "on_demand", "spot")


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def priced(api: Api) -> Api:
    """The four meters declared and priced at every tier since before this month."""
    since = (_month_start(datetime.now(UTC)) - timedelta(days=40)).isoformat()
    for name, meter in METERS.items():
        assert api.http.put(f"/v1/meters/{name}", json=meter).status_code == 200
        for tier in TIERS:
            price = {"meter": name, "tier": tier, "unit_price": "0.25", "effective_from": since}
            r = api.http.put("/v1/prices", json=price)
            assert r.status_code == 200, r.text
    return api


def _event(org: str, i: int, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": f"ev-{i}",
        "org": org,
        "meter": "tokens",
        "value": "1000",
        "time": max(_month_start(now), now - timedelta(minutes=1)).isoformat(),
        "dimensions": {"model": "llama-70b"},
        **extra,
    }


@pytest.mark.parametrize(
    "dimensions",
    [
        {"model": "m", "model name": "llama"},
        {"model": "m", "": "x"},
        {"model": "m", "1st": "x"},
        {"model": "m", "k" * 64: "x"},
        {"model": "m", "tier": "premium"},
        {"model": "a\x00b"},
        {"model": "a\nb"},
        {"model": "a\u202eb"},
        {"model": "x" * 256},
        {"model": "m", **{f"k{i}": "v" for i in range(32)}},
    ],
    ids=[
        "key-with-a-space",
        "empty-key",
        "key-starting-with-a-digit",
        "key-too-long",
        "unknown-tier",
        "nul-in-a-value",
        "newline-in-a-value",
        "bidi-control-in-a-value",
        "value-too-long",
        "too-many-dimensions",
    ],
)
def test_dimensions_billing_would_refuse_are_refused_when_sent(
    priced: Api, dimensions: dict[str, str]
) -> None:
    priced.new_org("acme")
    batch = {"events": [_event("acme", 0), _event("acme", 1, dimensions=dimensions)]}
    r = priced.http.post("/v1/usage/events", json=batch)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == "events[1].dimensions"
    assert priced.http.get("/v1/spend", params={"org": "acme"}).json()["lines"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "ev\x001"}, "events[0].id"),
        ({"id": "ev\r\n1"}, "events[0].id"),
        ({"org": "ac\nme"}, "events[0].org"),
        ({"project": "p\u202e1"}, "events[0].project"),
    ],
    ids=["nul-in-the-id", "crlf-in-the-id", "newline-in-the-org", "bidi-in-the-project"],
)
def test_ids_billing_would_refuse_are_refused_when_sent(
    priced: Api, change: dict[str, str], field: str
) -> None:
    priced.new_org("acme")
    r = priced.http.post("/v1/usage/events", json={"events": [{**_event("acme", 0), **change}]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field


def test_a_meter_billing_could_not_build_is_refused(api: Api) -> None:
    body = {"aggregation": "unique_count", "unit": "user", "unique_by": "u", "group_by": ["u"]}
    r = api.http.put("/v1/meters/users", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == "group_by"
    r = api.http.put(
        "/v1/meters/users", json={"aggregation": "sum", "unit": "u", "group_by": ["a b"]}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == "group_by[0]"


# Hostile text on purpose: unicode beyond the BMP, quotes, separators of CSV, formulas,
# zero-width spaces. Control and bidi characters are refused (see above), so leave them out here
# to keep most batches accepted.
PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))
# Some format characters (Cf) are bidi controls (U+061C, U+200E...): the same rule as the API's.
TEXT = st.text(PRINTABLE, min_size=0, max_size=40).filter(
    lambda t: name_problem(t) is None
) | st.sampled_from(
    ['=cmd|"/c calc"!A1', 'a,"b";c', "\u200b\u00a0", "𝔘𝔫𝔦", " ", "NULL", "../../etc"]
)
IDS = st.text(PRINTABLE, min_size=1, max_size=60).filter(lambda t: name_problem(t) is None)
KEYS = st.from_regex(DIMENSION_KEY, fullmatch=True).filter(
    lambda k: k not in ("gpu_type", "region", "tier", "model", "user")
)
VALUES = st.decimals(
    min_value=0, max_value=Decimal("1e18") - Decimal("1e-6"), places=6, allow_nan=False
)


@st.composite
def raw_events(draw: st.DrawFn) -> dict[str, Any]:
    """One event as a client might send it: anything JSON can hold, within the meters."""
    meter = draw(st.sampled_from(sorted(METERS)))
    dims = draw(st.dictionaries(KEYS, TEXT, max_size=29))
    for key in NEEDS.get(meter, ()):
        dims[key] = draw(TEXT)
    if draw(st.booleans()):
        dims["tier"] = draw(st.sampled_from(TIERS))
    return {"id": draw(IDS), "meter": meter, "value": str(draw(VALUES)), "dimensions": dims}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(raw_events(), min_size=1, max_size=25))
def test_any_batch_the_api_accepts_is_rated_invoiced_and_exported(
    priced: Api, batch: list[dict[str, Any]]
) -> None:
    org = f"o{uuid.uuid4().hex[:10]}"
    priced.new_org(org)
    now = datetime.now(UTC)
    at = max(_month_start(now), now - timedelta(minutes=1)).isoformat()
    events = [{**ev, "org": org, "time": at} for ev in batch]
    r = priced.http.post("/v1/usage/events", json={"events": events})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] + r.json()["duplicates"] == len(events)

    assert priced.http.get("/v1/spend", params={"org": org}).status_code == 200
    period = f"{now:%Y-%m}"
    r = priced.http.post("/v1/invoices/generate", json={"period": period, "org": org})
    assert r.status_code == 200, r.text
    # Only a zero quantity makes no invoice (a max of 0, or values all 0).
    for invoice in r.json():
        r = priced.http.post(f"/v1/invoices/{invoice['id']}/finalize")
        assert r.status_code == 200, r.text
    r = priced.http.get("/v1/exports/focus", params={"period": period, "org": org})
    assert r.status_code == 200, r.text
    r = priced.http.get("/v1/exports/usage.csv", params={"period": period, "org": org})
    assert r.status_code == 200, r.text
    start = _month_start(now).isoformat()
    r = priced.http.get("/v1/margin", params={"from": start, "to": now.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["failed_orgs"] == []
