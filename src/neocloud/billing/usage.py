"""Usage spans (one allocation's real lifetime), clipping to periods, and usage summaries."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from neocloud.billing.intervals import hours, require_interval, seconds_between, utc
from neocloud.domain.jobs import Tier

GROUP_KEYS = ("org", "project", "gpu_type", "tier", "day")

_GroupKey = tuple[str | None, str | None, str | None, Tier | None, date | None]


@dataclass(frozen=True, slots=True)
class UsageSpan:
    """GPUs one allocation held from its real start to its real end: the unit of GPU usage."""

    id: str
    org: str
    project: str | None
    job: str
    gpu_type: str
    tier: Tier
    region: str
    gpus: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        # Stores hand tiers over as plain strings; keep the enum so rank and ordering work.
        object.__setattr__(self, "tier", Tier(self.tier))
        require_interval(self.start, self.end, f"usage span {self.id}")
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 1:
            raise ValueError(f"usage span {self.id}: gpus must be an integer >= 1, got {self.gpus}")

    @property
    def gpu_seconds(self) -> Decimal:
        """GPUs × exact seconds held."""
        return self.gpus * seconds_between(self.start, self.end)


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """GPU usage of one group; keys not grouped by are None."""

    gpu_seconds: Decimal
    gpu_hours: Decimal
    org: str | None = None
    project: str | None = None
    gpu_type: str | None = None
    tier: Tier | None = None
    day: date | None = None


def clip(span: UsageSpan, start: datetime, end: datetime) -> UsageSpan | None:
    """The part of a span inside [start, end), or None when nothing of it is."""
    require_interval(start, end, "clip window")
    lo, hi = max(span.start, start), min(span.end, end)
    if lo >= hi:
        return None
    return dataclasses.replace(span, start=lo, end=hi)


def unique_spans(spans: Iterable[UsageSpan]) -> list[UsageSpan]:
    """Spans with repeats of the same span dropped: usage is idempotent by id.

    Two different spans sharing an id are corrupt data and raise ValueError rather than being
    billed once or twice by chance.
    """
    seen: dict[str, UsageSpan] = {}
    for span in spans:
        earlier = seen.setdefault(span.id, span)
        if earlier != span:
            raise ValueError(f"two different usage spans share the id {span.id!r}")
    return list(seen.values())


def split_at_days(span: UsageSpan) -> Iterator[UsageSpan]:
    """The span cut at every UTC midnight it crosses."""
    cursor = span.start
    while cursor < span.end:
        midnight = datetime.combine(utc(cursor).date() + timedelta(days=1), time(), tzinfo=UTC)
        piece_end = min(midnight, span.end)
        yield dataclasses.replace(span, start=cursor, end=piece_end)
        cursor = piece_end


def summarize(
    spans: Iterable[UsageSpan],
    group_by: Sequence[str],
    start: datetime,
    end: datetime,
) -> list[UsageSummary]:
    """GPU usage inside [start, end) grouped by any of org, project, gpu_type, tier, day (UTC).

    Rows are sorted by org, project, gpu_type, tier (highest first), day; a missing project
    sorts first.
    """
    require_interval(start, end, "summary window")
    unknown = [key for key in group_by if key not in GROUP_KEYS]
    if unknown:
        raise ValueError(
            f"cannot group usage by {unknown[0]!r}; choose from {', '.join(GROUP_KEYS)}"
        )
    keys = frozenset(group_by)
    totals: dict[_GroupKey, Decimal] = defaultdict(Decimal)
    for span in unique_spans(spans):
        clipped = clip(span, start, end)
        if clipped is None:
            continue
        pieces = split_at_days(clipped) if "day" in keys else iter((clipped,))
        for piece in pieces:
            totals[_group(piece, keys)] += piece.gpu_seconds
    rows = [UsageSummary(seconds, hours(seconds), *key) for key, seconds in totals.items()]
    return sorted(rows, key=_order)


def _group(span: UsageSpan, keys: frozenset[str]) -> _GroupKey:
    return (
        span.org if "org" in keys else None,
        span.project if "project" in keys else None,
        span.gpu_type if "gpu_type" in keys else None,
        span.tier if "tier" in keys else None,
        utc(span.start).date() if "day" in keys else None,
    )


def _order(row: UsageSummary) -> tuple[tuple[bool, object], ...]:
    # None first in every column, so that the order is total even with mixed None values.
    values: tuple[object, ...] = (
        row.org,
        row.project,
        row.gpu_type,
        row.tier.rank if row.tier is not None else None,
        row.day,
    )
    return tuple((v is not None, v if v is not None else 0) for v in values)
