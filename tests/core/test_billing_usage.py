"""Usage spans: exact GPU-seconds, clipping to a window, and summaries of usage by group."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.usage import (
    GROUP_KEYS,
    UsageSpan,
    UsageSummary,
    clip,
    summarize,
    unique_spans,
)
from neocloud.domain.jobs import Tier

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def span(
    start: datetime,
    end: datetime,
    *,
    id: str = "a1",
    org: str = "acme",
    project: str | None = None,
    gpu_type: str = "h100",
    tier: Tier = Tier.ON_DEMAND,
    gpus: int = 1,
) -> UsageSpan:
    return UsageSpan(id, org, project, "job-1", gpu_type, tier, "us-east", gpus, start, end)


def test_gpu_seconds_are_exact_to_the_microsecond() -> None:
    s = span(T0, T0 + timedelta(seconds=1, microseconds=500_001), gpus=2)
    assert s.gpu_seconds == D("3.000002")


def test_a_tier_given_as_its_wire_string_becomes_a_tier() -> None:
    s = UsageSpan("a1", "acme", None, "j", "h100", "spot", "r", 1, T0, at(1))  # type: ignore[arg-type]
    assert s.tier is Tier.SPOT


def test_gpu_seconds_across_days() -> None:
    s = span(T0, T0 + timedelta(days=3, seconds=7), gpus=8)
    assert s.gpu_seconds == D(8 * (3 * 86_400 + 7))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2026, 11, 1), "end": T0}, "usage span a1 start must be timezone-aware"),  # noqa: DTZ001
        ({"start": T0, "end": datetime(2026, 11, 2)}, "usage span a1 end must be timezone-aware"),  # noqa: DTZ001
        ({"start": at(2), "end": at(1)}, "usage span a1 ends"),
        ({"start": at(1), "end": at(2), "gpus": 0}, "gpus must be an integer >= 1"),
    ],
    ids=["naive-start", "naive-end", "ends-before-start", "no-gpus"],
)
def test_a_span_refuses_bad_data(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        span(**kwargs)  # type: ignore[arg-type]


WINDOW = (at(10), at(20))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (12, 15, (12, 15)),
        (5, 15, (10, 15)),
        (15, 25, (15, 20)),
        (5, 25, (10, 20)),
        (1, 5, None),
        (5, 10, None),
        (20, 30, None),
        (12, 12, None),
    ],
    ids=[
        "inside",
        "starts-before",
        "ends-after",
        "covers",
        "before",
        "ends-at-start",
        "starts-at-end",
        "empty",
    ],
)
def test_clip(start: float, end: float, expected: tuple[float, float] | None) -> None:
    clipped = clip(span(at(start), at(end), gpus=4), *WINDOW)

    if expected is None:
        assert clipped is None
    else:
        assert clipped is not None
        assert (clipped.start, clipped.end, clipped.gpus, clipped.id) == (
            at(expected[0]),
            at(expected[1]),
            4,
            "a1",
        )


def test_the_same_span_twice_counts_once_but_two_spans_sharing_an_id_are_refused() -> None:
    one = span(at(0), at(1))
    assert unique_spans([one, one]) == [one]
    with pytest.raises(ValueError, match="two different usage spans share the id 'a1'"):
        unique_spans([one, span(at(0), at(2))])


SPANS = [
    span(at(-2), at(3), id="s1", org="acme", project="p1", gpus=2),
    span(at(1), at(2), id="s2", org="acme", project=None, tier=Tier.SPOT, gpus=1),
    span(at(22), at(26), id="s3", org="beta", gpu_type="a100", gpus=4),
    span(at(50), at(60), id="s4", org="acme", gpus=8),
]


def test_summary_by_org_is_clipped_to_the_window() -> None:
    rows = summarize(SPANS, ["org"], at(0), at(48))

    assert rows == [
        # s1: 2 GPUs × 3 h inside; s2: 1 × 1 h; s4 lies outside the window.
        UsageSummary(D(7 * 3600), D(7), org="acme"),
        UsageSummary(D(16 * 3600), D(16), org="beta"),
    ]


def test_summary_by_day_splits_at_utc_midnight() -> None:
    rows = summarize(SPANS[2:3], ["org", "day"], at(0), at(48))

    assert rows == [
        UsageSummary(D(8 * 3600), D(8), org="beta", day=date(2026, 11, 1)),
        UsageSummary(D(8 * 3600), D(8), org="beta", day=date(2026, 11, 2)),
    ]


def test_days_are_utc_days_whatever_the_offset_of_the_inputs() -> None:
    tokyo = timezone(timedelta(hours=9))
    # 08:00–10:00 in Tokyo is 23:00–01:00 UTC: it straddles a UTC midnight.
    s = span(datetime(2026, 11, 2, 8, tzinfo=tokyo), datetime(2026, 11, 2, 10, tzinfo=tokyo))

    rows = summarize([s], ["day"], at(0), at(48))

    assert [(r.day, r.gpu_seconds) for r in rows] == [
        (date(2026, 11, 1), D(3600)),
        (date(2026, 11, 2), D(3600)),
    ]


def test_summary_rows_are_sorted_with_missing_project_first_and_tiers_highest_first() -> None:
    spans = [
        span(at(0), at(1), id="x1", project="p1", tier=Tier.SPOT),
        span(at(0), at(1), id="x2", project=None, tier=Tier.SPOT),
        span(at(0), at(1), id="x3", project="p1", tier=Tier.RESERVED),
    ]

    rows = summarize(spans, ["tier", "project"], at(0), at(2))

    assert [(r.project, r.tier) for r in rows] == [
        (None, Tier.SPOT),
        ("p1", Tier.RESERVED),
        ("p1", Tier.SPOT),
    ]
    assert all(r.org is None and r.gpu_type is None and r.day is None for r in rows)


def test_no_grouping_gives_one_total_row() -> None:
    assert summarize(SPANS, [], at(0), at(48)) == [UsageSummary(D(23 * 3600), D(23))]


def test_an_unknown_group_key_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="cannot group usage by 'region'"):
        summarize(SPANS, ["org", "region"], at(0), at(48))


spans_st = st.lists(
    st.builds(
        lambda start, minutes, gpus, org, tier, gpu_type: span(
            at(start / 60),
            at(start / 60) + timedelta(minutes=minutes, microseconds=start % 997),
            id=f"{start}-{minutes}-{gpus}-{org}-{tier}-{gpu_type}",
            org=org,
            tier=tier,
            gpu_type=gpu_type,
            gpus=gpus,
        ),
        start=st.integers(min_value=-3 * 1440, max_value=6 * 1440),
        minutes=st.integers(min_value=0, max_value=3 * 1440),
        gpus=st.integers(min_value=1, max_value=8),
        org=st.sampled_from(["acme", "beta"]),
        tier=st.sampled_from(list(Tier)),
        gpu_type=st.sampled_from(["h100", "a100"]),
    ),
    max_size=12,
    unique_by=lambda s: s.id,
)


@settings(max_examples=200)
@given(
    spans=spans_st,
    group_by=st.lists(st.sampled_from(GROUP_KEYS), unique=True),
    window=st.tuples(st.integers(0, 3 * 1440), st.integers(1, 4 * 1440)),
)
def test_any_grouping_adds_up_to_the_clipped_usage(
    spans: list[UsageSpan], group_by: list[str], window: tuple[int, int]
) -> None:
    start = at(window[0] / 60)
    end = start + timedelta(minutes=window[1])
    expected = sum((c.gpu_seconds for s in spans if (c := clip(s, start, end)) is not None), D(0))

    rows = summarize(spans, group_by, start, end)

    assert sum((r.gpu_seconds for r in rows), D(0)) == expected
    keys = [tuple(getattr(r, k) for k in GROUP_KEYS) for r in rows]
    assert len(set(keys)) == len(keys)
    for row in rows:
        assert all(getattr(row, k) is None for k in GROUP_KEYS if k not in group_by)
        assert row.gpu_hours * 3600 == pytest.approx(row.gpu_seconds, abs=D("1e-20"))
    # The order of the input never changes the rows or their order.
    assert rows == summarize(list(reversed(spans)), group_by, start, end)
