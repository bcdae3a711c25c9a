"""Meters and usage events: what an event counts, and how a period's events aggregate.

A meter is declared once (sum, max, count or unique_count of its events, optionally split by
some dimensions); events are immutable and idempotent: the same id within an org counts once,
the first occurrence winning, as the store keeps the first copy it receives and drops re-sends.

GPU time is not reported as events: it is measured from allocations (usage.UsageSpan) under
the built-in meter `GPU_METER` ("gpu_seconds") and priced per GPU-hour.

The dimensions `gpu_type`, `tier` and `region` of an event, when present, also choose its
price in the price book (see pricebook.py); any dimension may be a meter's group_by or
unique_by.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from neocloud.billing.charges import exact_arithmetic
from neocloud.billing.document import GPU_METER
from neocloud.billing.intervals import require_aware
from neocloud.domain.jobs import Tier
from neocloud.domain.text import name_problem

METER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DIMENSION_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,62}$")
MAX_GROUP_BY = 8
MAX_UNIT = 32
MAX_DESCRIPTION = 300
MAX_EVENT_ID = 255
MAX_DIMENSIONS = 32
MAX_DIMENSION_VALUE = 255

__all__ = [
    "DIMENSION_KEY",
    "GPU_METER",
    "METER_NAME",
    "Aggregation",
    "Meter",
    "MeterEvent",
    "aggregate",
    "aggregate_groups",
    "distinct_value",
    "group_of",
    "require_dimension_key",
    "require_dimensions",
    "require_event_id",
    "require_event_value",
    "require_meter_name",
    "unique_events",
]


class Aggregation(StrEnum):
    """How a meter's events make one quantity."""

    SUM = "sum"
    MAX = "max"
    COUNT = "count"
    UNIQUE_COUNT = "unique_count"


def require_meter_name(name: object, field_name: str = "name") -> str:
    """Return name if it is a valid meter name; ValueError naming the field otherwise."""
    if not isinstance(name, str) or not METER_NAME.match(name):
        raise ValueError(
            f"{field_name} must be a meter name (a lower-case letter, then up to 62 lower-case"
            f" letters, digits or _), got {name!r}"
        )
    return name


def require_dimension_key(key: object, field_name: str = "dimension key") -> str:
    """Return key if it is a valid dimension key; ValueError naming the field otherwise."""
    if not isinstance(key, str) or not DIMENSION_KEY.match(key):
        raise ValueError(
            f"{field_name} must be a dimension key (a letter or _, then up to 62 letters,"
            f" digits, _ . or -), got {key!r}"
        )
    return key


def require_event_id(event_id: object, field_name: str = "id") -> str:
    """Return the id if it is 1 to 255 printable characters; ValueError naming the field."""
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID:
        raise ValueError(f"{field_name} must be 1 to {MAX_EVENT_ID} characters, got {event_id!r}")
    _require_printable(event_id, field_name)
    return event_id


def require_event_value(value: object, field_name: str = "value") -> Decimal:
    """Return value if it is a finite Decimal >= 0; ValueError naming the field otherwise."""
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{field_name} must be a finite decimal number, got {value!r}")
    if value < 0:
        raise ValueError(f"{field_name} must be >= 0, got {value}")
    return value


def require_dimensions(dims: object, field_name: str = "dimensions") -> dict[str, str]:
    """A copy of dims if every key and value is one billing can rate; ValueError otherwise.

    Keys are dimension keys; values are strings of at most 255 printable characters; the
    `tier` dimension, which chooses the price, must name a tier.
    """
    if not isinstance(dims, Mapping):
        raise ValueError(f"{field_name} must be a mapping of dimension keys to strings")
    if len(dims) > MAX_DIMENSIONS:
        raise ValueError(f"{field_name}: at most {MAX_DIMENSIONS} dimensions, got {len(dims)}")
    out: dict[str, str] = {}
    for key, value in dims.items():
        require_dimension_key(key, f"{field_name}: key")
        if not isinstance(value, str) or len(value) > MAX_DIMENSION_VALUE:
            raise ValueError(
                f"{field_name}: {key} must be a string of at most {MAX_DIMENSION_VALUE}"
                f" characters, got {value!r:.80}"
            )
        _require_printable(value, f"{field_name}: {key}")
        out[key] = value
    tier = out.get("tier")
    if tier is not None and tier not in _TIERS:
        raise ValueError(f"{field_name}: tier must be one of {', '.join(_TIERS)}, got {tier!r}")
    return out


_TIERS = tuple(t.value for t in Tier)


