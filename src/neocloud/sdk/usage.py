"""Measured usage: GPU records and summaries, reported usage events, and spend so far."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from neocloud.schemas.billing import Spend, UsageRecord, UsageSummaryRow
from neocloud.schemas.common import Page, rule_message
from neocloud.schemas.metering import (
    MAX_BATCH,
    UsageEvent,
    UsageEventBatch,
    UsageEventIn,
    UsageEventsAccepted,
)
from neocloud.sdk.errors import INVALID_REQUEST, NeocloudError
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, When

GROUP_KEYS = ("org", "gpu_type", "tier", "day", "project")

# A field the server names inside a batch: `events[12].meter`.
_BATCH_FIELD = re.compile(r"^events\[(\d+)\]")
# Local checks list at most this many errors: a million bad lines need not make a million dicts.
_MAX_LISTED_ERRORS = 100


class Usage(Resource):
    """Usage (`/v1/usage`) and spend (`/v1/spend`); `start`/`end` are sent as `from`/`to`."""

    def records(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[UsageRecord]:
        """One page of usage records."""
        return self._t.call(
            "GET",
            "/v1/usage/records",
            Page[UsageRecord],
            params={"from": start, "to": end, "org": org, "cursor": cursor, "limit": limit},
        )

    def iter_records(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[UsageRecord]:
        """Every usage record in the range."""
        return follow_pages(
            lambda c: self.records(start=start, end=end, org=org, cursor=c, limit=page_size)
        )

    def summary(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        group_by: Sequence[str] | None = None,
    ) -> list[UsageSummaryRow]:
        """GPU-seconds and GPU-hours grouped by any of org, gpu_type, tier, day, project."""
        return self._t.call(
            "GET",
            "/v1/usage/summary",
            list[UsageSummaryRow],
            params={"from": start, "to": end, "org": org, "group_by": group_by},
        )

    def send_events(
        self,
        events: Sequence[UsageEventIn | Mapping[str, Any]],
        *,
        batch_size: int = MAX_BATCH,
    ) -> UsageEventsAccepted:
        """Report any number of usage events in batches of `batch_size`; counts are summed.

        Every event is checked here before the first batch goes out, so a malformed one sends
        nothing. What only the server can check (orgs, meters, time limits) refuses one batch:
        its error then names `events[i]` with i the index in `events`, not in the batch, and
        `details["stored_before"]` says how many events earlier batches stored. Ids count once
        per org, so sending the whole input again after a fix is harmless.
        """
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
        checked = checked_events(events)
        received = accepted = duplicates = 0
        for offset in range(0, len(checked), batch_size):
            batch = UsageEventBatch(events=checked[offset : offset + batch_size])
            try:
                done = self._t.call("POST", "/v1/usage/events", UsageEventsAccepted, body=batch)
            except NeocloudError as exc:
                raise renumbered(exc, offset) from exc
            received += done.received
            accepted += done.accepted
            duplicates += done.duplicates
        return UsageEventsAccepted(received=received, accepted=accepted, duplicates=duplicates)

    def events(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        meter: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[UsageEvent]:
        """One page of stored usage events (default: the caller's org, this month so far)."""
        return self._t.call(
            "GET",
            "/v1/usage/events",
            Page[UsageEvent],
            params={
                "from": start,
                "to": end,
                "org": org,
                "meter": meter,
                "cursor": cursor,
                "limit": limit,
            },
        )

    def iter_events(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        meter: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[UsageEvent]:
        """Every stored usage event in the range."""
        return follow_pages(
            lambda c: self.events(
                start=start, end=end, org=org, meter=meter, cursor=c, limit=page_size
            )
        )

    def spend(self, *, org: str | None = None, project: str | None = None) -> Spend:
        """Spend so far this period, before tax and credits (the caller's org by default)."""
        return self._t.call("GET", "/v1/spend", Spend, params={"org": org, "project": project})


def checked_events(events: Sequence[UsageEventIn | Mapping[str, Any]]) -> list[UsageEventIn]:
    """Events checked against the API's schema; the error names `events[i].field` as it would."""
    checked: list[UsageEventIn] = []
    errors: list[dict[str, str]] = []
    for i, event in enumerate(events):
        if isinstance(event, UsageEventIn):
            checked.append(event)
            continue
        try:
            checked.append(UsageEventIn.model_validate(event))
        except ValidationError as exc:
            for e in exc.errors():
                if len(errors) < _MAX_LISTED_ERRORS:
                    errors.append({"field": event_field(i, e["loc"]), "message": rule_message(e)})
    if errors:
        first = errors[0]
        raise NeocloudError(
            422,
            INVALID_REQUEST,
            f"{first['field']}: {first['message']}",
            {"field": first["field"], "errors": errors, "stored_before": 0},
        )
    return checked


def event_field(index: int, loc: Sequence[int | str]) -> str:
    """`events[3].dimensions.model`: the server's spelling of a field inside a batch."""
    path = f"events[{index}]"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def renumbered(exc: NeocloudError, offset: int) -> NeocloudError:
    """A batch's error with `events[i]` moved to `events[offset + i]` and `stored_before` added."""

    def shift(text: str) -> str:
        return _BATCH_FIELD.sub(lambda m: f"events[{int(m.group(1)) + offset}]", text, count=1)

    details = dict(exc.details)
    if isinstance(details.get("field"), str):
        details["field"] = shift(details["field"])
    if isinstance(details.get("errors"), list):
        details["errors"] = [
            {**e, "field": shift(e["field"])}
            if isinstance(e, dict) and isinstance(e.get("field"), str)
            else e
            for e in details["errors"]
        ]
    details["stored_before"] = offset
    return NeocloudError(exc.status, exc.code, shift(exc.message), details)
