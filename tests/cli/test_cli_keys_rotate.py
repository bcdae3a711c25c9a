"""`neocloud keys rotate`: one command, the new secret printed once."""

from __future__ import annotations

import json

from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s

ROTATED = s.api_key(id="key_2", secret="nck_new_secret") | {
    "replaced": s.api_key(revoked_at="2026-11-02T00:00:00Z")
}


def test_rotate_by_id_prints_the_new_secret_and_what_it_replaces(cli: Cli) -> None:
    cli.api.on("POST", "/v1/keys/key_1/rotate", ROTATED, status=201)

    result = cli.run("keys", "rotate", "key_1")

    assert result.exit_code == 0, result.output
    assert "nck_new_secret" in result.stdout and "key_1" in result.stdout
    assert "cannot be shown again" in result.output
    assert cli.api.last_json() == {"grace_seconds": 0}


def test_rotate_by_name_with_a_grace_period(cli: Cli) -> None:
    active = s.api_key(id="key_7", name="deploy")
    gone = s.api_key(id="key_6", name="deploy", revoked_at="2026-01-01T00:00:00Z")
    cli.api.on("GET", "/v1/keys", s.page([gone, active, s.api_key(id="key_8", name="other")]))
    cli.api.on("POST", "/v1/keys/key_7/rotate", ROTATED, status=201)

    result = cli.run("keys", "rotate", "deploy", "--org", "acme", "--grace", "10m", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["secret"] == "nck_new_secret"
    assert cli.api.requests[0].url.params["org"] == "acme"
    assert cli.api.last_json() == {"grace_seconds": 600}


def test_a_name_matching_no_active_key_is_a_usage_error(cli: Cli) -> None:
    cli.api.on("GET", "/v1/keys", s.page([s.api_key(name="ci")]))

    result = cli.run("keys", "rotate", "deploy")

    assert result.exit_code != 0
    assert "no active key named 'deploy'" in result.output
    assert [r.method for r in cli.api.requests] == ["GET"]
