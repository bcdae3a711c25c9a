"""`neocloud orgs` and `neocloud keys`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def test_orgs_list_follows_every_page(cli: Cli) -> None:
    pages = {
        None: s.page([s.org()], next_cursor="c2"),
        "c2": s.page([s.org(id="org_2", name="globex", kind="internal", display_name=None)]),
    }
    cli.api.handle(
        "GET",
        "/v1/orgs",
        lambda r: httpx.Response(200, json=pages[r.url.params.get("cursor")]),
    )

    result = cli.run("orgs", "list")

    assert result.exit_code == 0
    assert ["org_1", "acme", "external", "Acme", "2026-11-01", "00:00:00Z"] in rows(result.stdout)
    assert ["org_2", "globex", "internal", "-", "2026-11-01", "00:00:00Z"] in rows(result.stdout)


def test_orgs_create_sends_kind_and_display_name(cli: Cli) -> None:
    cli.api.on("POST", "/v1/orgs", s.org())

    result = cli.run("orgs", "create", "acme", "--kind", "external", "--display-name", "Acme")

    assert result.exit_code == 0
    assert cli.api.last_json() == {
        "name": "acme",
        "kind": "external",
        "display_name": "Acme",
        "fair_share_weight": 1,
    }


def test_projects_and_members(cli: Cli) -> None:
    cli.api.on("POST", "/v1/orgs/acme/projects", s.project())
    cli.api.on("POST", "/v1/orgs/acme/members", s.member())

    project = cli.run("orgs", "projects", "create", "acme", "vision", "--json")
    member = cli.run("orgs", "members", "add", "acme", "ada@acme.test", "--role", "admin")

    assert json.loads(project.stdout) == s.project()
    assert ["mem_1", "org_1", "ada@acme.test", "admin", "2026-11-01", "00:00:00Z"] in rows(
        member.stdout
    )
    assert cli.api.last_json() == {"email": "ada@acme.test", "role": "admin"}


def test_keys_create_shows_the_secret_once_with_a_warning(cli: Cli) -> None:
    cli.api.on("POST", "/v1/keys", s.api_key(secret="nc_live_abc123"))

    result = cli.run("keys", "create", "--org", "acme", "--name", "ci", "--role", "admin")

    assert result.exit_code == 0
    assert ["secret", "nc_live_abc123"] in rows(result.stdout)
    assert "cannot be shown again" in result.stderr
    assert cli.api.last_json() == {"org": "acme", "name": "ci", "role": "admin"}


def test_keys_expire_in_a_duration(cli: Cli) -> None:
    cli.api.on("POST", "/v1/keys", s.api_key(secret="x"))
    before = datetime.now(UTC)

    cli.run("keys", "create", "--org", "acme", "--name", "ci", "--expires-in", "30d")

    sent = datetime.fromisoformat(cli.api.last_json()["expires_at"])
    assert before + timedelta(days=30) <= sent <= datetime.now(UTC) + timedelta(days=30)


def test_keys_expire_at_a_moment(cli: Cli) -> None:
    cli.api.on("POST", "/v1/keys", s.api_key(secret="x"))

    cli.run("keys", "create", "--org", "acme", "--name", "ci", "--expires-at", "2027-01-01")

    assert cli.api.last_json()["expires_at"] == "2027-01-01T00:00:00Z"


def test_keys_expiry_given_twice_is_a_usage_error(cli: Cli) -> None:
    result = cli.run(
        "keys", "create", "--org", "acme", "--name", "ci",
        "--expires-in", "30d", "--expires-at", "2027-01-01",
    )  # fmt: skip

    assert result.exit_code == 2
    assert cli.api.requests == []


def test_keys_list_json_never_has_a_secret(cli: Cli) -> None:
    cli.api.on("GET", "/v1/keys", s.page([s.api_key()]))

    result = cli.run("keys", "list", "--org", "acme", "--json")

    assert json.loads(result.stdout) == [s.api_key()]
    assert cli.api.requests[-1].url.params["org"] == "acme"


def test_keys_revoke(cli: Cli) -> None:
    cli.api.on("POST", "/v1/keys/key_1/revoke", s.api_key(revoked_at="2026-11-02T00:00:00Z"))

    result = cli.run("keys", "revoke", "key_1")

    assert result.exit_code == 0
    assert "2026-11-02" in result.stdout
