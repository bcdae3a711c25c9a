"""A finished run as plain JSON-ready data (what `neocloud simulate --json` prints)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from neocloud.sim.metrics import TierMetrics
from neocloud.sim.runner import SimReport


def report_data(report: SimReport, *, trace: str, fleet: str, trace_format: str) -> dict[str, Any]:
    """Inputs, per-tier and total figures, and the wall time; seconds rounded to the ms."""
    metrics = report.metrics
    prepared = report.prepared
    return {
        "trace": trace,
        "format": trace_format,
        "fleet": {
            "file": fleet,
            "nodes": sum(1 for n in prepared.config.nodes if n.schedulable),
            "gpus": metrics.fleet_gpus,
        },
        "rows": prepared.rows,
        "jobs": len(prepared.jobs),
        "skipped": dict(prepared.skipped),
        "quotas": prepared.quota_source,
        "contracts": prepared.contract_source,
        "sellable_cap": dict(prepared.config.sellable_cap),
        "tiers": {tier.value: tier_data(m) for tier, m in metrics.tiers.items()},
        "total": tier_data(metrics.total),
        "makespan_s": _round(metrics.makespan_s),
        "scheduler_steps": metrics.scheduler_steps,
        "events": metrics.events,
        "wall_s": _round(report.wall_s),
        "notes": list(prepared.notes),
    }


def tier_data(metrics: TierMetrics) -> dict[str, Any]:
    """One tier's figures; utilisation keeps six decimals, seconds three."""
    data = asdict(metrics)
    for key, value in data.items():
        if isinstance(value, float):
            data[key] = round(value, 6) if key == "gpu_utilisation" else _round(value)
    return data


def _round(value: float) -> float:
    return round(value, 3)
