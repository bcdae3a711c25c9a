"""`neocloud credits`, `orgs terms` and meter prices with charge files: tables, JSON, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from neocloud.cli.prices import parse_charge
from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s

ROOT = Path(__file__).resolve().parents[2]
TOKEN_PRICE = ROOT / "docs" / "examples" / "token-price.yaml"


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def row(stdout: str, first: str) -> list[str]:
    """The table row whose first cell is `first`."""
    return next(r for r in rows(stdout) if r and r[0] == first)


def field(stdout: str, name: str) -> str:
    """The value of a `name  value` line of a field table."""
    words = name.split()
    found = next(r for r in rows(stdout) if r[: len(words)] == words)
    return " ".join(found[len(words) :])


def write(tmp_path: Path, text: str, name: str = "charge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refusal(message: str, field_name: str) -> dict[str, Any]:
    """The API's 422 envelope for one field."""
    error = {"code": "invalid_request", "message": message, "details": {"field": field_name}}
    return {"error": error}


# --- credits grant --------------------------------------------------------------------------


def test_grant_prepaid_by_default_and_prints_the_grant(cli: Cli) -> None:
    cli.api.on("POST", "/v1/credits/grants", s.grant(amount="100.00", remaining="100.00"), 201)

    result = cli.run("credits", "grant", "--org", "acme", "--amount", "100.00")

    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {
        "org": "acme",
        "kind": "prepaid",
        "amount": "100.00",
        "currency": "USD",
        "priority": 0,
        "description": "",
    }
    assert row(result.stdout, "grt_1")[:5] == ["grt_1", "prepaid", "100.00", "100.00", "USD"]


def test_grant_promotional_with_every_option(cli: Cli) -> None:
    answer = s.grant(kind="promotional", expires_at="2027-01-01T00:00:00Z", priority=3)
    cli.api.on("POST", "/v1/credits/grants", answer, 201)

    result = cli.run(
        "credits", "grant", "--org", "acme", "--amount", "25", "--promotional",
        "--from", "2026-12-01", "--expires", "2027-01-01", "--priority", "3",
        "--description", "launch offer", "--currency", "EUR",
        "--idempotency-key", "offer-acme", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == answer
    body = cli.api.last_json()
    assert body["kind"] == "promotional"
    assert body["amount"] == "25"
    assert body["currency"] == "EUR"
    assert body["priority"] == 3
    assert body["description"] == "launch offer"
    assert datetime.fromisoformat(body["effective_at"]) == datetime(2026, 12, 1, tzinfo=UTC)
    assert datetime.fromisoformat(body["expires_at"]) == datetime(2027, 1, 1, tzinfo=UTC)
    assert cli.api.requests[-1].headers["Idempotency-Key"] == "offer-acme"


GRANT = ("credits", "grant", "--org", "acme")
BAD_GRANTS: dict[str, tuple[tuple[str, ...], int, str]] = {
    # Malformed or missing flags: a usage error, exit 2.
    "no org": (("credits", "grant", "--amount", "10"), 2, "--org"),
    "no amount": (GRANT, 2, "--amount"),
    "amount not a number": ((*GRANT, "--amount", "ten"), 2, "'ten' is not a number"),
    "amount infinite": ((*GRANT, "--amount", "Infinity"), 2, "not a finite number"),
    "expiry not a date": (
        (*GRANT, "--amount", "10", "--expires", "next year"),
        2,
        "not an ISO date or datetime",
    ),
    "priority not an integer": ((*GRANT, "--amount", "10", "--priority", "high"), 2, "--priority"),
    "unknown flag": ((*GRANT, "--amount", "10", "--prepaid"), 2, "--prepaid"),
    # Well-formed values the API refuses: exit 1 naming the field, checked before sending.
    "amount zero": (
        (*GRANT, "--amount", "0"),
        1,
        "error: invalid_request: amount: Input should be greater than 0",
    ),
    "amount below a cent": ((*GRANT, "--amount", "1.005"), 1, "error: invalid_request: amount:"),
    "priority too high": (
        (*GRANT, "--amount", "10", "--priority", "1001"),
        1,
        "error: invalid_request: priority:",
    ),
    "currency lower-case": (
        (*GRANT, "--amount", "10", "--currency", "usd"),
        1,
        "error: invalid_request: currency:",
    ),
}


@pytest.mark.parametrize("case", list(BAD_GRANTS))
def test_bad_grant_flags_send_nothing(cli: Cli, case: str) -> None:
    args, code, message = BAD_GRANTS[case]

    result = cli.run(*args)

    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert cli.api.requests == []


def test_the_servers_refusal_exits_1(cli: Cli) -> None:
    cli.api.on(
        "POST",
        "/v1/credits/grants",
        refusal("expires_at: must be after effective_at", "expires_at"),
        422,
    )

    result = cli.run(*GRANT, "--amount", "10", "--from", "2027-02-01", "--expires", "2027-01-01")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: invalid_request: expires_at: must be after effective_at",
        "  field: expires_at",
    ]


