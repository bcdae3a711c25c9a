"""The answer of a what-if in figures and one sentence: what selling adds, and what it costs people.

- margin added = run's margin after idle − baseline's, over the same period: external revenue
  minus the extra energy busy GPUs draw (the fleet's fixed costs are paid either way);
- per month = over the period's length in months of 730 hours, rounded to the cent;
- the cost to internal teams = the change of their average and p95 wait and completion time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from neocloud.domain.money import to_cents
from neocloud.economics.whatif.figures import Horizon, RunFigures
from neocloud.economics.whatif.replay import TeamFigures
from neocloud.economics.whatif.wording import duration, money, percent

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TeamChange:
    """How internal teams' figures move from the baseline to a run (seconds; None: no figure)."""

    wait_avg_s: float | None
    wait_p95_s: float | None
    jct_avg_s: float | None
    jct_p95_s: float | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What selling under a run's policy adds and costs, against the baseline."""

    revenue: Decimal
    revenue_per_month: Decimal
    margin_added: Decimal
    margin_added_per_month: Decimal
    external_gross_margin: Decimal
    internal: TeamChange
    sentence: str


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One point of the trade-off curve: a cap, its run and its verdict against the baseline."""

    cap: Decimal
    run: RunFigures
    verdict: Verdict


def team_change(baseline: TeamFigures, run: TeamFigures) -> TeamChange:
    """Run − baseline for each of the four figures."""
    return TeamChange(
        wait_avg_s=_minus(run.wait_avg_s, baseline.wait_avg_s),
        wait_p95_s=_minus(run.wait_p95_s, baseline.wait_p95_s),
        jct_avg_s=_minus(run.jct_avg_s, baseline.jct_avg_s),
        jct_p95_s=_minus(run.jct_p95_s, baseline.jct_p95_s),
    )


def per_month(amount: Decimal, period: Horizon) -> Decimal:
    """An amount over the period as a monthly rate, to the cent (0 for an empty period)."""
    months = period.month_equivalents
    return to_cents(amount / months) if months > 0 else _ZERO


def verdict(baseline: RunFigures, run: RunFigures, period: Horizon, currency: str) -> Verdict:
    """The figures and the sentence an executive reads first."""
    added = run.total.margin_after_idle - baseline.total.margin_after_idle
    change = team_change(baseline.internal, run.internal)
    revenue_month = per_month(run.total.revenue, period)
    added_month = per_month(added, period)
    verb = "adds" if added_month >= 0 else "loses"
    sentence = (
        f"Selling up to {_caps(run)} earns {money(revenue_month, currency)} a month and {verb}"
        f" {money(abs(added_month), currency)} gross margin per month;"
        f" {_wait_phrase(change.wait_p95_s, 'p95')} ({_wait_phrase(change.wait_avg_s, 'average')})."
    )
    return Verdict(
        revenue=run.total.revenue,
        revenue_per_month=revenue_month,
        margin_added=added,
        margin_added_per_month=added_month,
        external_gross_margin=run.total.external_gross_margin,
        internal=change,
        sentence=sentence,
    )


def trade_off(
    baseline: RunFigures,
    selling: RunFigures,
    sweep: Iterable[tuple[Decimal, RunFigures]],
    period: Horizon,
    currency: str,
) -> tuple[Verdict, tuple[SweepPoint, ...]]:
    """The policy's verdict, and the trade-off curve: baseline (cap 0), sweep points, policy."""
    main = verdict(baseline, selling, period, currency)
    points: dict[Decimal, SweepPoint] = {
        Decimal(0): SweepPoint(Decimal(0), baseline, verdict(baseline, baseline, period, currency))
    }
    for cap, figures in sweep:
        points[cap] = SweepPoint(cap, figures, verdict(baseline, figures, period, currency))
    caps = set(selling.caps.values())
    if len(caps) == 1:
        # A policy with one cap for every type it sells is a point of the curve too.
        cap = caps.pop()
        points.setdefault(cap, SweepPoint(cap, selling, main))
    return main, tuple(points[c] for c in sorted(points))


def _caps(run: RunFigures) -> str:
    parts = [f"{percent(cap)} of {gpu_type}" for gpu_type, cap in run.caps.items()]
    if not parts:
        return "nothing"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _wait_phrase(change: float | None, which: str) -> str:
    if change is None:
        return f"internal {which} wait: no finished internal jobs"
    if abs(change) < 0.5:
        return f"internal {which} wait does not change"
    direction = "rises" if change > 0 else "falls"
    return f"internal {which} wait {direction} by {duration(change)}"


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
