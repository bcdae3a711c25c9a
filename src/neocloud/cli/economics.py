"""`neocloud economics`: what a GPU-hour costs the provider, and the margin at risk."""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import note, print_fields, print_json, print_table
from neocloud.domain.exact_yaml import FileProblem

if TYPE_CHECKING:
    from neocloud.economics.risk.margin_at_risk import RiskResult

app = typer.Typer(help="The cost model and margin at risk.", no_args_is_help=True)


@app.command("cost")
def cost(
    ctx: typer.Context,
    node_model: Annotated[str, typer.Option("--node-model", metavar="NAME")],
    as_json: JsonFlag = False,
) -> None:
    """Cost of one GPU-hour of a node model at full allocation, by component (operator)."""
    breakdown = client(ctx).economics.cost(node_model)
    if wants_json(ctx, as_json):
        print_json(breakdown)
        return
    per = f"{breakdown.currency}/GPU-HOUR"
    print_table(
        ["COMPONENT", per],
        [
            ["depreciation", breakdown.depreciation],
            ["capital", breakdown.capital],
            ["energy", breakdown.energy],
            ["space", breakdown.space],
            ["opex", breakdown.opex],
            ["total", breakdown.total],
        ],
        title=f"{breakdown.node_model} ({breakdown.gpus_per_node} GPUs per node)",
    )


@app.command("node-models")
def node_models(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Node models the fleet declares."""
    names = client(ctx).economics.node_models()
    if wants_json(ctx, as_json):
        print_json(names)
    else:
        print_table(["NODE MODEL"], [[n] for n in names])


# Rough memory guard: the per-month margins alone take 8 bytes per scenario-month.
MAX_SCENARIO_MONTHS = 20_000_000
MAX_PROBLEMS_SHOWN = 50


@app.command("risk")
def risk(
    ctx: typer.Context,
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="FILE",
            help="Fleet YAML (default: the bundled demo fleet).",
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="FILE",
            help="Scenario YAML; keys left out keep their defaults (docs/economics.md).",
        ),
    ] = None,
    horizon_months: Annotated[
        int, typer.Option("--horizon-months", min=1, max=1200, help="Months simulated.")
    ] = 36,
    scenarios: Annotated[
        int, typer.Option("--scenarios", min=1, help="Futures sampled.")
    ] = 100_000,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Random seed: the same seed, the same figures.")
    ] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Margin at risk: Monte Carlo of gross margin over the horizon, offline (no server)."""
    # Imported here: numpy and the simulation are needed by this command only.
    from neocloud.cli.fleet import read_fleet
    from neocloud.economics.risk.margin_at_risk import default_scenario, run_risk
    from neocloud.economics.risk.scenario_file import parse_scenario

    json_out = wants_json(ctx, as_json)
    if horizon_months * scenarios > MAX_SCENARIO_MONTHS:
        raise typer.BadParameter(
            f"{scenarios} scenarios × {horizon_months} months is more than "
            f"{MAX_SCENARIO_MONTHS:,} scenario-months",
            param_hint="--scenarios",
        )
    fleet_name = str(fleet) if fleet is not None else "demo fleet"
    fleet_text = _read(fleet, "--fleet") if fleet is not None else _demo_fleet()
    parsed_fleet = read_fleet(fleet_text)
    if parsed_fleet.fleet is None:
        _fail(fleet_name, parsed_fleet.problems, json_out)
    the_fleet = parsed_fleet.fleet
    if scenario is None:
        the_scenario = default_scenario(the_fleet)
    else:
        parsed = parse_scenario(_read(scenario, "--scenario"), the_fleet)
        if parsed.scenario is None:
            _fail(str(scenario), parsed.problems, json_out)
        the_scenario = parsed.scenario

    started = time.perf_counter()
    result = run_risk(
        the_fleet, the_scenario, months=horizon_months, scenarios=scenarios, seed=seed
    )
    wall_s = time.perf_counter() - started
    data = _risk_data(result, wall_s, fleet_name, str(scenario) if scenario else None)
    if json_out:
        print_json(data)
        return
    _print_risk(result, wall_s, fleet_name, scenario)


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint=option) from None


def _demo_fleet() -> str:
    return resources.files("neocloud.demo").joinpath("fleet.yaml").read_text(encoding="utf-8")


