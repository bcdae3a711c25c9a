"""The what-if as one self-contained HTML page an executive can read: the answer first, then plots.

Four plots, each with its figures in a table below it: utilisation over time (baseline vs
policy), margin by month, external revenue and margin added against the change in internal p95
wait (the sweep's trade-off curve), and the margin-at-risk distribution with P5/P50/P95 marked.
Inline SVG and CSS only: nothing is fetched when the page opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from neocloud.economics.risk.margin_at_risk import RiskResult
from neocloud.economics.whatif.figures import Horizon, PeriodFigures, RunFigures
from neocloud.economics.whatif.policy_risk import MarginHistogram
from neocloud.economics.whatif.summary import SweepPoint, Verdict
from neocloud.economics.whatif.wording import change, duration, money, percent, share
from neocloud.reports.svg_charts import (
    PALETTE,
    Bars,
    Line,
    Marker,
    bar_chart,
    histogram_chart,
    line_chart,
)
from neocloud.reports.whatif_table import comparison_rows
from neocloud.sim.whatif.conclude import WhatIfResult

_STYLE = """
body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.answer{font-size:1.25em;background:#f3f7fc;border-left:5px solid #1f5fa8;padding:.8em 1em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f6f6f6}
.note{color:#555;font-size:.9em}
"""


@dataclass(frozen=True, slots=True)
class WhatIfPage:
    """Everything the page shows."""

    inputs: Sequence[tuple[str, str]]
    currency: str
    horizon: Horizon
    baseline: RunFigures
    selling: RunFigures
    verdict: Verdict
    curve: Sequence[SweepPoint]
    risk: RiskResult | None
    histogram: MarginHistogram | None
    risk_note: str = ""


def whatif_page(result: WhatIfResult, inputs: Sequence[tuple[str, str]]) -> WhatIfPage:
    """The page's inputs from a concluded what-if."""
    run = result.run
    return WhatIfPage(
        inputs=inputs,
        currency=run.prepared.policy.currency,
        horizon=run.horizon,
        baseline=run.baseline,
        selling=run.selling,
        verdict=result.verdict,
        curve=result.curve,
        risk=result.risk,
        histogram=result.histogram,
        risk_note=result.risk_note,
    )


def render_page(page: WhatIfPage) -> str:
    """The whole report as HTML text."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>What if we sell capacity?</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>What if we sell capacity?</h1>",
        f"<p class='answer'>{escape(page.verdict.sentence)}</p>",
        _overview(page),
        _utilisation(page),
        _months(page),
        _curve(page),
        _risk(page),
        _inputs(page),
        "</body></html>",
    ]
    return "\n".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _overview(page: WhatIfPage) -> str:
    b, s, c = page.baseline, page.selling, page.currency
    internal = page.verdict.internal
    rows = [
        *comparison_rows(b, s, c),
        ["external jobs served", "0", f"{s.external.served} of {s.external.jobs}"],
        [
            "external GPU-hours served",
            "0",
            f"{s.external.served_gpu_hours:,.1f} of {s.external.demand_gpu_hours:,.1f}",
        ],
        [
            "external jobs turned away",
            str(b.external.turned_away),
            f"{s.external.turned_away} ({s.external.turned_away_gpu_hours:,.1f} GPU-hours)",
        ],
        ["spot preemptions", "0", str(s.external.spot_preemptions)],
    ]
    return (
        f"<p>Over {_period(page.horizon)}, selling adds"
        f" <b>{money(page.verdict.margin_added, c)}</b> to the margin after idle"
        f" ({money(page.verdict.margin_added_per_month, c)} a month); the sold GPU-hours' own"
        f" gross margin, at their full cost, is {money(page.verdict.external_gross_margin, c)}."
        f" Internal p95 wait changes by {change(internal.wait_p95_s)}, average wait by"
        f" {change(internal.wait_avg_s)}, p95 completion time by {change(internal.jct_p95_s)}.</p>"
        + _table(["", "internal only (baseline)", "with the policy"], rows)
    )


def _utilisation(page: WhatIfPage) -> str:
    base, sell = page.baseline.series, page.selling.series
    days = page.horizon.seconds > 3 * 86_400
    unit = 86_400.0 if days else 3600.0
    xs = [i * sell.bucket_s / unit for i in range(len(sell.internal))]
    chart = line_chart(
        "GPU utilisation over time",
        [
            Line("internal only", xs, [v * 100 for v in base.total], PALETTE[4]),
            Line("with the policy", xs, [v * 100 for v in sell.total], PALETTE[0]),
            Line(
                "of which external", xs, [v * 100 for v in sell.external], PALETTE[1], dashed=True
            ),
        ],
        x_label="days since start" if days else "hours since start",
        y_label="% of the fleet's GPUs held",
        x_format=lambda v: f"{v:g}",
        y_format=lambda v: f"{v:g} %",
        y_floor=0.0,
    )
    types = {t.gpu_type: t for t in page.baseline.by_gpu_type}
    rows = [
        [
            t.gpu_type,
            f"{t.capacity_gpu_hours:,.0f}",
            share(types[t.gpu_type].utilisation) if t.gpu_type in types else "-",
            share(t.utilisation),
            f"{t.internal_gpu_hours:,.1f}",
            f"{t.external_gpu_hours:,.1f}",
        ]
        for t in page.selling.by_gpu_type
    ]
    rows.append(
        [
            "fleet",
            "",
            share(page.baseline.total.utilisation),
            share(page.selling.total.utilisation),
            "",
            "",
        ]
    )
    head = ["GPU type", "capacity GPU-h", "baseline", "policy", "internal GPU-h", "external GPU-h"]
    return (
        "<h2>Utilisation over time</h2>"
        + chart
        + f"<p class='note'>Each point: the share of GPUs held over {duration(sell.bucket_s)}.</p>"
        + _table(head, rows)
    )


def _months(page: WhatIfPage) -> str:
    c = page.currency
    base, sell = page.baseline.months, page.selling.months
    chart = bar_chart(
        "Margin after idle by month",
        [m.label for m in sell],
        [
            Bars("internal only", [float(m.margin_after_idle) for m in base], PALETTE[4]),
            Bars("with the policy", [float(m.margin_after_idle) for m in sell], PALETTE[0]),
            Bars("external revenue", [float(m.revenue) for m in sell], PALETTE[2]),
        ],
        y_label=f"{c}",
        y_format=lambda v: f"{v:,.0f}",
    )
    rows = [_month_row(b, s, c) for b, s in zip(base, sell, strict=True)]
    rows.append(_month_row(page.baseline.total, page.selling.total, c))
    head = [
        "month",
        "revenue",
        "used cost",
        "idle cost",
        "gross margin",
        "margin %",
        "margin after idle",
        "baseline margin after idle",
    ]
    return "<h2>Margin by month</h2>" + chart + _table(head, rows)


def _month_row(base: PeriodFigures, sell: PeriodFigures, c: str) -> list[str]:
    return [
        sell.label,
        money(sell.revenue, c),
        money(sell.used_cost, c),
        money(sell.idle_cost, c),
        money(sell.gross_margin, c),
        "-" if sell.margin_pct is None else f"{sell.margin_pct:.1f} %",
        money(sell.margin_after_idle, c),
        money(base.margin_after_idle, c),
    ]


def _curve(page: WhatIfPage) -> str:
    c = page.currency
    points = sorted(page.curve, key=lambda p: p.cap)
    xs = [_minutes(p.verdict.internal.wait_p95_s) for p in points]
    labels = [percent(p.cap) for p in points]
    chart = line_chart(
        "External revenue and margin added vs internal p95 wait",
        [
            Line(
                "revenue a month",
                xs,
                [float(p.verdict.revenue_per_month) for p in points],
                PALETTE[2],
                labels,
                points=True,
            ),
            Line(
                "margin added a month",
                xs,
                [float(p.verdict.margin_added_per_month) for p in points],
                PALETTE[0],
                points=True,
            ),
        ],
        x_label="change in internal p95 wait (minutes)",
        y_label=f"{c} a month",
        x_format=lambda v: f"{v:g}",
        y_format=lambda v: f"{v:,.0f}",
    )
    rows = [
        [
            percent(p.cap),
            money(p.verdict.revenue_per_month, c),
            money(p.verdict.margin_added_per_month, c),
            share(p.run.total.utilisation),
            change(p.verdict.internal.wait_avg_s),
            change(p.verdict.internal.wait_p95_s),
            change(p.verdict.internal.jct_p95_s),
            f"{p.run.external.served_gpu_hours:,.1f}",
            str(p.run.external.spot_preemptions),
        ]
        for p in points
    ]
    head = [
        "sellable cap",
        "revenue a month",
        "margin added a month",
        "utilisation",
        "Δ avg wait",
        "Δ p95 wait",
        "Δ p95 JCT",
        "external GPU-h",
        "spot preemptions",
    ]
    return (
        "<h2>The trade-off: revenue against internal wait</h2>"
        + chart
        + "<p class='note'>Each point replays the policy with that cap on every GPU type it"
        " sells; 0 % is the internal-only baseline.</p>" + _table(head, rows)
    )


def _risk(page: WhatIfPage) -> str:
    risk, hist, c = page.risk, page.histogram, page.currency
    if risk is None or hist is None:
        return (
            "<h2>Margin at risk</h2>"
            + "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 760 60' width='100%'>"
            + "<title>Margin at risk not computed</title>"
            + f"<text x='10' y='30'>{escape(page.risk_note or 'not computed')}</text></svg>"
        )
    markers = [
        Marker(f"P5 {money(risk.p5_margin, c)}", float(risk.p5_margin), PALETTE[3]),
        Marker(f"P50 {money(risk.p50_margin, c)}", float(risk.p50_margin), PALETTE[4]),
        Marker(f"P95 {money(risk.p95_margin, c)}", float(risk.p95_margin), PALETTE[2]),
    ]
    chart = histogram_chart(
        f"Gross margin of selling over {risk.months} months, {risk.scenarios:,} futures",
        hist.edges,
        hist.counts,
        markers,
        x_label=f"gross margin over {risk.months} months ({c})",
        x_format=lambda v: f"{v:,.0f}",
    )
    rows = [
        ["expected margin", money(risk.expected_margin, c)],
        ["P5 / P50 / P95", " / ".join(money(v, c) for v in _percentiles(risk))],
        ["probability of a loss", f"{risk.probability_of_loss * 100:.2f} %"],
        ["margin at risk (expected − P5)", money(risk.margin_at_risk, c)],
        ["added over leaving the GPUs idle: expected", money(risk.expected_added_margin, c)],
        [
            "added over idling: P5 / P50 / P95",
            " / ".join(
                money(v, c)
                for v in (risk.p5_added_margin, risk.p50_added_margin, risk.p95_added_margin)
            ),
        ],
        [
            "probability selling earns less than it costs",
            f"{risk.probability_selling_loses * 100:.2f} %",
        ],
        ["scenarios × months, seed", f"{risk.scenarios:,} × {risk.months}, seed {risk.seed}"],
    ]
    return (
        "<h2>Margin at risk</h2>"
        + chart
        + "<p class='note'>Monte Carlo over rental price paths, external demand, internal"
        " growth, electricity price and useful life, seeded with this policy's caps and prices"
        " and the utilisation replayed (docs/economics.md).</p>" + _table(["figure", "value"], rows)
    )


def _inputs(page: WhatIfPage) -> str:
    return "<h2>Inputs</h2>" + _table(["input", "value"], [list(i) for i in page.inputs])


def _percentiles(risk: RiskResult) -> list[Decimal]:
    return [risk.p5_margin, risk.p50_margin, risk.p95_margin]


def _period(horizon: Horizon) -> str:
    return (
        f"{horizon.start:%Y-%m-%d %H:%M} to {horizon.end:%Y-%m-%d %H:%M} UTC"
        f" ({duration(horizon.seconds)})"
    )


def _minutes(seconds: float | None) -> float:
    return 0.0 if seconds is None else seconds / 60
