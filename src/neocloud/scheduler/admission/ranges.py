"""How far holdings may move before a limits verdict could change, and who is watching them.

A verdict of `limits` is a handful of comparisons of holdings with thresholds (an org's GPUs
against its quota and borrow limit, the cohort against the sum of quotas, what counts against
the sellable cap against the cap, …). While every holding it read stays inside the range where
each comparison keeps its outcome, the same job gets a verdict of the same kind: the same limit
blocks it (or none), with the same reclaim rights. `Ranges` records those ranges while a verdict
is computed; `Watch` indexes them by holding, so that when a start or a release moves a holding,
it finds the verdicts whose range was left in O(affected), not O(groups).

A holding ("gauge") is named by (book, quantity, GPU type, org): book 0 counts what is held now,
book 1 what will be held once preemptions under way complete (see `books`).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Protocol

Gauge = tuple[int, str, str, str]
# A gauge and its value when the verdict read it.
Reading = tuple[Gauge, int]

LOWEST = -(1 << 62)
HIGHEST = 1 << 62


class Ranges:
    """The range of each holding inside which a verdict keeps its outcome."""

    __slots__ = ("spans",)

    def __init__(self) -> None:
        self.spans: dict[Gauge, list[int]] = {}

    def _narrow(self, gauge: Gauge, lo: int, hi: int) -> None:
        span = self.spans.get(gauge)
        if span is None:
            self.spans[gauge] = [lo, hi]
        else:
            span[0] = max(span[0], lo)
            span[1] = min(span[1], hi)

    def above(self, reading: Reading, threshold: int) -> bool:
        """Is the holding above `threshold`? It must stay on the same side."""
        gauge, value = reading
        if value > threshold:
            self._narrow(gauge, threshold + 1, HIGHEST)
            return True
        self._narrow(gauge, LOWEST, threshold)
        return False

    def max_above(self, now: Reading, future: Reading, threshold: int) -> bool:
        """Is the larger of two holdings above `threshold`? If so, the larger must stay above
        it (enough for the maximum to); if not, both must stay at or below it."""
        if now[1] > threshold or future[1] > threshold:
            return self.above(now if now[1] >= future[1] else future, threshold)
        self.above(now, threshold)
        self.above(future, threshold)
        return False

    def sum_above(
        self,
        value: int,
        threshold: int,
        up: Sequence[Reading] = (),
        down: Sequence[Reading] = (),
        both: Sequence[Reading] = (),
    ) -> bool:
        """Is `value` above `threshold`, where `value` moves by at most one per unit any of the
        holdings moves: never down when those in `up` rise or those in `down` fall, either way
        with those in `both`? The margin to the threshold is shared out among them."""
        over = value > threshold
        margin = value - threshold - 1 if over else threshold - value
        share = margin // max(1, len(up) + len(down) + len(both))
        for gauge, held in up:
            if over:
                self._narrow(gauge, held - share, HIGHEST)
            else:
                self._narrow(gauge, LOWEST, held + share)
        for gauge, held in down:
            if over:
                self._narrow(gauge, LOWEST, held + share)
            else:
                self._narrow(gauge, held - share, HIGHEST)
        for gauge, held in both:
            self._narrow(gauge, held - share, held + share)
        return over

    def near_above(
        self, reading: Reading, low: int, high: int, threshold: int, term: SumTerm
    ) -> bool:
        """Is the value of `term` above `threshold`, where it lies between the holding + `low`
        and the holding + `high`? Decided by the holding alone when that settles it (always
        if `low == high`), else by the term (`sum_above`)."""
        held = reading[1]
        if held + low > threshold:
            return self.above(reading, threshold - low)
        if held + high <= threshold:
            return self.above(reading, threshold - high)
        value, up, down, both = term
        return self.sum_above(value, threshold, up, down, both)


# (value, readings it rises with, readings it falls with, readings it moves either way with)
SumTerm = tuple[int, Sequence[Reading], Sequence[Reading], Sequence[Reading]]


class Watched(Protocol):
    """Something whose verdict holds while its ranges do (a group of waiting jobs)."""

    limits_ok: bool


class Watch:
    """Ranges by holding: which verdicts a move of one holding leaves (lazy heaps)."""

    def __init__(self) -> None:
        # Per gauge: (lower bound negated, token) and (upper bound, token), as heaps.
        self._low: dict[Gauge, list[tuple[int, int]]] = {}
        self._high: dict[Gauge, list[tuple[int, int]]] = {}
        self._owners: dict[int, tuple[Watched, int]] = {}
        self._next = 0
        # Tokens up to this one were given before thresholds last changed.
        self._renewable_after = 0
        self._entries = 0
        self._live = 0
        # Owners whose range was left since the list was last cleared (a pass clears it).
        self.fired: list[Watched] = []

    def watch(self, owner: Watched, spans: dict[Gauge, list[int]]) -> int:
        """Watch an owner's ranges (its verdict holds now): a token to forget it by."""
        self._next += 1
        token = self._next
        count = 0
        for gauge, (lo, hi) in spans.items():
            if lo > LOWEST:
                heapq.heappush(self._low.setdefault(gauge, []), (-lo, token))
                count += 1
            if hi < HIGHEST:
                heapq.heappush(self._high.setdefault(gauge, []), (hi, token))
                count += 1
        self._owners[token] = (owner, count)
        self._entries += count
        self._live += count
        owner.limits_ok = True
        if self._entries > 4 * self._live + 4096:
            # Entries of forgotten or fired owners stay in the heaps until met: drop them.
            self._compact()
        return token

    def renewable(self, token: int) -> bool:
        """May the ranges watched under this (fired) token be watched again if holdings came
        back into them? Not once thresholds changed."""
        return token > self._renewable_after

    def forget(self, token: int | None) -> None:
        """Stop watching (the owner has a new verdict, or is gone)."""
        if token is None:
            return
        entry = self._owners.pop(token, None)
        if entry is not None:
            self._live -= entry[1]

    def moved(self, gauge: Gauge, value: int) -> None:
        """A holding has a new value: owners whose range it left lose their verdict."""
        low = self._low.get(gauge)
        while low and -low[0][0] > value:
            self._fire(heapq.heappop(low)[1])
        high = self._high.get(gauge)
        while high and high[0][0] < value:
            self._fire(heapq.heappop(high)[1])

    def fire_all(self) -> None:
        """Thresholds changed (a cap, the cohort's quota): no verdict holds any more."""
        for token in list(self._owners):
            self._fire(token)
        self._renewable_after = self._next
        self._low.clear()
        self._high.clear()
        self._entries = self._live = 0

    def _fire(self, token: int) -> None:
        self._entries -= 1
        entry = self._owners.pop(token, None)
        if entry is None:
            return
        owner, count = entry
        self._live -= count
        owner.limits_ok = False
        self.fired.append(owner)

    def _compact(self) -> None:
        live = self._owners
        for heaps in (self._low, self._high):
            for gauge, entries in list(heaps.items()):
                kept = [entry for entry in entries if entry[1] in live]
                if kept:
                    heapq.heapify(kept)
                    heaps[gauge] = kept
                else:
                    del heaps[gauge]
        self._entries = self._live
