"""A what-if's conclusion: the policy's verdict, the trade-off curve and its margin at risk.

Its only impure act is measuring wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from neocloud.economics.risk.margin_at_risk import RiskResult
from neocloud.economics.whatif.policy_risk import (
    DEFAULT_RISK_MONTHS,
    DEFAULT_RISK_SCENARIOS,
    DEFAULT_RISK_SEED,
    MarginHistogram,
    histogram,
    policy_risk,
)
from neocloud.economics.whatif.summary import SweepPoint, Verdict, trade_off
from neocloud.sim.whatif.run import WhatIfRun


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
    sweep = tuple(zip(run.prepared.sweep, run.sweep, strict=True))
    main, curve = trade_off(
        run.baseline, run.selling, sweep, run.horizon, run.prepared.policy.currency
    )
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
