"""`neocloud webhooks`, `neocloud budgets` and `neocloud events` against the API double."""

from __future__ import annotations

import json

import httpx

from tests.cli.harness import Cli
from tests.sdk.test_sdk_billing_events import budget, delivery, event, page, webhook


def test_webhooks_create_sends_the_events_and_shows_the_secret_once(cli: Cli) -> None:
    cli.api.on("POST", "/v1/webhooks", webhook(secret="whsec_s3cret"), status=201)
    result = cli.run(
        "webhooks", "create", "--url", "https://hooks.acme.test/n",
        "--event", "invoice.finalized", "--event", "budget.threshold_reached",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {
        "url": "https://hooks.acme.test/n",
        "event_types": ["invoice.finalized", "budget.threshold_reached"],
    }
    assert "whsec_s3cret" in result.stdout
    assert "cannot be shown again" in result.stderr


def test_webhooks_create_refuses_an_unknown_event_type(cli: Cli) -> None:
    result = cli.run("webhooks", "create", "--url", "https://x.test", "--event", "invoice.paid")
    assert result.exit_code != 0
    assert cli.api.requests == []


def test_webhooks_list_and_delete(cli: Cli) -> None:
    cli.api.on("GET", "/v1/webhooks", page([webhook()]))
    cli.api.on(
        "DELETE", "/v1/webhooks/whe_1", webhook(enabled=False, disabled_at=webhook()["created_at"])
    )
    listed = cli.run("webhooks", "list")
    assert listed.exit_code == 0, listed.output
    assert "whe_1" in listed.stdout and "enabled" in listed.stdout
    deleted = cli.run("webhooks", "delete", "whe_1")
    assert deleted.exit_code == 0 and "deleted" in deleted.stdout
    as_json = json.loads(cli.run("--json", "webhooks", "list").stdout)
    assert as_json[0]["url"] == "https://hooks.acme.test/n" and "secret" not in as_json[0]


def test_webhooks_deliveries_show_attempts_and_the_last_error(cli: Cli) -> None:
    failed = delivery(status="failed", attempts=9, next_attempt_at=None, last_error="HTTP 500")
    cli.api.on("GET", "/v1/webhooks/whe_1/deliveries", page([failed]))
    result = cli.run("webhooks", "deliveries", "whe_1", "--status", "failed")
    assert result.exit_code == 0, result.output
    assert "HTTP 500" in result.stdout and "failed" in result.stdout
    assert cli.api.requests[-1].url.params["status"] == "failed"


def test_webhooks_test_queues_a_ping(cli: Cli) -> None:
    cli.api.on("POST", "/v1/webhooks/whe_1/test", delivery(), status=202)
    result = cli.run("webhooks", "test", "whe_1")
    assert result.exit_code == 0, result.output
    assert "webhook.test" in result.stdout and "Queued" in result.stderr


def test_budgets_create_sends_amount_and_thresholds_exactly(cli: Cli) -> None:
    cli.api.on("POST", "/v1/budgets", budget(), status=201)
    result = cli.run(
        "budgets", "create", "--name", "monthly", "--amount", "100.00",
        "--threshold", "50", "--threshold", "90", "--project", "vision",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {
        "name": "monthly",
        "amount": "100.00",
        "currency": "USD",
        "thresholds": [50, 90],
        "project": "vision",
    }


def test_budgets_list_shows_spend_percent_and_thresholds_reached(cli: Cli) -> None:
    cli.api.on("GET", "/v1/budgets", page([budget()]))
    result = cli.run("budgets", "list")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "bud_1" in line)
    assert "85.20" in row and "100.00" in row
    assert "50%, 80%, 100%" in row and row.rstrip().endswith("50%, 80%")
    as_json = json.loads(cli.run("--json", "budgets", "list").stdout)
    assert as_json[0]["reached"] == [50, 80] and as_json[0]["spend"] == "85.20"


def test_budgets_delete(cli: Cli) -> None:
    cli.api.handle("DELETE", "/v1/budgets/bud_1", lambda _: httpx.Response(204))
    result = cli.run("budgets", "delete", "bud_1")
    assert result.exit_code == 0 and "Deleted budget bud_1" in result.stderr
    assert json.loads(cli.run("--json", "budgets", "delete", "bud_1").stdout) == {
        "id": "bud_1",
        "deleted": True,
    }


def test_a_refused_budget_prints_the_field_and_exits_1(cli: Cli) -> None:
    error = {"code": "invalid_request", "message": "currency: org acme is billed in USD",
             "details": {"field": "currency"}}  # fmt: skip
    cli.api.on("POST", "/v1/budgets", {"error": error}, status=422)
    result = cli.run("budgets", "create", "--name", "b", "--amount", "5", "--currency", "EUR")
    assert result.exit_code == 1
    assert "currency: org acme is billed in USD" in result.stderr


def test_events_list_says_what_happened(cli: Cli) -> None:
    alert = event(
        id="evt_2",
        type="budget.threshold_reached",
        data={"budget_name": "monthly", "threshold": 80, "spend": "85.20", "amount": "100.00",
              "currency": "USD"},
    )  # fmt: skip
    cli.api.on("GET", "/v1/events", page([event(), alert]))
    result = cli.run("events", "list", "--type", "budget.threshold_reached")
    assert result.exit_code == 0, result.output
    assert cli.api.requests[-1].url.params["type"] == "budget.threshold_reached"
    assert "NC-2026-000001" in result.stdout
    assert "budget monthly at 80%: 85.20 of 100.00 USD" in result.stdout
    as_json = json.loads(cli.run("--json", "events", "list").stdout)
    assert [e["id"] for e in as_json] == ["evt_1", "evt_2"]
