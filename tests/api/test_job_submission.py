"""Submitting jobs: every bad spec gets a clear 4xx naming the field, and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

GOOD: dict[str, Any] = {
    "command": ["python", "-c", "print(1)"],
    "resources": {"gpu_type": "h100", "gpus_per_node": 2},
    "tier": "spot",
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one field replaced (dotted path); value None removes it."""
    import copy

    body = copy.deepcopy(GOOD)
    *parents, leaf = path.split(".")
    node = body
    for p in parents:
        node = node[p]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    return body


BAD = [
    ("missing-command", _with("command", None), 422, "command"),
    ("empty-command", _with("command", []), 422, "command"),
    ("command-not-list", _with("command", "python train.py"), 422, "command"),
    ("unknown-gpu-type", _with("resources.gpu_type", "tpu9"), 422, "resources.gpu_type"),
    ("too-many-gpus-per-node", _with("resources.gpus_per_node", 9), 422, "resources.gpus_per_node"),
    ("too-many-nodes", _with("resources.nodes", 3), 422, "resources.nodes"),
    ("zero-gpus", _with("resources.gpus_per_node", 0), 422, "resources.gpus_per_node"),
    ("negative-gpus", _with("resources.gpus_per_node", -2), 422, "resources.gpus_per_node"),
    ("absurd-gpus", _with("resources.gpus_per_node", 10**9), 422, "resources.gpus_per_node"),
    ("gpus-as-string", _with("resources.gpus_per_node", "two"), 422, "resources.gpus_per_node"),
    ("negative-runtime", _with("max_runtime_seconds", -1), 422, "max_runtime_seconds"),
    ("absurd-runtime", _with("max_runtime_seconds", 10**12), 422, "max_runtime_seconds"),
    ("negative-grace", _with("grace_seconds", -5), 422, "grace_seconds"),
    ("zero-attempts", _with("max_attempts", 0), 422, "max_attempts"),
    ("absurd-attempts", _with("max_attempts", 10**6), 422, "max_attempts"),
    ("unknown-tier", _with("tier", "platinum"), 422, "tier"),
    ("internal-tier-for-customer", _with("tier", "internal"), 422, "tier"),
    ("reserved-without-contract", _with("tier", "reserved"), 422, "tier"),
    ("priority-on-spot", _with("priority_class", "production"), 422, "body"),
    ("unknown-field", _with("gpu", 2), 422, "gpu"),
    ("reserved-env", _with("env", {"CUDA_VISIBLE_DEVICES": "0"}), 422, "env.CUDA_VISIBLE_DEVICES"),
    ("bad-env-name", _with("env", {"1X": "y"}), 422, "env.1X"),
    ("on-behalf-of-other-org", _with("org", "research"), 422, "org"),
    ("unknown-project", _with("project", "nope"), 404, None),
]


@pytest.mark.parametrize(("body", "status", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_job_specs_are_rejected_and_nothing_is_stored(
    api: Api, body: dict[str, Any], status: int, field: str | None
) -> None:
    acme = api.new_org("acme")
    r = acme.post("/v1/jobs", json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"]
    if field is not None:
        assert err["details"]["field"] == field, err
    assert acme.get("/v1/jobs").json()["items"] == []
    assert api.http.get("/v1/jobs").json()["items"] == []


def test_malformed_json_is_a_clear_422(api: Api) -> None:
    acme = api.new_org("acme")
    r = acme.post("/v1/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_a_good_job_is_pending_with_a_recorded_event(api: Api) -> None:
    acme = api.new_org("acme")
    r = acme.post("/v1/jobs", json=GOOD)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["state"] == "pending" and job["tier"] == "spot" and job["attempts"] == 0
    assert job["max_attempts"] is None  # no limit unless asked
    limited = acme.post("/v1/jobs", json={**GOOD, "max_attempts": 2}).json()
    assert acme.get(f"/v1/jobs/{limited['id']}").json()["max_attempts"] == 2
    events = acme.get(f"/v1/jobs/{job['id']}/events").json()
    assert [(e["from_state"], e["to_state"], e["reason"]) for e in events] == [
        (None, "pending", "submitted")
    ]


def test_internal_jobs_default_to_research_priority(api: Api) -> None:
    team = api.new_org("vision", kind="internal")
    r = team.post("/v1/jobs", json=_with("tier", "internal"))
    assert r.status_code == 201, r.text
    assert r.json()["priority_class"] == "research"


def test_cancel_a_pending_job_and_cancel_again_is_409(api: Api) -> None:
    acme = api.new_org("acme")
    job = acme.post("/v1/jobs", json=GOOD).json()
    r = acme.post(f"/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    again = acme.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409


def test_same_idempotency_key_submits_once(api: Api) -> None:
    acme = api.new_org("acme")
    h = {"Idempotency-Key": "train-42"}
    a = acme.post("/v1/jobs", json=GOOD, headers=h).json()
    b = acme.post("/v1/jobs", json=GOOD, headers=h).json()
    assert a["id"] == b["id"]
    assert len(acme.get("/v1/jobs").json()["items"]) == 1


def test_fleet_validation_lists_every_problem_and_load_changes_nothing(api: Api) -> None:
    bad = (
        "regions:\n  - name: r\n    clusters:\n      - name: c\n"
        "        nodes:\n          - name: n\n            gpus: 0\n"
    )
    v = api.http.post("/v1/fleet/validate", json={"yaml": bad}).json()
    assert v["valid"] is False and len(v["problems"]) >= 2
    before = api.http.get("/v1/fleet").json()
    r = api.http.put("/v1/fleet", json={"yaml": bad})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"]
    assert api.http.get("/v1/fleet").json() == before
