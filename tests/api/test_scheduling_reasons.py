"""Why a job waits, as the API shows it after a scheduling pass (no engine involved)."""

from __future__ import annotations

from typing import Any

from neocloud.server.jobs.control_loop import ControlLoop
from tests.api.conftest import Api


def _job(gpus: int, tier: str, nodes: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "command": ["true"],
        "tier": tier,
        "resources": {"gpu_type": "h100", "gpus_per_node": gpus, "nodes": nodes},
        **extra,
    }


def _pass(api: Api) -> None:
    ControlLoop(api.ctx.db, api.ctx.engines).schedule_pass()


def test_quota_reason_names_the_org_and_its_holdings(api: Api) -> None:
    team = api.new_org("vision", kind="internal")
    assert (
        api.http.put(
            "/v1/quotas", json={"org": "vision", "gpu_type": "h100", "gpus": 4}
        ).status_code
        == 200
    )
    first = team.post("/v1/jobs", json=_job(4, "internal")).json()
    second = team.post("/v1/jobs", json=_job(2, "internal")).json()
    _pass(api)
    assert team.get(f"/v1/jobs/{first['id']}").json()["state"] == "scheduled"
    waiting = team.get(f"/v1/jobs/{second['id']}").json()
    assert waiting["state"] == "pending"
    assert waiting["reason"] == "quota"
    # The operator reads the scheduler's sentence; the org reads one about its own job only.
    full = api.http.get(f"/v1/jobs/{second['id']}").json()["message"]
    assert "vision" in full and "4/4" in full
    assert waiting["message"] == "quota: your org's h100 quota has no room for it now"


def test_sellable_cap_holds_back_external_work(api: Api) -> None:
    acme = api.new_org("acme")
    r = api.http.put("/v1/sellable-caps", json={"gpu_type": "h100", "fraction": "0.25"})
    assert r.status_code == 200, r.text
    ok = acme.post("/v1/jobs", json=_job(2, "spot")).json()
    over = acme.post("/v1/jobs", json=_job(1, "spot")).json()
    _pass(api)
    assert acme.get(f"/v1/jobs/{ok['id']}").json()["state"] == "scheduled"
    held = acme.get(f"/v1/jobs/{over['id']}").json()
    assert held["state"] == "pending" and held["reason"] == "sellable_cap"


def test_a_gang_waits_for_whole_nodes_with_a_planned_start(api: Api) -> None:
    acme = api.new_org("acme")
    small = api.http.post("/v1/jobs", json=_job(1, "internal", org="research")).json()
    _pass(api)
    gang = acme.post("/v1/jobs", json=_job(4, "on_demand", nodes=2)).json()
    _pass(api)
    assert api.http.get(f"/v1/jobs/{small['id']}").json()["state"] == "scheduled"
    waiting = acme.get(f"/v1/jobs/{gang['id']}").json()
    # The small job holds a GPU on one node for up to its max runtime (1 h): the gang is the first
    # blocked job, so it gets a planned start for when that GPU is due back.
    assert waiting["state"] == "pending" and waiting["reason"] == "planned_start"
    assert "2 nodes" in waiting["message"] or "2 ×" in waiting["message"], waiting["message"]


def test_placement_is_visible_and_never_overlaps(api: Api) -> None:
    acme = api.new_org("acme")
    ids = [acme.post("/v1/jobs", json=_job(2, "spot")).json()["id"] for _ in range(5)]
    _pass(api)
    held: set[tuple[str, int]] = set()
    started = 0
    for job_id in ids:
        job = acme.get(f"/v1/jobs/{job_id}").json()
        for alloc in job["allocations"]:
            for gpu in alloc["gpu_indices"]:
                assert (alloc["node"], gpu) not in held
                held.add((alloc["node"], gpu))
        started += job["state"] == "scheduled"
    assert started == 4  # 8 h100 in the demo fleet, 2 each; the fifth waits
