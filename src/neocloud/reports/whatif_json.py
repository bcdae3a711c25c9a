"""A concluded what-if as plain JSON-ready data: everything `neocloud whatif --json` prints.

Money stays Decimal (printed as its exact text by `--json`); seconds keep three decimals,
utilisation six.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from neocloud.economics.whatif.figures import PeriodFigures, RunFigures
from neocloud.economics.whatif.summary import Verdict
from neocloud.sim.whatif.conclude import WhatIfResult


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