def _require_printable(text: str, field_name: str) -> None:
    # Ids and dimension values end up in invoices, CSV and FOCUS files and on both databases:
    # the platform's one rule for names applies (no NUL, control or bidi character).
    problem = name_problem(text)
    if problem is not None:
        raise ValueError(f"{field_name} {problem}")


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter: its name, how its events aggregate, its unit, and the dimensions it splits by.

    `unique_by` is the dimension whose distinct values a unique_count meter counts;
    `group_by` are the dimensions whose values split the quantity into separate lines.
    """

    name: str
    aggregation: Aggregation
    unit: str
    unique_by: str | None = None
    group_by: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        require_meter_name(self.name, "meter name")
        try:
            object.__setattr__(self, "aggregation", Aggregation(self.aggregation))
        except ValueError:
            choices = ", ".join(a.value for a in Aggregation)
            raise ValueError(
                f"meter {self.name}: aggregation must be one of {choices}, got {self.aggregation!r}"
            ) from None
        if not isinstance(self.unit, str) or not 1 <= len(self.unit) <= MAX_UNIT:
            raise ValueError(f"meter {self.name}: unit must be 1 to {MAX_UNIT} characters")
        if not isinstance(self.description, str) or len(self.description) > MAX_DESCRIPTION:
            raise ValueError(
                f"meter {self.name}: description must be at most {MAX_DESCRIPTION} characters"
            )
        if isinstance(self.group_by, str):
            raise ValueError(f"meter {self.name}: group_by must be a sequence of dimension keys")
        object.__setattr__(self, "group_by", tuple(self.group_by))
        self._check_dimensions()

    def _check_dimensions(self) -> None:
        if self.aggregation is Aggregation.UNIQUE_COUNT:
            if self.unique_by is None:
                raise ValueError(
                    f"meter {self.name}: unique_by is required for a unique_count meter"
                    " (the dimension whose distinct values are counted)"
                )
            require_dimension_key(self.unique_by, f"meter {self.name}: unique_by")
        elif self.unique_by is not None:
            raise ValueError(
                f"meter {self.name}: unique_by applies only to unique_count meters,"
                f" not {self.aggregation}"
            )
        if len(self.group_by) > MAX_GROUP_BY:
            raise ValueError(
                f"meter {self.name}: group_by takes at most {MAX_GROUP_BY} dimensions,"
                f" got {len(self.group_by)}"
            )
        for key in self.group_by:
            require_dimension_key(key, f"meter {self.name}: group_by")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError(f"meter {self.name}: group_by repeats a dimension")
        if self.unique_by is not None and self.unique_by in self.group_by:
            # Each group would hold one distinct value: a count of 1 per group, surely a mistake.
            raise ValueError(
                f"meter {self.name}: unique_by {self.unique_by!r} cannot also be in group_by"
            )


@dataclass(frozen=True, slots=True)
class MeterEvent:
    """One measured usage of a meter by an org at an instant, with free-form dimensions."""

    id: str
    org: str
    project: str | None
    meter: str
    value: Decimal
    time: datetime
    # A read-only copy: an event is immutable, and its dimensions with it. Left out of the
    # hash (a mapping has none); equal events still hash equal.
    dimensions: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        require_event_id(self.id, "event id")
        if not isinstance(self.org, str) or not self.org:
            raise ValueError(f"event {self.id}: org must be a non-empty string")
        if self.project is not None and not isinstance(self.project, str):
            raise ValueError(f"event {self.id}: project must be a string or None")
        require_meter_name(self.meter, f"event {self.id}: meter")
        require_event_value(self.value, f"event {self.id}: value")
        require_aware(self.time, f"event {self.id}: time")
        dims = require_dimensions(self.dimensions, f"event {self.id}: dimensions")
        object.__setattr__(self, "dimensions", types.MappingProxyType(dims))


def unique_events(events: Iterable[MeterEvent]) -> list[MeterEvent]:
    """Events with repeats of an (org, id) dropped, the first occurrence winning, in order."""
    seen: dict[tuple[str, str], MeterEvent] = {}
    for event in events:
        seen.setdefault((event.org, event.id), event)
    return list(seen.values())


def group_of(meter: Meter, event: MeterEvent) -> tuple[str, ...]:
    """The event's values of the meter's group_by dimensions ("" where it has none)."""
    return tuple(event.dimensions.get(key, "") for key in meter.group_by)


def aggregate(meter: Meter, events: Iterable[MeterEvent]) -> Decimal:
    """The meter's quantity over events (0 for none): sum, max, count or distinct count."""
    return _aggregate(meter, unique_events(_of_meter(meter, events)))


def aggregate_groups(meter: Meter, events: Iterable[MeterEvent]) -> dict[tuple[str, ...], Decimal]:
    """The quantity per group (the meter's group_by values); groups without events are absent."""
    groups: dict[tuple[str, ...], list[MeterEvent]] = {}
    for event in unique_events(_of_meter(meter, events)):
        groups.setdefault(group_of(meter, event), []).append(event)
    return {key: _aggregate(meter, members) for key, members in groups.items()}


def distinct_value(meter: Meter, event: MeterEvent) -> str:
    """The unique_by value a unique_count meter counts for an event (ValueError if missing)."""
    assert meter.unique_by is not None
    try:
        return event.dimensions[meter.unique_by]
    except KeyError:
        # Counting it as "" or skipping it would bill a number nobody measured.
        raise ValueError(
            f"event {event.id}: meter {meter.name} counts distinct {meter.unique_by!r},"
            " which the event does not carry"
        ) from None


def _of_meter(meter: Meter, events: Iterable[MeterEvent]) -> Iterable[MeterEvent]:
    for event in events:
        if event.meter != meter.name:
            raise ValueError(f"event {event.id} is of meter {event.meter}, not {meter.name}")
        yield event


def _aggregate(meter: Meter, events: list[MeterEvent]) -> Decimal:
    with exact_arithmetic():
        if meter.aggregation is Aggregation.SUM:
            return sum((e.value for e in events), Decimal(0))
        if meter.aggregation is Aggregation.MAX:
            return max((e.value for e in events), default=Decimal(0))
        if meter.aggregation is Aggregation.COUNT:
            return Decimal(len(events))
        return Decimal(len({distinct_value(meter, e) for e in events}))
