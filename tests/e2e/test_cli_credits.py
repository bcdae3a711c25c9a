"""Credits, terms and a tiered token price through the `neocloud` command and the real server."""

from __future__ import annotations

import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess
from tests.e2e.test_cli import NEOCLOUD, cli

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def table(server: ServerProcess, *args: str) -> str:
    """The CLI's table output (no --json)."""
    env = {**os.environ, "NEOCLOUD_URL": server.url, "NEOCLOUD_API_KEY": server.operator_key}
    proc = subprocess.run(
        [NEOCLOUD, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def test_prepaid_org_with_credit_and_a_graduated_token_price(
    server: ServerProcess, tmp_path: Path
) -> None:
    cli(server, "orgs", "create", "acme", "--kind", "external")
    assert cli(server, "orgs", "terms", "show", "acme")["credit_limit"] is None

    terms = cli(server, "orgs", "terms", "set", "acme", "--credit-limit", "0", "--tax-rate", "20%")
    assert (terms["credit_limit"], terms["tax_rate"]) == ("0.00", "0.2")
    # Only the flags given change: the tax rate set above survives the next change.
    terms = cli(server, "orgs", "terms", "set", "acme", "--stop-grace", "2m")
    assert (terms["credit_limit"], terms["tax_rate"], terms["stop_grace_seconds"]) == (
        "0.00",
        "0.2",
        120,
    )

    granted = cli(
        server, "credits", "grant", "--org", "acme", "--amount", "10.00",
        "--idempotency-key", "acme-topup-1",
    )  # fmt: skip
    again = cli(
        server, "credits", "grant", "--org", "acme", "--amount", "10.00",
        "--idempotency-key", "acme-topup-1",
    )  # fmt: skip
    assert again["id"] == granted["id"]
    assert (granted["kind"], granted["amount"], granted["remaining"]) == (
        "prepaid",
        "10.00",
        "10.00",
    )

    status = cli(server, "credits", "show", "--org", "acme")
    assert status["available_credit"] == "10.00"
    # Compared as a number: GET /v1/credits sends the limit at the store's scale (0.000000).
    assert Decimal(status["credit_limit"]) == 0
    assert status["headroom"] == "10.00"
    assert [(g["id"], g["remaining"]) for g in status["grants"]] == [(granted["id"], "10.00")]
    shown = [
        line.split() for line in table(server, "credits", "show", "--org", "acme").splitlines()
    ]
    assert ["headroom", "10.00"] in shown
    assert ["available", "credit", "10.00"] in shown

    postings = cli(server, "credits", "ledger", "--org", "acme")
    assert len(postings) == 2, "the repeated grant was made once"
    assert sum(Decimal(p["amount"]) for p in postings) == 0

    cli(server, "meters", "apply", str(EXAMPLES / "meters.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: graduated\ntiers:\n  - up_to: 100\n    unit_price: 1\n")
    refused = cli(
        server, "prices", "set", "-", "on_demand", "--meter", "input_tokens",
        "--charge-file", str(bad), ok=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert f"{bad}:3: tiers[0].up_to: the last tier has no upper bound" in refused.stderr
    before = cli(server, "prices", "list")

    price = cli(
        server, "prices", "set", "-", "on_demand", "--meter", "input_tokens",
        "--charge-file", str(EXAMPLES / "token-price.yaml"),
    )  # fmt: skip
    assert (price["meter"], price["gpu_type"], price["unit_price"]) == ("input_tokens", "", "0")
    assert price["charge"]["model"] == "graduated"
    assert [(t["up_to"], t["unit_price"]) for t in price["charge"]["tiers"]] == [
        ("1000000", "0"),
        (None, "0.000002"),
    ]

    listed = cli(server, "prices", "list")
    assert len(listed) == len(before) + 1, "the refused file stored nothing"
    assert [p["id"] for p in listed if p["meter"] == "input_tokens"] == [price["id"]]
    row = next(
        line.split() for line in table(server, "prices", "list").splitlines() if price["id"] in line
    )
    assert row[1:3] == ["input_tokens", "-"]
    assert "graduated, 2 tiers" in " ".join(row)
