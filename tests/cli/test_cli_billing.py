"""`neocloud usage`, `prices`, `invoices`, `margin` and `economics`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def test_usage_summary_grouped(cli: Cli) -> None:
    cli.api.on(
        "GET",
        "/v1/usage/summary",
        [
            s.usage_row(tier="spot", gpu_hours="2"),
            s.usage_row(tier="internal", gpu_hours="10.5"),
        ],
    )

    result = cli.run(
        "usage", "--from", "2026-11-01", "--to", "2026-12-01", "--group-by", "gpu_type,tier"
    )

    assert result.exit_code == 0, result.output
    assert rows(result.stdout)[1] == ["GPU", "TYPE", "TIER", "GPU-HOURS"]
    assert ["h100", "internal", "10.5"] in rows(result.stdout)
    assert dict(cli.api.requests[-1].url.params) == {
        "from": "2026-11-01T00:00:00Z",
        "to": "2026-12-01T00:00:00Z",
        "group_by": "gpu_type,tier",
    }


def test_usage_unknown_group_is_a_usage_error(cli: Cli) -> None:
    result = cli.run("usage", "--group-by", "colour")

    assert result.exit_code == 2
    assert cli.api.requests == []


def test_usage_records_json_keeps_decimals_as_strings(cli: Cli) -> None:
    cli.api.on("GET", "/v1/usage/records", s.page([s.usage_record(gpu_seconds="7200.5")]))

    result = cli.run("usage", "records", "--org", "acme", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["gpu_seconds"] == "7200.5"


def test_prices_set_defaults_to_now(cli: Cli) -> None:
    cli.api.on("PUT", "/v1/prices", s.price(unit_price="2.49"))
    before = datetime.now(UTC)

    result = cli.run("prices", "set", "h100", "on_demand", "2.49")

    sent = cli.api.last_json()
    assert result.exit_code == 0
    assert sent["unit_price"] == "2.49"
    assert sent["tier"] == "on_demand"
    assert before <= datetime.fromisoformat(sent["effective_from"]) <= datetime.now(UTC)


def test_prices_set_rejects_a_bad_price_and_tier(cli: Cli) -> None:
    assert cli.run("prices", "set", "h100", "spot", "cheap").exit_code == 2
    assert cli.run("prices", "set", "h100", "gold", "1").exit_code == 2
    assert cli.api.requests == []


def test_prices_list_table(cli: Cli) -> None:
    cli.api.on("GET", "/v1/prices", [s.price()])

    result = cli.run("prices", "list")

    assert [
        "prc_1", "gpu_seconds", "h100", "spot", "-", "1.10", "per_unit", "USD", "2026-11-01",
        "00:00:00Z",
    ] in rows(result.stdout)  # fmt: skip


def test_invoice_show_lines_and_total(cli: Cli) -> None:
    cli.api.on("GET", "/v1/invoices/inv_1", s.invoice())

    result = cli.run("invoices", "show", "inv_1")

    assert result.exit_code == 0
    assert ["h100", "spot", "h100", "spot", "2", "gpu_hour", "1.10", "2.20"] in rows(result.stdout)
    assert result.stdout.rstrip().endswith("Total: 2.20 USD")


def test_invoices_generate_for_a_period(cli: Cli) -> None:
    cli.api.on("POST", "/v1/invoices/generate", [s.invoice()])

    result = cli.run("invoices", "generate", "--period", "2026-11", "--json")

    assert cli.api.last_json() == {"period": "2026-11"}
    assert json.loads(result.stdout) == [s.invoice()]


def test_margin_totals_then_breakdowns_then_the_price_guide(cli: Cli) -> None:
    cli.api.on("GET", "/v1/margin", s.margin_report())

    result = cli.run("margin", "--from", "2026-11-01", "--to", "2026-12-01")

    out = result.stdout
    assert result.exit_code == 0
    assert out.index("Totals") < out.index("By GPU type") < out.index("By tier")
    assert out.index("By tier") < out.index("Price guide")
    assert "By org" not in out
    assert ["idle", "cost", "18376.97"] in rows(out)
    h100 = ["h100", "2", "0.0002", "2.20", "3.19", "18376.97", "-0.99", "-45", "-18377.96", "0"]
    assert h100 in rows(out)
    assert ["spot", "2", "-", "2.20", "3.19", "0", "-0.99", "-45", "-0.99", "0"] in rows(out)
    assert ["h100", "2.50", "1.59552", "7503.1", "0.6173", "0.32113", "9378.9"] in rows(out)


def test_margin_sends_the_idle_choice_and_target_and_shows_the_breakdowns_asked_for(
    cli: Cli,
) -> None:
    cli.api.on("GET", "/v1/margin", s.margin_report())

    result = cli.run(
        "margin", "--from", "2026-11-01", "--idle", "weighted", "--target-margin", "35",
        "--by", "org", "--by", "month",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    url = str(cli.api.requests[-1].url)
    assert "idle=weighted" in url and "target_margin_pct=35" in url
    assert "By org" in result.stdout and "By month" in result.stdout
    assert "By GPU type" not in result.stdout
    assert ["acme", "2", "-", "2.20", "3.19", "0", "-0.99", "-45", "-0.99", "0"] in rows(
        result.stdout
    )


def test_a_bad_idle_choice_or_target_is_refused_before_any_request(cli: Cli) -> None:
    for args in (["--idle", "never"], ["--target-margin", "100"], ["--target-margin", "-1"]):
        result = cli.run("margin", "--from", "2026-11-01", *args)
        assert result.exit_code == 2, args
    assert cli.api.requests == []


def test_margin_as_csv_has_the_totals_then_every_breakdown_row(cli: Cli) -> None:
    cli.api.on("GET", "/v1/margin", s.margin_report())

    result = cli.run("margin", "--from", "2026-11-01", "--csv")

    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["breakdown"] for r in table] == [
        "total",
        "gpu_type",
        "tier",
        "org",
        "region",
        "month",
    ]
    assert table[0]["revenue"] == "2.20" and table[0]["gpu_hours_used"] == "2"
    assert table[0]["idle_cost"] == "18376.97"
    assert (table[3]["org"], table[3]["org_name"]) == ("org_1", "acme")
    assert table[5]["month"] == "2026-11"


def test_the_price_guide_as_csv(cli: Cli) -> None:
    cli.api.on("GET", "/v1/margin", s.margin_report())

    result = cli.run("margin", "--from", "2026-11-01", "--pricing-csv")

    assert result.exit_code == 0, result.output
    (guide,) = list(csv.DictReader(io.StringIO(result.stdout)))
    assert guide["gpu_type"] == "h100"
    assert (guide["break_even_utilisation"], guide["price_floor"]) == ("0.6173", "0.32113")


def test_margin_needs_a_start_and_runs_to_now_by_default(cli: Cli) -> None:
    assert cli.run("margin").exit_code == 2
    cli.api.on("GET", "/v1/margin", s.margin_report())
    assert cli.run("margin", "--from", "2026-11-01").exit_code == 0
    assert "to=" not in str(cli.api.requests[-1].url)


def test_economics_cost_breakdown(cli: Cli) -> None:
    cli.api.on("GET", "/v1/economics/cost", s.cost())

    result = cli.run("economics", "cost", "--node-model", "dgx-h100")

    assert result.exit_code == 0
    assert ["depreciation", "1.14155"] in rows(result.stdout)
    assert ["total", "1.59552"] in rows(result.stdout)
    assert cli.api.requests[-1].url.params["node_model"] == "dgx-h100"


def test_economics_node_models_json(cli: Cli) -> None:
    cli.api.on("GET", "/v1/economics/node-models", ["dgx-h100", "mi300x-box"])

    result = cli.run("economics", "node-models", "--json")

    assert json.loads(result.stdout) == ["dgx-h100", "mi300x-box"]
