"""`neocloud invoices pay|void|credit-note|credit-notes|download` and `neocloud export`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.cli.harness import Cli
from tests.sdk import invoice_samples as samples


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def test_pay_prints_who_and_when(cli: Cli) -> None:
    cli.api.on("POST", "/v1/invoices/inv_1/pay", samples.status_change("pay"))

    result = cli.run("invoices", "pay", "inv_1", "--paid-at", "2026-12-03")

    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {"paid_at": "2026-12-03T00:00:00Z"}
    assert ["status", "finalized", "->", "paid"] in rows(result.stdout)
    assert ["by", "platform", "(operator,", "key", "key_1)"] in rows(result.stdout)


def test_void_needs_a_reason(cli: Cli) -> None:
    assert cli.run("invoices", "void", "inv_1").exit_code == 2
    assert cli.api.requests == []
    cli.api.on("POST", "/v1/invoices/inv_1/void", samples.status_change("void"))

    result = cli.run("invoices", "void", "inv_1", "--reason", "duplicate", "--json")

    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {"reason": "duplicate"}
    assert json.loads(result.stdout)["credits_returned"] == "1.50"


def test_an_illegal_transition_is_one_line_on_stderr_and_exit_1(cli: Cli) -> None:
    error = {
        "code": "conflict",
        "message": "invoice NC-2026-000001 is paid: invoice cannot go from paid to void",
        "details": {"status": "paid"},
    }
    cli.api.on("POST", "/v1/invoices/inv_1/void", {"error": error}, 409)

    result = cli.run("invoices", "void", "inv_1", "--reason", "x")

    assert result.exit_code == 1
    assert "error: conflict: invoice NC-2026-000001 is paid" in result.stderr
    assert "status: paid" in result.stderr


def test_credit_note_lines_are_position_equals_amount(cli: Cli) -> None:
    cli.api.on("POST", "/v1/invoices/inv_1/credit-notes", samples.credit_note(), 201)

    result = cli.run(
        "invoices",
        "credit-note",
        "inv_1",
        "--reason",
        "outage",
        "--line",
        "1=1.10:GPU down",
        "--line",
        "2=0.05",
    )

    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {
        "reason": "outage",
        "lines": [
            {"line": 1, "amount": "1.10", "reason": "GPU down"},
            {"line": 2, "amount": "0.05", "reason": ""},
        ],
    }
    assert ["number", "CN-2026-000001"] in rows(result.stdout)
    assert ["amount", "due", "reduced", "1.10"] in rows(result.stdout)


def test_a_malformed_credit_line_is_a_usage_error(cli: Cli) -> None:
    for bad in ("one=1.00", "1:1.00", "1=lots"):
        result = cli.run("invoices", "credit-note", "inv_1", "--reason", "x", "--line", bad)
        assert result.exit_code == 2, bad
    assert cli.api.requests == []


def test_credit_notes_table(cli: Cli) -> None:
    cli.api.on("GET", "/v1/invoices/inv_1/credit-notes", [samples.credit_note()])
    result = cli.run("invoices", "credit-notes", "inv_1")
    assert result.exit_code == 0, result.output
    assert ["cn_1", "CN-2026-000001", "1.10", "1.10", "0.00"] in [
        r[:5] for r in rows(result.stdout)
    ]


def test_download_writes_the_document_to_a_file(cli: Cli, tmp_path: Path) -> None:
    cli.api.handle(
        "GET",
        "/v1/invoices/inv_1/document",
        lambda _: httpx.Response(200, text=samples.DOCUMENT_CSV),
    )
    out = tmp_path / "inv.csv"

    result = cli.run("invoices", "download", "inv_1", "--format", "csv", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert out.read_text() == samples.DOCUMENT_CSV
    assert dict(cli.api.requests[-1].url.params) == {"format": "csv"}
    assert result.stdout == ""
    assert f"to {out}" in result.stderr


def test_download_prints_to_stdout_and_refuses_unknown_formats(cli: Cli) -> None:
    cli.api.on("GET", "/v1/invoices/inv_1/document", {"total": "2.20"})
    result = cli.run("invoices", "download", "inv_1")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"total": "2.20"}
    assert cli.run("invoices", "download", "inv_1", "--format", "pdf").exit_code == 2
    assert len(cli.api.requests) == 1


def test_export_focus(cli: Cli, tmp_path: Path) -> None:
    cli.api.handle(
        "GET", "/v1/exports/focus", lambda _: httpx.Response(200, text=samples.FOCUS_CSV)
    )

    result = cli.run("export", "focus", "--period", "2026-11", "--org", "acme")

    assert result.exit_code == 0, result.output
    assert result.stdout == samples.FOCUS_CSV
    assert dict(cli.api.requests[-1].url.params) == {
        "period": "2026-11",
        "org": "acme",
        "format": "csv",
    }
    out = tmp_path / "focus.parquet"
    assert cli.run("export", "focus", "--period", "2026-11", "--format", "parquet").exit_code == 2
    result = cli.run(
        "export", "focus", "--period", "2026-11", "--format", "parquet", "-o", str(out)
    )
    assert result.exit_code == 0 and out.read_bytes() == samples.FOCUS_CSV.encode()


def test_export_usage(cli: Cli) -> None:
    cli.api.handle(
        "GET", "/v1/exports/usage.csv", lambda _: httpx.Response(200, text="invoice_number\n")
    )
    result = cli.run("export", "usage", "--period", "2026-11")
    assert result.exit_code == 0 and result.stdout == "invoice_number\n"
    assert cli.run("export", "usage").exit_code == 2  # --period is required


def test_export_parquet_refused_by_the_server(cli: Cli, tmp_path: Path) -> None:
    error = {
        "code": "invalid_request",
        "message": "format: Parquet needs pyarrow; `pip install pyarrow` enables it",
        "details": {"field": "format"},
    }
    cli.api.on("GET", "/v1/exports/focus", {"error": error}, 422)
    out = tmp_path / "f.parquet"
    result = cli.run(
        "export", "focus", "--period", "2026-11", "--format", "parquet", "-o", str(out)
    )
    assert result.exit_code == 1
    assert "pip install pyarrow" in result.stderr
    assert not out.exists()
