"""Usage events: batches counted once per (org, id), checked whole, stored all or nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from neocloud.store.models import UsageEventRow
from tests.api.conftest import Api

NOW = datetime.now(UTC)
TOKENS = {"aggregation": "sum", "unit": "token", "group_by": ["model"]}


def _event(i: int | str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"ev-{i}",
        "org": "acme",
        "meter": "input_tokens",
        "value": "1000",
        "time": (NOW - timedelta(minutes=1)).isoformat(),
        "dimensions": {"model": "llama-70b"},
        **extra,
    }


@pytest.fixture
def metered(api: Api) -> Api:
    """The API with an external org `acme` and a declared `input_tokens` meter."""
    api.new_org("acme")
    r = api.http.put("/v1/meters/input_tokens", json=TOKENS)
    assert r.status_code == 200, r.text
    return api


def _stored(api: Api, org: str = "acme") -> list[dict[str, Any]]:
    r = api.http.get(
        "/v1/usage/events",
        params={"org": org, "from": (NOW - timedelta(days=2)).isoformat(), "limit": 500},
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_the_same_event_id_counts_once_within_a_batch_and_across_batches(metered: Api) -> None:
    r = metered.http.post("/v1/usage/events", json={"events": [_event(1), _event(2), _event(1)]})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 3, "accepted": 2, "duplicates": 1}
    r = metered.http.post("/v1/usage/events", json={"events": [_event(2), _event(3)]})
    assert r.json() == {"received": 2, "accepted": 1, "duplicates": 1}
    assert sorted(e["id"] for e in _stored(metered)) == ["ev-1", "ev-2", "ev-3"]


@pytest.mark.parametrize(
    ("stored_before", "batch", "accepted"),
    [
        (0, [*range(10_000)], 10_000),
        (1_200, [*range(2_500), *range(2_400, 2_600)], 1_400),
        (3_000, [*range(3_000)], 0),
    ],
    ids=["ten-thousand-new", "new-old-and-repeated", "all-old"],
)
def test_counts_are_true_for_batches_of_more_than_a_thousand(
    metered: Api, stored_before: int, batch: list[int], accepted: int
) -> None:
    if stored_before:
        first = {"events": [_event(i) for i in range(stored_before)]}
        assert metered.http.post("/v1/usage/events", json=first).json()["accepted"] == stored_before
    r = metered.http.post("/v1/usage/events", json={"events": [_event(i) for i in batch]})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": len(batch),
        "accepted": accepted,
        "duplicates": len(batch) - accepted,
    }
    with metered.ctx.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(UsageEventRow))
    assert stored == stored_before + accepted


def test_the_first_copy_of_an_event_wins(metered: Api) -> None:
    metered.http.post("/v1/usage/events", json={"events": [_event(1, value="5")]})
    r = metered.http.post("/v1/usage/events", json={"events": [_event(1, value="7")]})
    assert r.json()["duplicates"] == 1
    assert [Decimal(e["value"]) for e in _stored(metered)] == [Decimal(5)]


def test_event_ids_are_per_org(metered: Api) -> None:
    metered.new_org("globex")
    batch = [_event(1), _event(1, org="globex")]
    r = metered.http.post("/v1/usage/events", json={"events": batch})
    assert r.json()["accepted"] == 2


def test_values_keep_every_decimal_the_store_holds(metered: Api) -> None:
    metered.http.post("/v1/usage/events", json={"events": [_event(1, value="0.000001")]})
    assert [e["value"] for e in _stored(metered)] == ["0.000001"]


LONG_AGO = (NOW - timedelta(days=40)).isoformat()
AHEAD = (NOW + timedelta(hours=1)).isoformat()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": "-1"}, "events[1].value"),
        ({"value": "abc"}, "events[1].value"),
        ({"value": "NaN"}, "events[1].value"),
        ({"value": "1.0000001"}, "events[1].value"),
        ({"meter": "output_tokens"}, "events[1].meter"),
        ({"meter": "gpu_seconds"}, "events[1].meter"),
        ({"org": "nobody"}, "events[1].org"),
        ({"project": "nope"}, "events[1].project"),
        ({"time": "2026-11-01T00:00:00"}, "events[1].time"),
        ({"time": LONG_AGO}, "events[1].time"),
        ({"time": AHEAD}, "events[1].time"),
        ({"dimensions": {}}, "events[1].dimensions"),
        ({"id": ""}, "events[1].id"),
        ({"colour": "red"}, "events[1].colour"),
    ],
    ids=[
        "negative",
        "not-a-number",
        "nan",
        "finer-than-the-store",
        "unknown-meter",
        "platform-meter",
        "unknown-org",
        "unknown-project",
        "naive-time",
        "too-old",
        "too-far-ahead",
        "missing-group-dimension",
        "empty-id",
        "unknown-field",
    ],
)
def test_one_bad_event_refuses_the_batch_naming_it(
    metered: Api, change: dict[str, Any], field: str
) -> None:
    r = metered.http.post("/v1/usage/events", json={"events": [_event(0), _event(1, **change)]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert _stored(metered) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": [_event(i) for i in range(10_001)]}, "events"),
        ({}, "events"),
        ([_event(1)], "body"),
    ],
    ids=["empty", "too-large", "missing", "bare-list"],
)
def test_malformed_batches_are_refused(metered: Api, body: Any, field: str) -> None:
    r = metered.http.post("/v1/usage/events", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert _stored(metered) == []


def test_only_the_operator_reports_usage(metered: Api) -> None:
    customer = metered.new_org("globex")
    r = customer.post("/v1/usage/events", json={"events": [_event(1, org="globex")]})
    assert r.status_code == 403
    assert customer.get("/v1/usage/events", params={"org": "acme"}).status_code == 404


def test_a_customer_sees_its_own_events(metered: Api) -> None:
    r = metered.http.post("/v1/keys", json={"org": "acme", "name": "t", "role": "billing"})
    acme = metered.as_key(r.json()["secret"])
    metered.http.post("/v1/usage/events", json={"events": [_event(1)]})
    r = acme.get("/v1/usage/events", params={"from": (NOW - timedelta(days=1)).isoformat()})
    assert [e["id"] for e in r.json()["items"]] == ["ev-1"]


def test_events_page_by_cursor(metered: Api) -> None:
    metered.http.post("/v1/usage/events", json={"events": [_event(i) for i in range(5)]})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"org": "acme", "limit": 2, "from": "2000-01-01"}
        if cursor:
            params["cursor"] = cursor
        page = metered.http.get("/v1/usage/events", params=params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"ev-{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"aggregation": "unique_count", "unit": "user"}, "unique_by", 422),
        ({"aggregation": "sum", "unit": "t", "unique_by": "user"}, "unique_by", 422),
        ({"aggregation": "avg", "unit": "t"}, "aggregation", 422),
        ({"aggregation": "sum", "unit": "t", "group_by": ["a", "a"]}, "group_by", 422),
    ],
    ids=["unique-count-without-dimension", "unique-by-on-sum", "unknown-aggregation", "twice"],
)
def test_bad_meter_declarations_are_refused(
    metered: Api, body: dict[str, Any], field: str, status: int
) -> None:
    r = metered.http.put("/v1/meters/users", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert metered.http.get("/v1/meters/users").status_code == 404


def test_a_used_meter_keeps_its_aggregation(metered: Api) -> None:
    assert metered.http.put("/v1/meters/input_tokens", json={**TOKENS, "unit": "tok"}).is_success
    metered.http.post("/v1/usage/events", json={"events": [_event(1)]})
    r = metered.http.put("/v1/meters/input_tokens", json={**TOKENS, "aggregation": "max"})
    assert r.status_code == 409
    names = [m["name"] for m in metered.http.get("/v1/meters").json()]
    assert names == ["gpu_seconds", "input_tokens"]
    assert metered.http.put("/v1/meters/gpu_seconds", json=TOKENS).status_code == 422


def test_concurrent_retries_of_the_same_batch_count_once(metered: Api) -> None:
    batch = {"events": [_event(i) for i in range(300)]}

    def send(_: int) -> dict[str, int]:
        r = metered.http.post("/v1/usage/events", json=batch)
        assert r.status_code == 200, r.text
        return dict(r.json())

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(send, range(12)))
    assert sum(r["accepted"] for r in results) == 300
    assert sum(r["duplicates"] for r in results) == 12 * 300 - 300
    assert len(_stored(metered)) == 300


def test_concurrent_batches_sharing_events_in_any_order_neither_deadlock_nor_double_count(
    metered: Api,
) -> None:
    events = [_event(i) for i in range(200)]
    batches = [{"events": events[::step]} for step in (1, -1, 2, -2, 3, -3)] * 2

    def send(body: dict[str, Any]) -> int:
        r = metered.http.post("/v1/usage/events", json=body)
        assert r.status_code == 200, r.text
        return int(r.json()["accepted"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert sum(pool.map(send, batches)) == 200
