"""`neocloud whatif` through the real CLI: JSON, the HTML report, and bad input refused."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner, Result

from neocloud.cli.main import app
from neocloud.economics.whatif.wording import money
from tests.sim.helpers import REPO

DATA = REPO / "tests" / "data" / "whatif"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["whatif", *args])


def _files(policy: Path = DATA / "policy.yaml") -> list[str]:
    return [
        "--fleet", str(DATA / "fleet.yaml"),
        "--internal-trace", str(DATA / "internal.csv"),
        "--external-trace", str(DATA / "external.csv"),
        "--policy", str(policy),
        "--risk-scenarios", "2000",
    ]  # fmt: skip


def test_json_and_an_html_report(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = invoke(*_files(), "--json", "--html", str(page))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # The hand-computed case of tests/core/test_whatif.py; money printed as exact Decimals.
    summary = data["summary"]
    assert summary["revenue"] == "42.00" and summary["margin_added"] == "41.000000000"
    assert summary["internal_change"]["wait_p95_s"] == 28.5
    assert summary["sentence"].startswith("Selling up to 50 % of h100 earns")
    assert data["policy"]["total"]["gross_margin"] == "2.400000000"
    assert data["baseline"]["total"]["margin_after_idle"] == "-51.200000000"
    assert [p["cap"] for p in data["sweep"]] == ["0", "0.5", "1"]
    risk = data["margin_at_risk"]
    assert risk["scenarios"] == 2000 and set(risk) >= {"p5_margin", "p50_margin", "p95_margin"}
    html = page.read_text()
    # Four plots as inline SVG, nothing fetched from anywhere.
    titles = re.findall(r"<svg[^>]*><title>([^<]*)</title>", html)
    assert titles == [
        "GPU utilisation over time",
        "Margin after idle by month",
        "External revenue and margin added vs internal p95 wait",
        "Gross margin of selling over 36 months, 2,000 futures",
    ]
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert summary["sentence"] in html
    assert (
        "$42.00" in html
        and "-$10.20" in html
        and f"P5 {money(Decimal(risk['p5_margin']), 'USD')}" in html
    )


def test_tables_for_people() -> None:
    result = invoke(*_files(), "--no-risk", "--sweep", "0,25%,1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Selling up to 50 % of h100 earns")
    assert "margin after idle" in result.stdout and "Trade-off" in result.stdout
    assert "25 %" in result.stdout


def test_a_bad_policy_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "tiers: [on_demand, internal]\n"
        "gpu_types:\n"
        "  h100: {sellable_cap: 1.5, prices: {on_demand: -2}}\n"
        "  b200: {sellable_cap: 0.1, prices: {on_demand: 5}}\n"
        "discount: 0.1\n"
    )
    page = tmp_path / "report.html"
    result = invoke(*_files(policy), "--html", str(page))
    assert result.exit_code == 1
    assert result.stdout == "" and not page.exists()
    assert result.stderr.splitlines() == [
        f"{policy}:1: tiers[1]: internal work is not sold"
        " (sellable tiers: reserved, on_demand, spot)",
        f"{policy}:3: gpu_types.h100.sellable_cap: must be a fraction between 0 and 1, got 1.5",
        f"{policy}:3: gpu_types.h100.prices.on_demand: must be >= 0, got -2",
        f"{policy}:4: gpu_types.b200: GPU type not in the fleet (the fleet has h100)",
        f"{policy}:5: discount: unknown key (allowed: currency, start, spot_grace_s, tiers,"
        " gpu_types, contracts, sweep)",
        "error: 5 problem(s) in the inputs; nothing ran",
    ]


def test_a_bad_sweep_is_refused() -> None:
    result = invoke(*_files(), "--sweep", "0,1.5")
    assert result.exit_code == 2
    assert "is not a fraction between 0 and 1" in result.output
