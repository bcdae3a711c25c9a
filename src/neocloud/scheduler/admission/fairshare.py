"""Fair share: decayed usage per org, and the order of orgs inside a tier (lower share first).

An org's share is its decayed usage (GPU-seconds, halved every half-life, Slurm-style) divided
by its weight. Usage is kept by whoever owns the history: the server sums usage records with
`decayed_gpu_seconds`; the stateful scheduler advances its own with `accrue` as time passes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

DEFAULT_WEIGHT = 1.0


def _check(elapsed_seconds: float, half_life_seconds: float) -> None:
    if half_life_seconds <= 0:
        raise ValueError(f"half_life_seconds must be positive, got {half_life_seconds}")
    if elapsed_seconds < 0:
        raise ValueError(f"elapsed_seconds must not be negative, got {elapsed_seconds}")


def _halving(half_lives: float) -> float:
    """What is left of 1 after `half_lives` half-lives."""
    return math.exp(-math.log(2) * half_lives)


def decay(usage: float, elapsed_seconds: float, half_life_seconds: float) -> float:
    """Usage after `elapsed_seconds` with nothing added: halved once per half-life."""
    _check(elapsed_seconds, half_life_seconds)
    return usage * _halving(elapsed_seconds / half_life_seconds)


def accrue(usage: float, gpus: int, elapsed_seconds: float, half_life_seconds: float) -> float:
    """Usage after holding `gpus` for `elapsed_seconds`: old usage decays, new usage decays too.

    Exact for a constant number of GPUs over the interval: the integral of gpus × 2^(-age/h).
    """
    _check(elapsed_seconds, half_life_seconds)
    kept = _halving(elapsed_seconds / half_life_seconds)
    added = gpus * half_life_seconds / math.log(2) * (1.0 - kept)
    return usage * kept + added


def decayed_gpu_seconds(
    gpus: int, started_at: float, ended_at: float, now: float, half_life_seconds: float
) -> float:
    """Decayed value at `now` of `gpus` held from `started_at` to `ended_at` (≤ now)."""
    if ended_at < started_at:
        raise ValueError("ended_at must not be before started_at")
    held = accrue(0.0, gpus, ended_at - started_at, half_life_seconds)
    return decay(held, max(0.0, now - ended_at), half_life_seconds)


def share(usage: Mapping[str, float], weights: Mapping[str, float], org: str) -> float:
    """An org's decayed usage per unit of weight (lower is served first)."""
    weight = weights.get(org, DEFAULT_WEIGHT)
    if weight <= 0:
        raise ValueError(f"fair-share weight of org {org} must be positive, got {weight}")
    return usage.get(org, 0.0) / weight


def org_ranks(
    orgs: Iterable[str], usage: Mapping[str, float], weights: Mapping[str, float]
) -> dict[str, int]:
    """org → rank: 0 for the lowest share; ties by name."""
    ordered = sorted(set(orgs), key=lambda org: (share(usage, weights, org), org))
    return {org: rank for rank, org in enumerate(ordered)}
