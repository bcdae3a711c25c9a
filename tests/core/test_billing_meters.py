"""Meters and usage events: declaration rules, event rules, and aggregation over a period."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.billing.meters import (
    GPU_METER,
    Aggregation,
    Meter,
    MeterEvent,
    aggregate,
    aggregate_groups,
    unique_events,
)

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)

TOKENS = Meter("input_tokens", Aggregation.SUM, "token", group_by=("model",))
PEAK = Meter("storage_gb", Aggregation.MAX, "GB")
CALLS = Meter("api_calls", Aggregation.COUNT, "call")
USERS = Meter("active_users", Aggregation.UNIQUE_COUNT, "user", unique_by="user")


def event(
    id: str,
    value: str = "1",
    *,
    meter: str = "input_tokens",
    minutes: int = 0,
    org: str = "acme",
    dims: Mapping[str, str] | None = None,
) -> MeterEvent:
    return MeterEvent(
        id, org, None, meter, D(value), T0 + timedelta(minutes=minutes), dict(dims or {})
    )


def test_the_gpu_meter_is_the_documents() -> None:
    assert GPU_METER == "gpu_seconds"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Tokens"}, "meter name must be a meter name"),
        ({"name": "9lives"}, "meter name must be a meter name"),
        ({"name": "a" * 64}, "meter name must be a meter name"),
        ({"aggregation": "avg"}, "aggregation must be one of sum, max, count, unique_count"),
        ({"unit": ""}, "unit must be 1 to 32 characters"),
        ({"aggregation": Aggregation.UNIQUE_COUNT}, "unique_by is required for a unique_count"),
        ({"unique_by": "user"}, "unique_by applies only to unique_count meters, not sum"),
        (
            {"aggregation": Aggregation.UNIQUE_COUNT, "unique_by": "user id"},
            "unique_by must be a dimension key",
        ),
        ({"group_by": "model"}, "group_by must be a sequence of dimension keys"),
        ({"group_by": ("model", "model")}, "group_by repeats a dimension"),
        ({"group_by": tuple(f"d{i}" for i in range(9))}, "group_by takes at most 8"),
        ({"group_by": ("bad key",)}, "group_by must be a dimension key"),
        (
            {
                "aggregation": Aggregation.UNIQUE_COUNT,
                "unique_by": "user",
                "group_by": ("user",),
            },
            "unique_by 'user' cannot also be in group_by",
        ),
        ({"description": "x" * 301}, "description must be at most 300"),
    ],
    ids=[
        "upper-case-name",
        "name-starting-with-digit",
        "name-too-long",
        "unknown-aggregation",
        "empty-unit",
        "unique-count-without-unique-by",
        "unique-by-on-a-sum",
        "bad-unique-by-key",
        "group-by-as-a-string",
        "repeated-group-by",
        "too-many-group-by",
        "bad-group-by-key",
        "unique-by-in-group-by",
        "description-too-long",
    ],
)
def test_a_meter_refuses_bad_declarations_naming_the_field(
    kwargs: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {"name": "tokens", "aggregation": Aggregation.SUM, "unit": "token"}
    with pytest.raises(ValueError, match=message):
        Meter(**(fields | kwargs))  # type: ignore[arg-type]


def test_a_meter_takes_its_aggregation_as_a_string_and_group_by_as_a_list() -> None:
    meter = Meter("tokens", "sum", "token", group_by=["model"])  # type: ignore[arg-type]
    assert meter.aggregation is Aggregation.SUM
    assert meter.group_by == ("model",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": ""}, "event id must be 1 to 255 characters"),
        ({"org": ""}, "event e1: org must be a non-empty string"),
        ({"meter": "Tokens"}, "event e1: meter must be a meter name"),
        ({"value": D(-1)}, "event e1: value must be >= 0"),
        ({"value": D("NaN")}, "event e1: value must be a finite decimal number"),
        ({"value": D("Infinity")}, "event e1: value must be a finite decimal number"),
        ({"value": 1.5}, "event e1: value must be a finite decimal number"),
        ({"time": datetime(2026, 11, 1)}, "event e1: time must be timezone-aware"),  # noqa: DTZ001
        ({"dimensions": {"model": 3}}, "dimensions: model must be a string of at most 255"),
        ({"dimensions": {"a b": "x"}}, "dimensions: key must be a dimension key"),
        ({"dimensions": {"model name": "x"}}, "dimensions: key must be a dimension key"),
        ({"dimensions": {"model": "x" * 256}}, "dimensions: model must be a string of at most"),
        ({"dimensions": {"model": "a\x00b"}}, "dimensions: model must not contain NUL"),
        ({"dimensions": {"model": "\ud800"}}, "dimensions: model must not contain lone"),
        ({"dimensions": {"model": "a\u202eb"}}, "dimensions: model must not contain bidi"),
        ({"dimensions": {f"k{i}": "" for i in range(33)}}, "dimensions: at most 32"),
        ({"dimensions": {"tier": "premium"}}, "dimensions: tier must be one of internal,"),
        ({"id": "e\n1"}, "event id must not contain control characters"),
    ],
    ids=[
        "empty-id",
        "empty-org",
        "bad-meter",
        "negative-value",
        "nan-value",
        "infinite-value",
        "float-value",
        "naive-time",
        "non-string-dimension",
        "bad-dimension-key",
        "dimension-key-with-a-space",
        "long-dimension-value",
        "nul-in-a-dimension-value",
        "lone-surrogate",
        "bidi-control",
        "too-many-dimensions",
        "unknown-tier",
        "newline-in-the-id",
    ],
)
def test_an_event_refuses_bad_fields_naming_them(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "id": "e1",
        "org": "acme",
        "project": None,
        "meter": "tokens",
        "value": D(1),
        "time": T0,
        "dimensions": {},
    }
    with pytest.raises(ValueError, match=message):
        MeterEvent(**(fields | kwargs))  # type: ignore[arg-type]


def test_an_events_dimensions_cannot_be_changed_after_the_fact() -> None:
    dims = {"model": "llama"}
    e = event("e1", dims=dims)
    dims["model"] = "other"
    assert e.dimensions["model"] == "llama"
    with pytest.raises(TypeError):
        e.dimensions["model"] = "x"  # type: ignore[index]
    assert hash(e) == hash(event("e1", dims={"model": "llama"}))


@pytest.mark.parametrize(
    ("meter", "events", "expected"),
    [
        (TOKENS, [], "0"),
        (TOKENS, [event("a", "100"), event("b", "0.5")], "100.5"),
        (PEAK, [], "0"),
        (
            PEAK,
            [event(i, v, meter="storage_gb") for i, v in (("a", "3"), ("b", "7.5"), ("c", "2"))],
            "7.5",
        ),
        (CALLS, [event(i, "999", meter="api_calls") for i in "abc"], "3"),
        (
            USERS,
            [
                event(i, meter="active_users", dims={"user": u})
                for i, u in (("a", "ann"), ("b", "bob"), ("c", "ann"))
            ],
            "2",
        ),
    ],
    ids=["sum-empty", "sum", "max-empty", "max", "count-ignores-values", "unique-count"],
)
def test_aggregations(meter: Meter, events: list[MeterEvent], expected: str) -> None:
    assert aggregate(meter, events) == D(expected)


def test_the_same_event_id_counts_once_the_first_occurrence_winning() -> None:
    first, resent, other = event("a", "10"), event("a", "99"), event("b", "1")
    assert unique_events([first, resent, other]) == [first, other]
    assert aggregate(TOKENS, [first, resent, other]) == D(11)
    assert aggregate(CALLS, [event("a", meter="api_calls")] * 3) == 1


def test_the_same_id_in_two_orgs_is_two_events() -> None:
    assert aggregate(TOKENS, [event("a", "1"), event("a", "2", org="beta")]) == D(3)


def test_groups_split_by_the_meters_dimensions() -> None:
    events = [
        event("a", "10", dims={"model": "llama"}),
        event("b", "5", dims={"model": "mistral"}),
        event("c", "1", dims={"model": "llama", "region": "eu"}),
        event("d", "2"),
    ]
    assert aggregate_groups(TOKENS, events) == {
        ("llama",): D(11),
        ("mistral",): D(5),
        ("",): D(2),
    }
    assert aggregate_groups(TOKENS, []) == {}
    assert aggregate_groups(CALLS, [event("x", meter="api_calls")]) == {(): D(1)}


def test_unique_count_needs_the_dimension_it_counts() -> None:
    with pytest.raises(ValueError, match="event a: meter active_users counts distinct 'user'"):
        aggregate(USERS, [event("a", meter="active_users")])


def test_events_of_another_meter_are_refused() -> None:
    with pytest.raises(ValueError, match="event a is of meter api_calls, not input_tokens"):
        aggregate(TOKENS, [event("a", meter="api_calls")])
