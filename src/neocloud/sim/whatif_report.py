"""A finished what-if as plain JSON-ready data and as the HTML page's inputs.

Money stays Decimal (printed as its exact text by `--json`); seconds keep three decimals,
utilisation six.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from neocloud.economics.risk import RiskResult
from neocloud.economics.whatif import PeriodFigures, RunFigures
from neocloud.economics.whatif_html import SweepPoint, WhatIfPage
from neocloud.economics.whatif_risk import (
    DEFAULT_RISK_MONTHS,
    DEFAULT_RISK_SCENARIOS,
    DEFAULT_RISK_SEED,
    MarginHistogram,
    histogram,
    policy_risk,
)
from neocloud.economics.whatif_summary import Verdict, verdict
from neocloud.sim.whatif_run import WhatIfRun


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """A run, its verdicts and (when computed) its margin at risk."""

    run: WhatIfRun
    verdict: Verdict
    curve: tuple[SweepPoint, ...]
    risk: RiskResult | None
    histogram: MarginHistogram | None
    risk_note: str
    risk_s: float


def conclude(
    run: WhatIfRun,
    *,
    risk_months: int = DEFAULT_RISK_MONTHS,
    risk_scenarios: int = DEFAULT_RISK_SCENARIOS,
    seed: int = DEFAULT_RISK_SEED,
    with_risk: bool = True,
) -> WhatIfResult:
    """Verdicts, the trade-off curve and the policy's margin at risk (timed)."""
    main, curve = verdicts(run)
    began = time.perf_counter()
    risk: RiskResult | None = None
    note = "not asked for (--no-risk)"
    if with_risk:
        try:
            risk = policy_risk(
                run.prepared.fleet,
                run.prepared.policy,
                run.selling,
                months=risk_months,
                scenarios=risk_scenarios,
                seed=seed,
            )
        except ValueError as exc:
            note = f"margin at risk could not be computed: {exc}"
    return WhatIfResult(
        run=run,
        verdict=main,
        curve=curve,
        risk=risk,
        histogram=histogram(risk) if risk is not None else None,
        risk_note=note,
        risk_s=time.perf_counter() - began,
    )


def verdicts(run: WhatIfRun) -> tuple[Verdict, tuple[SweepPoint, ...]]:
    """The policy's verdict, and the trade-off curve: baseline (cap 0), sweep, policy."""
    currency = run.prepared.policy.currency
    main = verdict(run.baseline, run.selling, run.horizon, currency)
    points: dict[Decimal, SweepPoint] = {
        Decimal(0): SweepPoint(
            Decimal(0), run.baseline, verdict(run.baseline, run.baseline, run.horizon, currency)
        )
    }
    for cap, figures in zip(run.prepared.sweep, run.sweep, strict=True):
        points[cap] = SweepPoint(
            cap, figures, verdict(run.baseline, figures, run.horizon, currency)
        )
    caps = set(run.selling.caps.values())
    if len(caps) == 1:
        # A policy with one cap for every type it sells is a point of the curve too.
        cap = caps.pop()
        points.setdefault(cap, SweepPoint(cap, run.selling, main))
    return main, tuple(points[c] for c in sorted(points))


def whatif_data(result: WhatIfResult, inputs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Everything `neocloud whatif --json` prints."""
    run = result.run
    period = run.horizon
    return {
        "inputs": dict(inputs),
        "currency": run.prepared.policy.currency,
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "hours": round(period.seconds / 3600, 6),
            "months": [label for label, _, _ in period.months],
            "month_equivalents": period.month_equivalents,
        },
        "summary": _verdict(result.verdict),
        "baseline": _run(run.baseline, series=True),
        "policy": _run(run.selling, series=True),
        "sweep": [
            {"cap": p.cap, **_verdict(p.verdict), "run": _run(p.run, series=False)}
            for p in result.curve
        ],
        "margin_at_risk": _risk(result),
        "notes": list(run.prepared.notes),
        "wall_s": {
            "simulate": round(run.simulate_s, 3),
            "economics": round(run.economics_s, 3),
            "risk": round(result.risk_s, 3),
        },
    }


def whatif_page(result: WhatIfResult, inputs: Sequence[tuple[str, str]]) -> WhatIfPage:
    """The HTML page's inputs."""
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


def _verdict(v: Verdict) -> dict[str, Any]:
    return {
        "sentence": v.sentence,
        "revenue": v.revenue,
        "revenue_per_month": v.revenue_per_month,
        "margin_added": v.margin_added,
        "margin_added_per_month": v.margin_added_per_month,
        "external_gross_margin": v.external_gross_margin,
        "internal_change": {k: _s(x) for k, x in asdict(v.internal).items()},
    }


def _run(figures: RunFigures, *, series: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": figures.name,
        "caps": dict(figures.caps),
        "total": _period(figures.total),
        "months": [_period(m) for m in figures.months],
        "by_gpu_type": [
            {
                "gpu_type": t.gpu_type,
                "capacity_gpu_hours": t.capacity_gpu_hours,
                "used_gpu_hours": t.used_gpu_hours,
                "internal_gpu_hours": t.internal_gpu_hours,
                "external_gpu_hours": t.external_gpu_hours,
                "utilisation": t.utilisation,
                "revenue": t.revenue,
                "used_cost": t.used_cost,
                "idle_cost": t.idle_cost,
            }
            for t in figures.by_gpu_type
        ],
        "internal": {k: _s(x) for k, x in asdict(figures.internal).items()},
        "external": {k: _s(x) for k, x in asdict(figures.external).items()},
    }
    if series:
        data["utilisation_series"] = {
            "bucket_s": figures.series.bucket_s,
            "internal": [round(v, 6) for v in figures.series.internal],
            "external": [round(v, 6) for v in figures.series.external],
        }
    return data


def _period(p: PeriodFigures) -> dict[str, Any]:
    return {
        "label": p.label,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "revenue": p.revenue,
        "revenue_by_tier": {t.value: v for t, v in p.revenue_by_tier.items()},
        "used_cost": p.used_cost,
        "idle_cost": p.idle_cost,
        "total_cost": p.total_cost,
        "gross_margin": p.gross_margin,
        "margin_pct": p.margin_pct,
        "margin_after_idle": p.margin_after_idle,
        "utilisation": p.utilisation,
        "external_used_cost": p.external_used_cost,
        "external_gross_margin": p.external_gross_margin,
    }


def _risk(result: WhatIfResult) -> dict[str, Any] | None:
    risk = result.risk
    if risk is None:
        return None
    return {
        "months": risk.months,
        "scenarios": risk.scenarios,
        "seed": risk.seed,
        "expected_margin": risk.expected_margin,
        "p5_margin": risk.p5_margin,
        "p50_margin": risk.p50_margin,
        "p95_margin": risk.p95_margin,
        "probability_of_loss": risk.probability_of_loss,
        "margin_at_risk": risk.margin_at_risk,
        "expected_added_margin": risk.expected_added_margin,
        "p5_added_margin": risk.p5_added_margin,
        "probability_selling_loses": risk.probability_selling_loses,
    }


def _s(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value