# --- credits show / ledger ------------------------------------------------------------------


def test_show_a_prepaid_org_position_and_grants_in_consumption_order(cli: Cli) -> None:
    cli.api.on("GET", "/v1/credits", s.credit_status())

    result = cli.run("credits", "show", "--org", "acme")

    assert result.exit_code == 0, result.output
    assert dict(cli.api.requests[-1].url.params) == {"org": "acme"}
    out = result.stdout
    assert field(out, "available credit") == "35.50"
    assert field(out, "credit limit") == "100.00"
    assert field(out, "unpaid invoices") == "20.00"
    assert field(out, "spend this period") == "4.50"
    assert field(out, "held for active jobs") == "1.25"
    assert field(out, "headroom") == "109.75"
    grants = [r for r in rows(out) if r and r[0] in ("1", "2")]
    assert [r[:5] for r in grants] == [
        ["1", "grt_2", "promotional", "30.00", "25.50"],
        ["2", "grt_1", "prepaid", "10.00", "10.00"],
    ]


def test_show_a_postpaid_org_has_no_headroom(cli: Cli) -> None:
    cli.api.on("GET", "/v1/credits", s.credit_status(credit_limit=None, headroom=None, grants=[]))

    result = cli.run("credits", "show")

    assert result.exit_code == 0
    assert dict(cli.api.requests[-1].url.params) == {}
    assert field(result.stdout, "credit limit") == "none (postpaid)"
    assert "headroom" not in result.stdout
    assert "No grants." in result.stdout


def test_show_json_is_the_api_answer(cli: Cli) -> None:
    cli.api.on("GET", "/v1/credits", s.credit_status())

    result = cli.run("--json", "credits", "show")

    assert json.loads(result.stdout) == s.credit_status()


def test_money_prints_exactly_as_the_api_sent_it(cli: Cli) -> None:
    # Figures with more places than tables usually show are printed whole, not rounded.
    cli.api.on(
        "GET", "/v1/credits", s.credit_status(available_credit="0.1234567", headroom="-0.50")
    )

    result = cli.run("credits", "show")

    assert field(result.stdout, "available credit") == "0.1234567"
    assert field(result.stdout, "headroom") == "-0.50"


def test_ledger_table_and_json(cli: Cli) -> None:
    postings = [s.ledger_posting(), s.ledger_posting(account="cash", amount="-10.00")]
    cli.api.on("GET", "/v1/credits/ledger", postings)

    table = cli.run("credits", "ledger", "--org", "acme")
    as_json = cli.run("credits", "ledger", "--org", "acme", "--json")

    assert table.exit_code == as_json.exit_code == 0
    assert rows(table.stdout)[3][3:] == ["grant", "grant:grt_1", "10.00", "USD", "grt_1"]
    assert rows(table.stdout)[4][3:] == ["grant", "cash", "-10.00", "USD", "grt_1"]
    assert json.loads(as_json.stdout) == postings
    assert dict(cli.api.requests[-1].url.params) == {"org": "acme"}


def test_an_unknown_org_exits_1(cli: Cli) -> None:
    error = {"code": "not_found", "message": "org 'nope' not found", "details": {}}
    cli.api.on("GET", "/v1/credits", {"error": error}, 404)

    result = cli.run("credits", "show", "--org", "nope")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: not_found: org 'nope' not found"]


# --- orgs terms -----------------------------------------------------------------------------


