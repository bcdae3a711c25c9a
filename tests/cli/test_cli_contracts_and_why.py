"""`neocloud contracts`, `fleet quota set --borrow-limit` and `neocloud jobs why`."""

from __future__ import annotations

import json

from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s


def test_contract_create_sends_the_term_and_the_rate(cli: Cli) -> None:
    cli.api.on("POST", "/v1/contracts", s.contract(), status=201)
    result = cli.run(
        "contracts", "create", "--org", "acme", "--gpu-type", "h100", "--gpus", "16",
        "--from", "2026-11-01", "--to", "2027-11-01", "--price", "2.10",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = cli.api.last_json()
    assert body["gpus"] == 16 and body["unit_price"] == "2.10"
    assert body["starts_at"].startswith("2026-11-01") and body["ends_at"].startswith("2027-11-01")
    assert "ctr_1" in result.stdout


def test_contract_list_json_is_the_api_json(cli: Cli) -> None:
    cli.api.on("GET", "/v1/contracts", [s.contract()])
    result = cli.run("--json", "contracts", "list")
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["unit_price"] == "2.10"


def test_quota_set_sends_a_borrow_limit(cli: Cli) -> None:
    cli.api.on("PUT", "/v1/quotas", s.quota(borrow_limit=8))
    result = cli.run("fleet", "quota", "set", "research", "h100", "16", "--borrow-limit", "8")
    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {
        "org": "research",
        "gpu_type": "h100",
        "gpus": 16,
        "borrow_limit": 8,
    }


def test_why_prints_the_reason_and_each_preemption(cli: Cli) -> None:
    cli.api.on(
        "GET",
        "/v1/jobs/job_1",
        s.job(state="pending", reason="capacity", message="capacity: needs 1 node × 8 h100"),
    )
    cli.api.on("GET", "/v1/jobs/job_1/events", [
        s.job_event(),
        s.job_event(seq=4, to_state="running", reason="preemption_notice",
                    details={"by_job": "job_9", "rule": "spot_reclaim_for_internal",
                             "grace_seconds": "30"}),
    ])  # fmt: skip
    result = cli.run("jobs", "why", "job_1")
    assert result.exit_code == 0, result.output
    assert "capacity: needs 1 node × 8 h100" in result.stdout
    assert "job_9" in result.stdout and "spot_reclaim_for_internal" in result.stdout
    as_json = json.loads(cli.run("--json", "jobs", "why", "job_1").stdout)
    assert as_json["preemptions"][0]["by_job"] == "job_9"
    assert as_json["reason"] == "capacity"
