"""The answer of a what-if in figures and one sentence: what selling adds, and what it costs people.

- margin added = run's margin after idle − baseline's, over the same period: external revenue
  minus the extra energy busy GPUs draw (the fleet's fixed costs are paid either way);
- per month = over the period's length in months of 730 hours, rounded to the cent;
- the cost to internal teams = the change of their average and p95 wait and completion time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from neocloud.domain.money import to_cents
from neocloud.economics.whatif import Horizon, RunFigures
from neocloud.economics.whatif_replay import TeamFigures

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


def money(amount: Decimal, currency: str) -> str:
    """$1,234.57 for dollars; 1,234.57 EUR otherwise (rounded to the cent for reading)."""
    cents = to_cents(amount)
    text = f"{abs(cents):,.2f}"
    sign = "-" if cents < 0 else ""
    return f"{sign}${text}" if currency == "USD" else f"{sign}{text} {currency}"


def duration(seconds: float) -> str:
    """Seconds for reading: 45 seconds, 12.5 minutes, 3.2 hours, 4.1 days."""
    value = abs(seconds)
    if value < 60:
        return f"{value:.0f} seconds"
    if value < 3600:
        return f"{value / 60:.1f} minutes"
    if value < 86_400:
        return f"{value / 3600:.1f} hours"
    return f"{value / 86_400:.1f} days"


def percent(fraction: Decimal) -> str:
    """0.3 → 30 %; 0.125 → 12.5 %."""
    value = (fraction * 100).normalize()
    text = f"{value:f}" if value == value.to_integral_value() else f"{value:.1f}"
    return f"{text.split('.')[0] if text.endswith('.0') else text} %"


def share(fraction: Decimal | float) -> str:
    """A utilisation for reading: 0.1234 → 12.3 %."""
    return f"{float(fraction) * 100:.1f} %"


def wait(seconds: float | None) -> str:
    """A wait or completion time for reading ("-" when there is none)."""
    return "-" if seconds is None else duration(seconds)


def change(seconds: float | None) -> str:
    """A change of a wait for reading: +12.0 minutes, −3.0 seconds, ±0 seconds."""
    if seconds is None:
        return "-"
    sign = "+" if seconds > 0 else "−" if seconds < 0 else "±"
    return f"{sign}{duration(seconds)}"


def comparison_rows(baseline: RunFigures, run: RunFigures, currency: str) -> list[list[str]]:
    """Baseline against the policy's run, row by row: money, utilisation, internal teams' cost."""
    b, s, c = baseline, run, currency
    return [
        ["external revenue", money(b.total.revenue, c), money(s.total.revenue, c)],
        ["cost of capacity used", money(b.total.used_cost, c), money(s.total.used_cost, c)],
        ["idle cost", money(b.total.idle_cost, c), money(s.total.idle_cost, c)],
        ["gross margin", money(b.total.gross_margin, c), money(s.total.gross_margin, c)],
        [
            "margin after idle",
            money(b.total.margin_after_idle, c),
            money(s.total.margin_after_idle, c),
        ],
        ["GPU utilisation", share(b.total.utilisation), share(s.total.utilisation)],
        ["internal wait, average", wait(b.internal.wait_avg_s), wait(s.internal.wait_avg_s)],
        ["internal wait, p95", wait(b.internal.wait_p95_s), wait(s.internal.wait_p95_s)],
        ["internal completion, average", wait(b.internal.jct_avg_s), wait(s.internal.jct_avg_s)],
        ["internal completion, p95", wait(b.internal.jct_p95_s), wait(s.internal.jct_p95_s)],
    ]


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
