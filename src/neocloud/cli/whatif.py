"""`neocloud whatif`: replay internal and external demand under a selling policy, offline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, wants_json
from neocloud.cli.output import console, note, print_fields, print_json, print_table
from neocloud.cli.simulate import print_problems
from neocloud.domain.jobs import Tier
from neocloud.economics.whatif.policy_risk import (
    DEFAULT_RISK_MONTHS,
    DEFAULT_RISK_SCENARIOS,
    DEFAULT_RISK_SEED,
)
from neocloud.economics.whatif.wording import change, duration, money, percent, share
from neocloud.reports.whatif_html import render_page, whatif_page
from neocloud.reports.whatif_json import whatif_data
from neocloud.reports.whatif_table import comparison_rows
from neocloud.sim.problems import InputError
from neocloud.sim.quotas import VC_NODES_FILE
from neocloud.sim.runner import InputFile, TraceFormat
from neocloud.sim.whatif.conclude import WhatIfResult, conclude
from neocloud.sim.whatif.prepare import WhatIfRequest
from neocloud.sim.whatif.run import Announce, run_whatif


def whatif(  # long: typer declares every option in the signature; the body is short
    ctx: typer.Context,
    fleet: Annotated[
        Path,
        typer.Option("--fleet", exists=True, dir_okay=False, readable=True, help="Fleet YAML."),
    ],
    internal_trace: Annotated[
        Path,
        typer.Option(
            "--internal-trace",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Internal teams' jobs (trace CSV).",
        ),
    ],
    external_trace: Annotated[
        Path,
        typer.Option(
            "--external-trace",
            exists=True,
            dir_okay=False,
            readable=True,
            help="External customers' demand (trace CSV).",
        ),
    ],
    policy: Annotated[
        Path,
        typer.Option(
            "--policy",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Selling policy YAML (docs/economics.md).",
        ),
    ],
    internal_format: Annotated[
        TraceFormat, typer.Option("--internal-format", help="generic or philly.")
    ] = TraceFormat.GENERIC,
    external_format: Annotated[
        TraceFormat, typer.Option("--external-format", help="generic or philly.")
    ] = TraceFormat.GENERIC,
    external_tier: Annotated[
        str,
        typer.Option(
            "--external-tier",
            help="Tier of external jobs whose trace gives none (every Philly job): "
            "on_demand, spot or reserved.",
        ),
    ] = Tier.ON_DEMAND.value,
    quotas: Annotated[
        Path | None,
        typer.Option(
            "--quotas",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV org,gpu_type,gpus for internal orgs (default as in `simulate`).",
        ),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            metavar="CAPS",
            help="Caps to replay the policy at, e.g. 0,0.1,0.2 or 0%,10%,20% (else the policy's).",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Replay only the N earliest jobs of each trace."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", dir_okay=False, help="Write the report as one HTML file."),
    ] = None,
    risk_months: Annotated[
        int, typer.Option("--risk-months", min=1, help="Margin-at-risk horizon in months.")
    ] = DEFAULT_RISK_MONTHS,
    risk_scenarios: Annotated[
        int, typer.Option("--risk-scenarios", min=1, help="Margin-at-risk scenarios.")
    ] = DEFAULT_RISK_SCENARIOS,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Margin-at-risk seed.")] = (
        DEFAULT_RISK_SEED
    ),
    no_risk: Annotated[
        bool, typer.Option("--no-risk", help="Skip the margin-at-risk Monte Carlo.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """What selling capacity under a policy would earn, and what it costs internal teams."""
    json_out = wants_json(ctx, as_json)
    request = WhatIfRequest(
        fleet=_input(fleet, "--fleet"),
        policy=_input(policy, "--policy"),
        internal=_input(internal_trace, "--internal-trace"),
        external=_input(external_trace, "--external-trace"),
        internal_format=internal_format,
        external_format=external_format,
        external_tier=_tier(external_tier),
        quotas=_input(quotas, "--quotas") if quotas is not None else None,
        vc_nodes=_vc_nodes(internal_trace) if internal_format is TraceFormat.PHILLY else None,
        sweep=_sweep(sweep) if sweep is not None else None,
        limit=limit,
    )
    try:
        with _status(enabled=not json_out) as announce:
            run = run_whatif(request, announce=announce)
            if announce is not None:
                announce("margin at risk")
            result = conclude(
                run,
                risk_months=risk_months,
                risk_scenarios=risk_scenarios,
                seed=seed,
                with_risk=not no_risk,
            )
    except InputError as exc:
        print_problems(exc.problems, json_out)
        raise typer.Exit(1) from None
    inputs = [
        ("fleet", str(fleet)),
        ("policy", str(policy)),
        ("internal trace", f"{internal_trace} ({internal_format.value})"),
        ("external trace", f"{external_trace} ({external_format.value})"),
        ("external tier when none is given", request.external_tier.value),
        ("limit", "none" if limit is None else f"{limit} earliest jobs of each trace"),
    ]
    if html is not None:
        html.write_text(render_page(whatif_page(result, inputs)), encoding="utf-8")
    if json_out:
        print_json(whatif_data(result, inputs))
        return
    _print_report(result)
    if html is not None:
        note(f"report written to {html}")


def _input(path: Path, option: str) -> InputFile:
    try:
        return InputFile(str(path), path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint=option) from None


def _vc_nodes(trace: Path) -> InputFile | None:
    path = trace.parent / VC_NODES_FILE
    return _input(path, "--internal-trace") if path.is_file() else None


def _tier(text: str) -> Tier:
    sold = [t.value for t in Tier if t.external]
    if text not in sold:
        raise typer.BadParameter(
            f"must be one of {', '.join(sold)}, got {text!r}", param_hint="--external-tier"
        )
    return Tier(text)


def _sweep(text: str) -> tuple[Decimal, ...]:
    caps: list[Decimal] = []
    for part in text.split(","):
        item = part.strip()
        try:
            cap = Decimal(item[:-1]) / 100 if item.endswith("%") else Decimal(item)
        except InvalidOperation:
            cap = Decimal(-1)
        if not cap.is_finite() or not 0 <= cap <= 1:
            raise typer.BadParameter(
                f"{item!r} is not a fraction between 0 and 1 (like 0.3 or 30%)",
                param_hint="--sweep",
            )
        caps.append(cap)
    return tuple(caps)


@contextmanager
def _status(*, enabled: bool) -> Iterator[Announce | None]:
    """A live status line on stderr naming the replay under way, when stderr is a terminal."""
    stderr = console(stderr=True)
    if not enabled or not stderr.is_terminal:
        yield None
        return
    with stderr.status("replaying") as status:

        def announce(what: str) -> None:
            status.update(f"replaying: {what}")

        yield announce


def _print_report(result: WhatIfResult) -> None:
    console().print(result.verdict.sentence)
    _print_summary(result)
    _print_tables(result)
    _print_risk(result)
    for remark in result.run.prepared.notes:
        note(f"note: {remark}")


def _print_summary(result: WhatIfResult) -> None:
    run = result.run
    c = run.prepared.policy.currency
    sell = run.selling
    print_fields(
        [
            ("period", f"{run.horizon.start:%Y-%m-%d %H:%M} + {duration(run.horizon.seconds)}"),
            ("months", ", ".join(label for label, _, _ in run.horizon.months)),
            ("external revenue", money(sell.total.revenue, c)),
            ("margin added", money(result.verdict.margin_added, c)),
            ("margin added a month", money(result.verdict.margin_added_per_month, c)),
            ("external gross margin", money(sell.total.external_gross_margin, c)),
            (
                "external served",
                f"{sell.external.served} of {sell.external.jobs} jobs,"
                f" {sell.external.served_gpu_hours:,.1f} of"
                f" {sell.external.demand_gpu_hours:,.1f} GPU-hours",
            ),
            (
                "turned away",
                f"{sell.external.turned_away} jobs,"
                f" {sell.external.turned_away_gpu_hours:,.1f} GPU-hours",
            ),
            ("spot preemptions", sell.external.spot_preemptions),
            ("wall time", f"{run.simulate_s + run.economics_s + result.risk_s:.2f} s"),
        ],
        title="What if",
    )


def _print_tables(result: WhatIfResult) -> None:
    run = result.run
    c = run.prepared.policy.currency
    base, sell = run.baseline, run.selling
    print_table(
        ["", "BASELINE", "POLICY"],
        comparison_rows(base, sell, c),
        title="Baseline (internal only) vs policy",
    )
    print_table(
        ["MONTH", "REVENUE", "USED COST", "IDLE COST", "MARGIN AFTER IDLE", "BASELINE"],
        [
            [
                s.label,
                money(s.revenue, c),
                money(s.used_cost, c),
                money(s.idle_cost, c),
                money(s.margin_after_idle, c),
                money(b.margin_after_idle, c),
            ]
            for b, s in zip(base.months, sell.months, strict=True)
        ],
        title="By month",
    )
    print_table(
        ["CAP", "REVENUE/MONTH", "MARGIN ADDED/MONTH", "UTILISATION", "Δ WAIT P95", "Δ WAIT AVG"],
        [
            [
                percent(p.cap),
                money(p.verdict.revenue_per_month, c),
                money(p.verdict.margin_added_per_month, c),
                share(p.run.total.utilisation),
                change(p.verdict.internal.wait_p95_s),
                change(p.verdict.internal.wait_avg_s),
            ]
            for p in result.curve
        ],
        title="Trade-off",
    )


def _print_risk(result: WhatIfResult) -> None:
    c = result.run.prepared.policy.currency
    risk = result.risk
    if risk is not None:
        print_fields(
            [
                ("horizon", f"{risk.months} months, {risk.scenarios} scenarios, seed {risk.seed}"),
                ("expected margin", money(risk.expected_margin, c)),
                (
                    "P5 / P50 / P95",
                    " / ".join(
                        money(v, c) for v in (risk.p5_margin, risk.p50_margin, risk.p95_margin)
                    ),
                ),
                ("probability of a loss", f"{risk.probability_of_loss * 100:.2f} %"),
                ("margin at risk (5 %)", money(risk.margin_at_risk, c)),
            ],
            title="Margin at risk",
        )
    else:
        note(f"margin at risk: {result.risk_note}")