def _fail(file: str, problems: Sequence[FileProblem], json_out: bool) -> NoReturn:
    """Every problem as `file:line: key: reason` (or JSON); exit 1, nothing was run."""
    if json_out:
        print_json(
            {
                "problems": [
                    {"file": file, "line": p.line, "key": p.path, "message": p.message}
                    for p in problems
                ]
            }
        )
    else:
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            where = f"{file}:{problem.line}" if problem.line else file
            note(f"{where}: {problem.path}: {problem.message}")
        if len(problems) > MAX_PROBLEMS_SHOWN:
            note(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more problems")
        note(f"error: {len(problems)} problem(s) in {file}; nothing was run")
    raise typer.Exit(1)


def _risk_data(
    result: RiskResult, wall_s: float, fleet: str, scenario: str | None
) -> dict[str, Any]:
    return {
        "fleet": fleet,
        "scenario": scenario,
        "currency": result.currency,
        "horizon_months": result.months,
        "scenarios": result.scenarios,
        "seed": result.seed,
        "expected_margin": result.expected_margin,
        "p5_margin": result.p5_margin,
        "p50_margin": result.p50_margin,
        "p95_margin": result.p95_margin,
        "probability_of_loss": result.probability_of_loss,
        "margin_at_risk": result.margin_at_risk,
        "expected_revenue": result.expected_revenue,
        "expected_external_cost": result.expected_external_cost,
        "expected_idle_cost": result.expected_idle_cost,
        "expected_added_margin": result.expected_added_margin,
        "p5_added_margin": result.p5_added_margin,
        "p50_added_margin": result.p50_added_margin,
        "p95_added_margin": result.p95_added_margin,
        "probability_selling_loses": result.probability_selling_loses,
        "sensitivity": [
            {
                "input": row.input,
                "rank_correlation": row.rank_correlation,
                "swing": row.swing,
                "bottom_decile_margin": row.bottom_decile_margin,
                "top_decile_margin": row.top_decile_margin,
            }
            for row in result.sensitivity
        ],
        "monthly": [
            {
                "month": band.month,
                "expected": band.expected,
                "p5": band.p5,
                "p50": band.p50,
                "p95": band.p95,
            }
            for band in result.monthly
        ],
        "wall_s": round(wall_s, 3),
    }


def _print_risk(result: RiskResult, wall_s: float, fleet: str, scenario: Path | None) -> None:
    money = result.currency
    print_fields(
        [
            ("fleet", fleet),
            ("scenario", str(scenario) if scenario else "defaults (docs/economics.md)"),
            ("horizon", f"{result.months} months"),
            ("scenarios", f"{result.scenarios:,} (seed {result.seed})"),
            (f"expected margin ({money})", result.expected_margin),
            (f"P5 margin ({money})", result.p5_margin),
            (f"P50 margin ({money})", result.p50_margin),
            (f"P95 margin ({money})", result.p95_margin),
            ("probability of a loss", f"{result.probability_of_loss * 100:.2f} %"),
            (f"MaR(5 %) = expected − P5 ({money})", result.margin_at_risk),
            (f"expected external revenue ({money})", result.expected_revenue),
            (f"expected cost of external use ({money})", result.expected_external_cost),
            (f"expected idle cost ({money})", result.expected_idle_cost),
            (f"added over idling: expected ({money})", result.expected_added_margin),
            (
                f"added over idling: P5 / P50 / P95 ({money})",
                f"{result.p5_added_margin} / {result.p50_added_margin} / {result.p95_added_margin}",
            ),
            ("probability selling loses", f"{result.probability_selling_loses * 100:.2f} %"),
            ("wall time", f"{wall_s:.3f} s"),
        ],
        title="Margin at risk: gross margin of selling capacity over the horizon",
    )
    print_table(
        [
            "INPUT",
            "RANK CORRELATION",
            f"SWING ({money})",
            f"MARGIN, BOTTOM DECILE ({money})",
            f"MARGIN, TOP DECILE ({money})",
        ],
        [
            [
                row.input,
                row.rank_correlation,
                row.swing,
                row.bottom_decile_margin,
                row.top_decile_margin,
            ]
            for row in result.sensitivity
        ],
        title="Sensitivity: which input moves margin most (swing = top − bottom decile of input)",
    )
