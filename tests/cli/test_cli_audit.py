"""`neocloud audit list` and `export` (and the SDK's Audit) against the API double."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.cli.harness import Cli
from tests.sdk.api_double import Api
from tests.sdk.test_sdk_billing_events import page


def entry(n: int = 1, **over: Any) -> dict[str, Any]:
    """An audit entry as the API returns it: by default a key created by an org's owner."""
    return {
        "id": f"aud_{n:03d}",
        "at": f"2026-11-0{n % 9 + 1}T10:00:00Z",
        "org_id": "org_acme",
        "key_id": "key_owner",
        "actor_org_id": "org_acme",
        "role": "owner",
        "client": "203.0.113.7",
        "action": "POST /v1/keys",
        "path": "/v1/keys",
        "target": f"api_keys:key_{n}",
        "outcome": "success",
        "status": 201,
        "error_code": None,
        "changes": [
            {
                "table": "api_keys",
                "id": f"key_{n}",
                "op": "insert",
                "before": None,
                "after": {"name": "ci", "secret_hash": "[redacted]"},
            }
        ],
        **over,
    }


REFUSED = entry(
    2,
    action="POST /v1/orgs",
    target=None,
    outcome="refused",
    status=403,
    error_code="forbidden",
    changes=[],
)
USAGE = entry(
    3,
    action="POST /v1/usage/events",
    role="operator",
    changes=[
        {
            "table": "usage_events",
            "op": "insert",
            "count": 1000,
            "first_id": "a",
            "last_id": "z",
            "orgs": [],
        }
    ],
)


def _two_pages(api: Api) -> None:
    """The first page points at a second one, as a long log does."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "next":
            return httpx.Response(200, json=page([REFUSED, USAGE]))
        return httpx.Response(200, json={"items": [entry()], "next_cursor": "next"})

    api.handle("GET", "/v1/audit", answer)


def test_list_shows_who_did_what_and_how_it_ended(cli: Cli) -> None:
    _two_pages(cli.api)
    result = cli.run("audit", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "POST /v1/keys" in line)
    for cell in (
        "key_owner",
        "owner",
        "203.0.113.7",
        "api_keys:key_1",
        "success",
        "insert api_keys",
    ):
        assert cell in row
    assert any("403 forbidden" in line and "POST /v1/orgs" in line for line in lines)
    assert any("insert usage_events ×1000" in line for line in lines)


@pytest.mark.parametrize(
    ("args", "query"),
    [
        (["--org", "acme"], {"org": "acme"}),
        (["--key", "key_1"], {"key": "key_1"}),
        (["--action", "POST /v1/keys"], {"action": "POST /v1/keys"}),
        (["--target", "api_keys"], {"target": "api_keys"}),
        (["--outcome", "refused"], {"outcome": "refused"}),
        (
            ["--from", "2026-11-01", "--to", "2026-12-01T00:00:00Z"],
            {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        ),
    ],
    ids=["org", "key", "action", "target", "outcome", "window"],
)
def test_filters_become_the_query(cli: Cli, args: list[str], query: dict[str, str]) -> None:
    cli.api.on("GET", "/v1/audit", page([entry()]))
    result = cli.run("audit", "list", *args)
    assert result.exit_code == 0, result.output
    sent = dict(cli.api.requests[-1].url.params)
    assert {k: sent[k] for k in query} == query
    assert set(sent) - set(query) <= {"limit"}


def test_list_json_prints_the_entries(cli: Cli) -> None:
    _two_pages(cli.api)
    result = cli.run("--json", "audit", "list")
    assert result.exit_code == 0, result.output
    assert [e["id"] for e in json.loads(result.stdout)] == ["aud_001", "aud_002", "aud_003"]


def test_export_writes_one_json_line_per_entry_across_pages(cli: Cli) -> None:
    _two_pages(cli.api)
    result = cli.run("audit", "export", "--from", "2026-11-01")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["id"], e["outcome"]) for e in lines] == [
        ("aud_001", "success"),
        ("aud_002", "refused"),
        ("aud_003", "success"),
    ]
    assert lines[0]["changes"][0]["after"]["secret_hash"] == "[redacted]"
    assert all(r.url.params["from"] == "2026-11-01T00:00:00Z" for r in cli.api.requests)


def test_an_unknown_outcome_is_refused_before_any_request(cli: Cli) -> None:
    result = cli.run("audit", "list", "--outcome", "maybe")
    assert result.exit_code != 0
    assert cli.api.requests == []


def test_a_refusal_is_reported_like_any_api_error(cli: Cli) -> None:
    error = {"code": "forbidden", "message": "role viewer may not manage org", "details": {}}
    cli.api.on("GET", "/v1/audit", {"error": error}, status=403)
    result = cli.run("audit", "list")
    assert result.exit_code != 0
    assert "may not manage org" in result.output


def test_the_sdk_returns_the_servers_json_lines() -> None:
    api = Api()
    body = "".join(json.dumps(e) + "\n" for e in (entry(), REFUSED))
    api.handle(
        "GET",
        "/v1/audit/export",
        lambda _: httpx.Response(200, text=body, headers={"content-type": "application/x-ndjson"}),
    )
    text = api.client().audit.export(org="acme", outcome="refused")
    assert text == body
    request = api.requests[-1]
    assert dict(request.url.params) == {"org": "acme", "outcome": "refused"}
    assert request.headers["accept"] == "application/x-ndjson"
