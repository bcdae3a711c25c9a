"""Utilisation over time: the share of the fleet's GPUs held per time bucket, internal and external.

A bucket's figure is GPU-seconds held inside it / (fleet GPUs × bucket length): the time average,
so a job holding a GPU for half a bucket counts half. Bucket lengths are round (a minute up to a
week), the smallest that keeps the series at most MAX_BUCKETS long.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from neocloud.economics.whatif.replay import Replay, ReplayJob

MAX_BUCKETS = 200
BUCKET_SECONDS = (60, 300, 900, 3600, 4 * 3600, 86_400, 7 * 86_400, 28 * 86_400)


@dataclass(frozen=True, slots=True)
class UtilisationSeries:
    """Fractions of the fleet's GPUs held by internal and external work, bucket by bucket."""

    bucket_s: int
    internal: tuple[float, ...]
    external: tuple[float, ...]

    @property
    def total(self) -> tuple[float, ...]:
        """Internal + external, bucket by bucket."""
        return tuple(a + b for a, b in zip(self.internal, self.external, strict=True))


def bucket_length(period_s: float) -> int:
    """The smallest round bucket that covers the period in at most MAX_BUCKETS buckets."""
    for seconds in BUCKET_SECONDS:
        if period_s <= seconds * MAX_BUCKETS:
            return seconds
    return math.ceil(period_s / MAX_BUCKETS)


def utilisation_series(
    replay: Replay, fleet_gpus: int, period_s: float, bucket_s: int
) -> UtilisationSeries:
    """Utilisation per bucket over [0, period_s): internal tier and every external tier."""
    count = max(1, math.ceil(period_s / bucket_s))
    edges = np.arange(count + 1, dtype=np.float64) * bucket_s
    internal = [j for j in replay.jobs if not j.tier.external]
    external = [j for j in replay.jobs if j.tier.external]
    scale = fleet_gpus * bucket_s if fleet_gpus > 0 else 1.0
    return UtilisationSeries(
        bucket_s=bucket_s,
        internal=tuple(float(x) for x in _held(_intervals(internal), edges) / scale),
        external=tuple(float(x) for x in _held(_intervals(external), edges) / scale),
    )


def _intervals(jobs: Iterable[ReplayJob]) -> list[tuple[float, float, int]]:
    return [(start, end, job.gpus) for job in jobs for start, end in job.allocations]


def _held(
    intervals: list[tuple[float, float, int]], edges: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """GPU-seconds held inside each [edges[i], edges[i+1]), vectorised over every allocation."""
    if not intervals:
        return np.zeros(len(edges) - 1)
    data = np.array(intervals, dtype=np.float64)
    times = np.concatenate([data[:, 0], data[:, 1]])
    deltas = np.concatenate([data[:, 2], -data[:, 2]])
    order = np.argsort(times, kind="stable")
    times, deltas = times[order], deltas[order]
    # GPUs held just after each change, and the GPU-seconds held up to each change.
    level = np.cumsum(deltas)
    area = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(times))])
    k = np.searchsorted(times, edges, side="right") - 1
    before = k < 0
    k = np.clip(k, 0, None)
    integral = area[k] + level[k] * (edges - times[k])
    integral[before] = 0.0
    held: npt.NDArray[np.float64] = np.diff(integral)
    return held
