"""Which sampled input moves margin most, read from the same samples (no extra runs).

For each input: the rank (Spearman) correlation of the input with margin, and the swing = mean
margin of the scenarios whose input is in its top decile − mean margin of those in its bottom
decile. Rows are sorted by |swing|, largest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

DECILE = 10.0


@dataclass(frozen=True, slots=True)
class InputEffect:
    """How one sampled input goes with margin (floats; run_risk rounds them for reports)."""

    input: str
    rank_correlation: float
    swing: float
    bottom_decile_margin: float
    top_decile_margin: float


def input_effects(inputs: Mapping[str, Floats], margins: Floats) -> list[InputEffect]:
    """One row per input, sorted by |swing| (largest first; ties keep the inputs' order)."""
    margin_ranks = average_ranks(margins)
    rows: list[InputEffect] = []
    for name, values in inputs.items():
        low, high = np.percentile(values, [DECILE, 100.0 - DECILE])
        bottom = float(margins[values <= low].mean())
        top = float(margins[values >= high].mean())
        rows.append(
            InputEffect(
                input=name,
                rank_correlation=_correlation(average_ranks(values), margin_ranks),
                # An input that never varies has both deciles equal to all scenarios: swing 0.
                swing=top - bottom,
                bottom_decile_margin=bottom,
                top_decile_margin=top,
            )
        )
    rows.sort(key=lambda r: -abs(r.swing))
    return rows


def average_ranks(values: Floats) -> Floats:
    """Ranks 0 … n−1 of values, tied values sharing the mean of their ranks."""
    n = values.size
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_group = np.empty(n, dtype=bool)
    starts_group[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    starts = np.flatnonzero(starts_group)
    ends = np.append(starts[1:], n)
    mean_rank = (starts + ends - 1) / 2.0
    ranks = np.empty(n)
    ranks[order] = mean_rank[np.cumsum(starts_group) - 1]
    return ranks


def _correlation(a: Floats, b: Floats) -> float:
    """Pearson correlation; 0 when either side never varies (the correlation is undefined)."""
    a_dev = a - a.mean()
    b_dev = b - b.mean()
    scale = float(np.sqrt((a_dev * a_dev).sum() * (b_dev * b_dev).sum()))
    if scale == 0.0:
        return 0.0
    return float((a_dev * b_dev).sum()) / scale
