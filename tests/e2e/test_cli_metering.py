"""Metering through the `neocloud` command and the real server: declare, send twice, list."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess
from tests.e2e.test_cli import NEOCLOUD, cli

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "meters.yaml"


def test_declare_meters_send_events_twice_and_list_them(
    server: ServerProcess, tmp_path: Path
) -> None:
    applied = cli(server, "meters", "apply", str(EXAMPLE))
    assert {m["name"]: m["change"] for m in applied} == {
        "input_tokens": "created",
        "output_tokens": "created",
        "storage_gb_hours": "created",
        "active_users": "created",
    }
    again = cli(server, "meters", "apply", str(EXAMPLE))
    assert [m["change"] for m in again] == ["unchanged"] * 4
    listed = cli(server, "meters", "list")
    assert [m["name"] for m in listed] == [
        "gpu_seconds",
        "active_users",
        "input_tokens",
        "output_tokens",
        "storage_gb_hours",
    ]

    cli(server, "orgs", "create", "acme", "--kind", "external")
    # An hour ago: inside the server's age and clock-skew limits whenever the test runs.
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    events = [
        {"id": "tok-1", "org": "acme", "meter": "input_tokens", "value": 1500, "time": when,
         "dimensions": {"model": "llama-70b"}},
        {"id": "tok-2", "org": "acme", "meter": "output_tokens", "value": 0.5, "time": when,
         "dimensions": {"model": "llama-70b"}},
        {"id": "usr-1", "org": "acme", "meter": "active_users", "value": 1, "time": when,
         "dimensions": {"user": "ada"}},
    ]  # fmt: skip
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text("".join(json.dumps(e) + "\n" for e in events))

    first = cli(server, "usage", "events", "send", str(jsonl))
    second = cli(server, "usage", "events", "send", str(jsonl))

    assert first == {"received": 3, "accepted": 3, "duplicates": 0}
    assert second == {"received": 3, "accepted": 0, "duplicates": 3}

    # CSV on stdin: one event already stored, one new.
    csv_text = (
        "id,org,meter,value,time,dim.model\n"
        f"tok-1,acme,input_tokens,1500,{when},llama-70b\n"
        f"tok-3,acme,input_tokens,25,{when},llama-8b\n"
    )
    env = {**os.environ, "NEOCLOUD_URL": server.url, "NEOCLOUD_API_KEY": server.operator_key}
    piped = subprocess.run(
        [NEOCLOUD, "--json", "usage", "events", "send", "-"],
        input=csv_text,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == {"received": 2, "accepted": 1, "duplicates": 1}

    since = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stored = cli(server, "usage", "events", "list", "--org", "acme", "--from", since)
    assert sorted(e["id"] for e in stored) == ["tok-1", "tok-2", "tok-3", "usr-1"]
    assert {e["id"]: e["value"] for e in stored}["tok-2"] in ("0.5", "0.500000")
    tokens = cli(
        server, "usage", "events", "list", "--org", "acme", "--meter", "input_tokens",
        "--from", since,
    )  # fmt: skip
    assert sorted((e["id"], e["dimensions"]["model"]) for e in tokens) == [
        ("tok-1", "llama-70b"),
        ("tok-3", "llama-8b"),
    ]

    # The server's refusal names the line it came from; nothing of that file is stored.
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(events[0] | {"id": "tok-4"})
        + "\n"
        + json.dumps(events[0] | {"id": "tok-5", "meter": "input_tokenz"})
        + "\n"
    )
    refused = cli(server, "usage", "events", "send", str(bad), ok=False)
    assert refused.returncode == 1
    assert "events[1].meter" in refused.stderr
    assert f"at: {bad}:2" in refused.stderr
    after = cli(server, "usage", "events", "list", "--org", "acme", "--from", since)
    assert "tok-4" not in {e["id"] for e in after}
