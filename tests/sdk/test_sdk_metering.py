"""Meters, usage events and spend: routes, batching past 10,000 events, renumbered errors, pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from neocloud.schemas.billing import Spend
from neocloud.schemas.common import Page
from neocloud.schemas.metering import MAX_BATCH, Meter, UsageEvent, UsageEventIn
from neocloud.sdk.errors import NeocloudError
from tests.sdk import sdk_samples as s
from tests.sdk.api_double import Api

T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def event(i: int, **over: Any) -> dict[str, Any]:
    """The i-th usage event as a caller would write it."""
    return {
        "id": f"evt-{i}",
        "org": "acme",
        "meter": "input_tokens",
        "value": "10",
        "time": T,
        "dimensions": {"model": "llama-70b"},
    } | over


def events(n: int) -> list[dict[str, Any]]:
    return [event(i) for i in range(n)]


def invalid_event_answer(index: int, field: str = "meter") -> httpx.Response:
    """The server refusing a batch at `events[index]` (one error, as ApiError renders it)."""
    where = f"events[{index}].{field}"
    return httpx.Response(
        422,
        json={
            "error": {
                "code": "invalid_request",
                "message": f"{where}: unknown meter 'input_tokenz' (known: input_tokens)",
                "details": {"field": where},
            }
        },
    )


def counting(fail: Callable[[int, list[Any]], httpx.Response | None] | None = None) -> Any:
    """A /v1/usage/events handler counting every event as new, or failing when `fail` says so."""
    calls: list[list[Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["events"]
        calls.append(batch)
        if fail is not None and (answer := fail(len(calls), batch)) is not None:
            return answer
        n = len(batch)
        return httpx.Response(200, json={"received": n, "accepted": n, "duplicates": 0})

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


# --- meters ---------------------------------------------------------------------------------


def test_meters_list_get_and_set_follow_the_http_contract(api: Api) -> None:
    api.on("GET", "/v1/meters", [s.gpu_meter(), s.meter()])
    api.on("GET", "/v1/meters/input_tokens", s.meter())
    api.on("PUT", "/v1/meters/active_users", s.meter(name="active_users"))
    client = api.client()

    listed = client.meters.list()
    got = client.meters.get("input_tokens")
    declared = client.meters.set(
        "active_users", "unique_count", "user", unique_by="user", description="Distinct users"
    )

    assert [m.name for m in listed] == ["gpu_seconds", "input_tokens"]
    assert all(isinstance(m, Meter) for m in [*listed, got, declared])
    assert listed[0].reported is False
    assert [(r.method, r.url.path) for r in api.requests] == [
        ("GET", "/v1/meters"),
        ("GET", "/v1/meters/input_tokens"),
        ("PUT", "/v1/meters/active_users"),
    ]
    assert api.last_json() == {
        "aggregation": "unique_count",
        "unit": "user",
        "unique_by": "user",
        "group_by": [],
        "description": "Distinct users",
    }


def test_meter_name_is_one_path_segment(api: Api) -> None:
    api.on("GET", "/v1/meters/a/b", s.meter())

    api.client().meters.get("a/b")

    assert api.requests[-1].url.raw_path == b"/v1/meters/a%2Fb"


def test_meter_set_refuses_an_unknown_aggregation_before_sending(api: Api) -> None:
    with pytest.raises(NeocloudError) as caught:
        api.client().meters.set("input_tokens", "avg", "token")  # type: ignore[arg-type]

    assert caught.value.status == 422
    assert caught.value.details["field"] == "aggregation"
    assert api.requests == []


# --- sending events -------------------------------------------------------------------------


def test_one_batch_sends_exact_values_and_utc_times(api: Api) -> None:
    api.on("POST", "/v1/usage/events", s.events_accepted(received=1, accepted=1))
    local = datetime(2026, 11, 2, 10, 30, tzinfo=UTC).astimezone()
    sent = event(0, value=Decimal("0.000001"), time=local, project="vision")

    result = api.client().usage.send_events([sent])

    assert (result.received, result.accepted, result.duplicates) == (1, 1, 0)
    body = api.last_json()["events"][0]
    assert body["value"] == "0.000001"
    assert datetime.fromisoformat(body["time"]) == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert body["project"] == "vision"


def test_any_number_of_events_go_in_batches_of_10000_and_counts_add_up(api: Api) -> None:
    handler = counting()
    api.handle("POST", "/v1/usage/events", handler)
    given: list[UsageEventIn | dict[str, Any]] = [*events(2 * MAX_BATCH + 1)]
    # Models and mappings mix freely.
    given[5] = UsageEventIn.model_validate(event(5))

    result = api.client().usage.send_events(given)

    assert [len(b) for b in handler.calls] == [MAX_BATCH, MAX_BATCH, 1]
    assert [e["id"] for b in handler.calls for e in b] == [f"evt-{i}" for i in range(len(given))]
    assert (result.received, result.accepted, result.duplicates) == (20_001, 20_001, 0)


def test_duplicates_are_summed_across_batches(api: Api) -> None:
    answers = iter([(3, 1), (2, 2)])

    def handler(request: httpx.Request) -> httpx.Response:
        n = len(json.loads(request.content)["events"])
        accepted, duplicates = next(answers)
        assert accepted + duplicates == n
        return httpx.Response(
            200, json={"received": n, "accepted": accepted, "duplicates": duplicates}
        )

    api.handle("POST", "/v1/usage/events", handler)

    result = api.client().usage.send_events(events(8), batch_size=4)

    assert (result.received, result.accepted, result.duplicates) == (8, 5, 3)


@pytest.mark.parametrize(("failing_batch", "index_in_batch"), [(1, 7), (2, 0), (3, 0)])
def test_a_refused_batch_names_the_event_by_its_index_in_the_whole_input(
    api: Api, failing_batch: int, index_in_batch: int
) -> None:
    handler = counting(
        lambda call, _: invalid_event_answer(index_in_batch) if call == failing_batch else None
    )
    api.handle("POST", "/v1/usage/events", handler)

    with pytest.raises(NeocloudError) as caught:
        api.client().usage.send_events(events(2 * MAX_BATCH + 1))

    offset = (failing_batch - 1) * MAX_BATCH
    where = f"events[{offset + index_in_batch}].meter"
    error = caught.value
    assert (error.status, error.code) == (422, "invalid_request")
    assert error.details["field"] == where
    assert error.message.startswith(f"{where}: unknown meter 'input_tokenz'")
    assert error.details["stored_before"] == offset
    assert len(handler.calls) == failing_batch, "no batch is sent after a refused one"


def test_every_listed_error_of_a_refused_batch_is_renumbered(api: Api) -> None:
    first = "events[2].value: Input should be greater than or equal to 0"
    errors = [
        {"field": "events[2].value", "message": "Input should be greater than or equal to 0"},
        {"field": "events[9].time", "message": "Input should have timezone info"},
        {"field": "events", "message": "List should have at most 10000 items"},
    ]
    refusal = httpx.Response(
        422,
        json={
            "error": {
                "code": "invalid_request",
                "message": first,
                "details": {"field": "events[2].value", "errors": errors},
            }
        },
    )
    api.handle("POST", "/v1/usage/events", counting(lambda call, _: None if call == 1 else refusal))

    with pytest.raises(NeocloudError) as caught:
        api.client().usage.send_events(events(12), batch_size=5)

    assert caught.value.message == first.replace("events[2]", "events[7]")
    assert [e["field"] for e in caught.value.details["errors"]] == [
        "events[7].value",
        "events[14].time",
        "events",
    ]
    assert caught.value.details["stored_before"] == 5


def test_a_malformed_event_anywhere_sends_nothing(api: Api) -> None:
    api.handle("POST", "/v1/usage/events", counting())
    given = events(MAX_BATCH + 50)
    given[MAX_BATCH + 7] = event(MAX_BATCH + 7, value="-1")
    given[MAX_BATCH + 9] = event(MAX_BATCH + 9, time="2026-11-02T09:30:00")

    with pytest.raises(NeocloudError) as caught:
        api.client().usage.send_events(given)

    error = caught.value
    assert error.details["field"] == "events[10007].value"
    assert error.message.startswith("events[10007].value: ")
    assert [e["field"] for e in error.details["errors"]] == [
        "events[10007].value",
        "events[10009].time",
    ]
    assert error.details["stored_before"] == 0
    assert api.requests == []


def test_unknown_and_nested_fields_are_named_like_the_server_names_them(api: Api) -> None:
    given = [event(0, colour="red"), event(1, dimensions={"model": 4}), "not an event"]

    with pytest.raises(NeocloudError) as caught:
        api.client().usage.send_events(given)  # type: ignore[arg-type]

    assert [e["field"] for e in caught.value.details["errors"]] == [
        "events[0].colour",
        "events[1].dimensions.model",
        "events[2]",
    ]


def test_no_events_is_no_request(api: Api) -> None:
    result = api.client().usage.send_events([])

    assert (result.received, result.accepted, result.duplicates) == (0, 0, 0)
    assert api.requests == []


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
def test_batch_size_stays_within_the_api_limit(api: Api, size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        api.client().usage.send_events(events(1), batch_size=size)


def test_an_unreachable_server_mid_way_says_how_much_was_stored(api: Api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if len(api.requests) == 2:
            raise httpx.ConnectError("refused", request=request)
        n = len(json.loads(request.content)["events"])
        return httpx.Response(200, json={"received": n, "accepted": n, "duplicates": 0})

    api.handle("POST", "/v1/usage/events", handler)

    with pytest.raises(NeocloudError) as caught:
        api.client().usage.send_events(events(7), batch_size=3)

    assert caught.value.code == "unreachable"
    assert caught.value.details["stored_before"] == 3


# --- listing events and spend ----------------------------------------------------------------

PAGES = {
    None: s.page([s.usage_event(id="a"), s.usage_event(id="b")], next_cursor="c2"),
    "c2": s.page([s.usage_event(id="c")]),
}


def test_events_one_page_sends_the_filters(api: Api) -> None:
    api.on("GET", "/v1/usage/events", s.page([s.usage_event()], next_cursor="c2"))

    page = api.client().usage.events(
        start=date(2026, 11, 1),
        end=datetime(2026, 12, 1, tzinfo=UTC),
        org="acme",
        meter="input_tokens",
        limit=50,
    )

    assert isinstance(page, Page)
    assert all(isinstance(e, UsageEvent) for e in page.items)
    assert page.items[0].value == Decimal("1500")
    assert page.next_cursor == "c2"
    assert dict(api.requests[-1].url.params) == {
        "from": "2026-11-01",
        "to": "2026-12-01T00:00:00Z",
        "org": "acme",
        "meter": "input_tokens",
        "limit": "50",
    }


def test_iter_events_follows_every_cursor_with_the_same_filters(api: Api) -> None:
    api.handle(
        "GET",
        "/v1/usage/events",
        lambda r: httpx.Response(200, json=PAGES[r.url.params.get("cursor")]),
    )

    ids = [e.id for e in api.client().usage.iter_events(meter="input_tokens", page_size=2)]

    assert ids == ["a", "b", "c"]
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "c2"]
    assert {(r.url.params["meter"], r.url.params["limit"]) for r in api.requests} == {
        ("input_tokens", "2")
    }


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [({}, {}), ({"org": "acme", "project": "vision"}, {"org": "acme", "project": "vision"})],
)
def test_spend(api: Api, kwargs: dict[str, str], query: dict[str, str]) -> None:
    api.on("GET", "/v1/spend", s.spend())

    result = api.client().usage.spend(**kwargs)

    assert isinstance(result, Spend)
    assert result.amount == Decimal("2.35")
    assert result.lines[1].unit_price == Decimal("0.000001")
    assert dict(api.requests[-1].url.params) == query