def stateful_terms(cli: Cli, **stored: Any) -> dict[str, Any]:
    """GET/PUT billing terms backed by a dict, as the server stores them (whole)."""
    state = s.billing_terms(**stored)
    cli.api.handle("GET", "/v1/orgs/acme/billing-terms", lambda _: httpx.Response(200, json=state))

    def put(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        state.clear()
        state.update(s.billing_terms(credit_limit=None) | body)
        return httpx.Response(200, json=state)

    cli.api.handle("PUT", "/v1/orgs/acme/billing-terms", put)
    return state


def test_terms_show(cli: Cli) -> None:
    cli.api.on("GET", "/v1/orgs/acme/billing-terms", s.billing_terms())

    result = cli.run("orgs", "terms", "show", "acme")

    assert result.exit_code == 0
    assert field(result.stdout, "discount percent") == "10"
    assert field(result.stdout, "minimum spend") == "500.00"
    assert field(result.stdout, "tax rate") == "0.2"
    assert field(result.stdout, "credit limit") == "0.00"
    assert field(result.stdout, "stop grace seconds") == "300"


def test_terms_show_defaults_of_an_org_without_terms(cli: Cli) -> None:
    defaults = s.billing_terms(
        discount_percent="0", minimum_spend="0.00", tax_rate="0", credit_limit=None,
        updated_at=None,
    )  # fmt: skip
    cli.api.on("GET", "/v1/orgs/acme/billing-terms", defaults)

    table = cli.run("orgs", "terms", "show", "acme")
    as_json = cli.run("orgs", "terms", "show", "acme", "--json")

    assert field(table.stdout, "credit limit") == "none (postpaid)"
    assert field(table.stdout, "updated") == "never (defaults)"
    assert json.loads(as_json.stdout) == defaults


def test_terms_set_changes_only_the_flags_given(cli: Cli) -> None:
    stateful_terms(cli)

    result = cli.run("orgs", "terms", "set", "acme", "--credit-limit", "250", "--stop-grace", "10m")

    assert result.exit_code == 0, result.output
    assert [r.method for r in cli.api.requests] == ["GET", "PUT"]
    assert cli.api.last_json() == {
        "currency": "USD",
        "discount_percent": "10",
        "minimum_spend": "500.00",
        "tax_rate": "0.2",
        "credit_limit": "250",
        "stop_grace_seconds": 600,
    }
    assert field(result.stdout, "credit limit") == "250"
    assert result.stderr.strip() == "changed: credit_limit, stop_grace_seconds"


def test_terms_set_postpaid_drops_the_limit_and_keeps_the_rest(cli: Cli) -> None:
    state = stateful_terms(cli)

    result = cli.run("orgs", "terms", "set", "acme", "--postpaid", "--json")

    assert result.exit_code == 0, result.output
    assert "credit_limit" not in cli.api.last_json()
    assert state["credit_limit"] is None
    assert state["discount_percent"] == "10" and state["tax_rate"] == "0.2"
    assert json.loads(result.stdout) == state


@pytest.mark.parametrize(
    ("flags", "sent"),
    [
        (("--tax-rate", "20%"), {"tax_rate": "0.2"}),
        (("--tax-rate", "0.075"), {"tax_rate": "0.075"}),
        (("--discount-percent", "12.5%"), {"discount_percent": "12.5"}),
        (("--minimum-spend", "1000.00"), {"minimum_spend": "1000.00"}),
        (("--currency", "EUR"), {"currency": "EUR"}),
        (("--stop-grace", "90"), {"stop_grace_seconds": 90}),
        (("--stop-grace", "1h"), {"stop_grace_seconds": 3600}),
        (("--credit-limit", "0"), {"credit_limit": "0"}),
    ],
)
def test_terms_set_flag_values(cli: Cli, flags: tuple[str, ...], sent: dict[str, Any]) -> None:
    stateful_terms(cli, credit_limit=None)

    result = cli.run("orgs", "terms", "set", "acme", *flags)

    assert result.exit_code == 0, result.output
    body = cli.api.last_json()
    assert {k: body.get(k) for k in sent} == sent


TERMS = ("orgs", "terms", "set", "acme")
BAD_TERMS: dict[str, tuple[tuple[str, ...], int, str]] = {
    "nothing to change": (TERMS, 2, "nothing to change"),
    "limit and postpaid": (
        (*TERMS, "--credit-limit", "5", "--postpaid"),
        2,
        "give --credit-limit (prepaid) or --postpaid, not both",
    ),
    "no org": (("orgs", "terms", "set", "--postpaid"), 2, "Missing argument"),
    "limit not a number": ((*TERMS, "--credit-limit", "lots"), 2, "'lots' is not a number"),
    "grace not a duration": ((*TERMS, "--stop-grace", "soon"), 2, "is not a duration"),
    "tax not a number": ((*TERMS, "--tax-rate", "twenty"), 2, "is not a number"),
    "discount over 100": (
        (*TERMS, "--discount-percent", "150"),
        1,
        "error: invalid_request: discount_percent:",
    ),
    "tax over 1": ((*TERMS, "--tax-rate", "120%"), 1, "error: invalid_request: tax_rate:"),
    "negative limit": ((*TERMS, "--credit-limit", "-1"), 1, "credit_limit:"),
    "limit below a cent": ((*TERMS, "--credit-limit", "0.001"), 1, "credit_limit:"),
    "grace over a week": ((*TERMS, "--stop-grace", "8d"), 1, "stop_grace_seconds:"),
    "currency": ((*TERMS, "--currency", "euro"), 1, "currency:"),
}


@pytest.mark.parametrize("case", list(BAD_TERMS))
def test_bad_terms_flags_put_nothing(cli: Cli, case: str) -> None:
    stateful_terms(cli)
    args, code, message = BAD_TERMS[case]

    result = cli.run(*args)

    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert not [r for r in cli.api.requests if r.method == "PUT"]
    if code == 2:
        assert cli.built == []


def test_terms_for_an_internal_org_are_refused_by_the_server(cli: Cli) -> None:
    cli.api.on("GET", "/v1/orgs/research/billing-terms", s.billing_terms(credit_limit=None))
    message = "org: internal orgs get statements at cost; terms are for customers"
    cli.api.on("PUT", "/v1/orgs/research/billing-terms", refusal(message, "org"), 422)

    result = cli.run("orgs", "terms", "set", "research", "--tax-rate", "0.2")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: invalid_request: {message}"


# --- prices: meters and charge files --------------------------------------------------------


def token_price(**over: Any) -> dict[str, Any]:
    return s.price(
        meter="input_tokens", gpu_type="", tier="on_demand", unit_price="0",
        charge=s.token_charge(),
    ) | over  # fmt: skip


def test_the_example_charge_file_validates() -> None:
    parsed = parse_charge(TOKEN_PRICE.read_text())

    assert parsed.problems == []
    assert parsed.charge is not None
    assert parsed.charge.model == "graduated"
    first, rest = parsed.charge.tiers
    assert (first.up_to, first.unit_price) == (1_000_000, 0)
    assert rest.up_to is None
    assert str(rest.unit_price) == "0.000002"


def test_set_a_meter_price_from_the_example_charge_file(cli: Cli) -> None:
    cli.api.on("PUT", "/v1/prices", token_price())

    result = cli.run(
        "prices", "set", "-", "on_demand", "--meter", "input_tokens",
        "--charge-file", str(TOKEN_PRICE), "--from", "2026-11-01",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {
        "meter": "input_tokens",
        "gpu_type": "",
        "tier": "on_demand",
        # Without PRICE, the list price is the first tier's.
        "unit_price": "0",
        "charge": {
            "model": "graduated",
            "tiers": [
                {"up_to": "1000000", "unit_price": "0", "flat_fee": "0"},
                {"unit_price": "0.000002", "flat_fee": "0"},
            ],
        },
        "currency": "USD",
        "effective_from": "2026-11-01T00:00:00Z",
    }
    out = result.stdout
    assert row(out, "prc_1")[:8] == [
        "prc_1", "input_tokens", "-", "on_demand", "-", "0", "graduated,", "2",
    ]  # fmt: skip
    assert ["1", "0", "1000000", "0", "0"] in rows(out)
    assert ["2", "1000000", "no", "limit", "0.000002", "0"] in rows(out)


def test_an_explicit_price_wins_over_the_charges_own(cli: Cli, tmp_path: Path) -> None:
    cli.api.on("PUT", "/v1/prices", token_price(unit_price="0.000002"))
    path = write(tmp_path, "model: package\npackage_size: 1000\npackage_price: 2.00\n")

    result = cli.run(
        "prices", "set", "-", "on_demand", "0.002", "--meter", "input_tokens",
        "--charge-file", str(path), "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert cli.api.last_json()["unit_price"] == "0.002"
    assert cli.api.last_json()["charge"] == {
        "model": "package",
        "tiers": [],
        "package_size": "1000",
        "package_price": "2.00",
    }
    assert json.loads(result.stdout) == token_price(unit_price="0.000002")


def test_a_per_unit_charge_gives_its_own_price(cli: Cli, tmp_path: Path) -> None:
    cli.api.on("PUT", "/v1/prices", token_price())
    path = write(tmp_path, "model: per_unit\nunit_price: 0.0000015\n")

    result = cli.run(
        "prices", "set", "-", "on_demand", "--meter", "input_tokens", "--charge-file", str(path)
    )

    assert result.exit_code == 0, result.output
    assert cli.api.last_json()["unit_price"] == "0.0000015"


def test_a_gpu_price_still_needs_no_meter(cli: Cli) -> None:
    cli.api.on("PUT", "/v1/prices", s.price())

    result = cli.run("prices", "set", "h100", "spot", "1.10")

    assert result.exit_code == 0
    assert cli.api.last_json()["meter"] == "gpu_seconds"
    assert "charge" not in cli.api.last_json()


GRADUATED = """\
model: graduated
tiers:
  - up_to: 1000
    unit_price: 0.01
  - unit_price: 0.005
"""

BAD_CHARGES: dict[str, tuple[str, list[str]]] = {
    "unknown model": (
        "model: stepped\nunit_price: 1\n",
        ["1: model: must be one of per_unit, graduated, volume, package, got 'stepped'"],
    ),
    "missing model": (
        "tiers: []\n",
        ["1: model: missing required key", "1: tiers: must list at least one tier"],
    ),
    "unknown key": (
        GRADUATED + "currency: USD\n",
        [
            "6: currency: unknown key (expected model, unit_price, tiers, package_size,"
            " package_price)"
        ],
    ),
    "last tier bounded": (
        GRADUATED.replace("  - unit_price: 0.005", "  - up_to: 2000\n    unit_price: 0.005"),
        ["5: tiers[1].up_to: the last tier has no upper bound: leave up_to out"],
    ),
    "middle tier unbounded": (
        GRADUATED.replace("  - up_to: 1000\n", "  - up_to: null\n"),
        ["3: tiers[0].up_to: only the last tier may leave up_to out"],
    ),
    "tiers not ascending": (
        "model: volume\ntiers:\n  - {up_to: 100, unit_price: 1}\n  - {up_to: 50, unit_price: 1}\n"
        "  - {unit_price: 0}\n",
        ["4: tiers[1].up_to: must be above the previous tier's up_to (100)"],
    ),
    "negative tier price": (
        GRADUATED.replace("0.005", "-0.005"),
        ["5: tiers[1].unit_price: must not be negative, got -0.005"],
    ),
    "tier price not a number": (
        GRADUATED.replace("0.005", "cheap"),
        ["5: tiers[1].unit_price: must be a number, got 'cheap'"],
    ),
    "tier without a price": (
        GRADUATED.replace("  - unit_price: 0.005", "  - flat_fee: 5"),
        ["5: tiers[1].unit_price: missing required key"],
    ),
    "unknown tier key": (
        GRADUATED + "    price: 1\n",
        ["6: tiers[1].price: unknown key (expected up_to, unit_price, flat_fee)"],
    ),
    "flat fee too big": (
        GRADUATED + "    flat_fee: 2000000000\n",
        ["6: tiers[1].flat_fee: must be at most 1000000000, got 2000000000"],
    ),
    "tiers on a per-unit charge": (
        "model: per_unit\nunit_price: 1\ntiers:\n  - unit_price: 1\n",
        ["3: tiers: a per_unit charge takes no tiers"],
    ),
    "graduated without tiers": ("model: graduated\n", ["1: tiers: a graduated charge needs tiers"]),
    "unit price on a graduated charge": (
        GRADUATED + "unit_price: 0.01\n",
        ["6: unit_price: a graduated charge takes no unit_price"],
    ),
    "package size zero": (
        "model: package\npackage_size: 0\npackage_price: 2\n",
        ["2: package_size: must be greater than 0, got 0"],
    ),
    "package without a price": (
        "model: package\npackage_size: 1000\n",
        ["1: package_price: a package charge needs package_price"],
    ),
    "tiers a mapping": (
        "model: graduated\ntiers:\n  up_to: 5\n",
        ["2: tiers: must be a list of tiers, got a mapping"],
    ),
    "a list, not a charge": (
        "- model: graduated\n",
        ["1: <root>: must be a mapping with a 'model' key, got a list"],
    ),
    "YAML syntax": (
        GRADUATED + "  - [\n",
        ["7: <yaml>: expected the node content, but found '<stream end>'"],
    ),
    "a key twice": (GRADUATED + "model: volume\n", ["6: <yaml>: found duplicate key 'model'"]),
    "every problem, in file order": (
        "model: graduated\ntiers:\n  - up_to: -1\n    unit_price: x\n  - unit_price: 1\n"
        "colour: red\n",
        [
            "3: tiers[0].up_to: must be greater than 0, got -1",
            "4: tiers[0].unit_price: must be a number, got 'x'",
            "6: colour: unknown key (expected model, unit_price, tiers, package_size,"
            " package_price)",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CHARGES))
def test_a_bad_charge_file_is_refused_whole_naming_file_line_and_path(
    cli: Cli, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_CHARGES[case]
    path = write(tmp_path, text)

    result = cli.run(
        "prices", "set", "-", "on_demand", "1", "--meter", "input_tokens",
        "--charge-file", str(path),
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"{path}:{line}" for line in expected]
    assert result.stdout == ""
    assert cli.built == []  # nothing sent: not even a connection


def test_an_empty_charge_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "# to do\n")

    result = cli.run(
        "prices", "set", "-", "on_demand", "--meter", "input_tokens", "--charge-file", str(path)
    )

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}: <root>: the file is empty (expected a charge mapping with a 'model')"
    ]


PRICE_SET = ("prices", "set")
BAD_PRICE_FLAGS: dict[str, tuple[tuple[str, ...], str]] = {
    "no price and no charge": ((*PRICE_SET, "h100", "spot"), "give PRICE, or a --charge-file"),
    "any GPU type for GPU time": ((*PRICE_SET, "-", "spot", "1"), "GPU time is priced per GPU"),
    "any GPU type for the GPU meter": (
        (*PRICE_SET, "", "spot", "1", "--meter", "gpu_seconds"),
        "GPU time is priced per GPU",
    ),
    "missing charge file": (
        (*PRICE_SET, "-", "spot", "--meter", "m", "--charge-file", "/nonexistent.yaml"),
        "does not exist",
    ),
    "bad tier": ((*PRICE_SET, "h100", "gold", "1"), "gold"),
    "bad price": ((*PRICE_SET, "h100", "spot", "cheap"), "'cheap' is not a number"),
}


@pytest.mark.parametrize("case", list(BAD_PRICE_FLAGS))
def test_bad_price_flags_are_usage_errors(cli: Cli, case: str) -> None:
    args, message = BAD_PRICE_FLAGS[case]

    result = cli.run(*args)

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert cli.built == []


def test_a_package_charge_needs_an_explicit_price(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "model: package\npackage_size: 1000\npackage_price: 2\n")

    result = cli.run(
        "prices", "set", "-", "on_demand", "--meter", "input_tokens", "--charge-file", str(path)
    )

    assert result.exit_code == 2
    assert "a package charge has no single unit price" in " ".join(result.stderr.split())
    assert cli.built == []


def test_an_undeclared_meter_is_refused_by_the_server(cli: Cli) -> None:
    message = "meter: unknown meter 'input_tokens': declare it first"
    cli.api.on("PUT", "/v1/prices", refusal(message, "meter"), 422)

    result = cli.run(
        "prices", "set", "-", "on_demand", "--meter", "input_tokens",
        "--charge-file", str(TOKEN_PRICE),
    )  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: invalid_request: {message}"


def test_prices_list_shows_the_meter_and_a_charge_summary(cli: Cli) -> None:
    package = {"model": "package", "package_size": "1000", "package_price": "2.00"}
    cli.api.on(
        "GET",
        "/v1/prices",
        [
            s.price(),
            token_price(id="prc_2", unit_price="0.0000005"),
            token_price(id="prc_3", meter="storage_gb_hours", unit_price="0.002", charge=package),
            token_price(
                id="prc_4",
                charge=s.token_charge(model="volume", tiers=s.token_charge()["tiers"][1:]),
            ),
        ],
    )

    result = cli.run("prices", "list")

    assert result.exit_code == 0
    out = result.stdout
    assert row(out, "prc_1")[:7] == [
        "prc_1",
        "gpu_seconds",
        "h100",
        "spot",
        "-",
        "1.10",
        "per_unit",
    ]
    # Exactly as the API sent it: a price with 7 places is not rounded to 6.
    assert row(out, "prc_2")[5:8] == ["0.0000005", "graduated,", "2"]
    assert row(out, "prc_3")[5:10] == ["0.002", "package", "of", "1000", "at"]
    assert row(out, "prc_4")[6:8] == ["volume,", "1"]
    assert row(out, "prc_4")[8] == "tier"


def test_prices_list_json_keeps_the_charge(cli: Cli) -> None:
    cli.api.on("GET", "/v1/prices", [token_price()])

    result = cli.run("prices", "list", "--json")

    assert json.loads(result.stdout)[0]["charge"] == s.token_charge()
