"""Through the API: an external org's job is not placed on a cluster that isolates nothing; it
waits with the reason `isolation` until the operator lets external work in there, then it runs.
Internal work uses the cluster all along. On SQLite and PostgreSQL."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from neocloud.server.jobs.control_loop import ControlLoop
from tests.api import conftest as api_conftest
from tests.api.conftest import Api

# The API over each database backend, as the API tests have it.
api = api_conftest.api

DEMO = files("neocloud.demo").joinpath("fleet.yaml").read_text()
OPERATOR_SENTENCE = (
    "isolation: no cluster that isolates tenants has a node with 4 h100; "
    "cluster laptop runs external work only if the operator allows it"
)


def _fleet(*cluster_lines: str) -> str:
    """The demo fleet with lines added to its one (local) cluster."""
    added = "".join(f"\n        {line}" for line in cluster_lines)
    text = DEMO.replace("engine: local", "engine: local" + added, 1)
    assert text != DEMO
    return text


def _load(api: Api, text: str) -> None:
    r = api.http.put("/v1/fleet", json={"yaml": text})
    assert r.status_code == 200, r.text


def _pass(api: Api) -> None:
    ControlLoop(api.ctx.db, api.ctx.engines).schedule_pass()


def _job(gpus: int, tier: str, **extra: Any) -> dict[str, Any]:
    return {
        "command": ["true"],
        "tier": tier,
        "resources": {"gpu_type": "h100", "gpus_per_node": gpus, "nodes": 1},
        **extra,
    }


def test_external_work_waits_for_isolation_until_the_operator_allows_it(api: Api) -> None:
    _load(api, _fleet("isolation: none"))
    acme = api.new_org("acme")
    external = acme.post("/v1/jobs", json=_job(4, "on_demand")).json()
    internal = api.http.post("/v1/jobs", json=_job(4, "internal", org="research")).json()
    _pass(api)

    assert api.http.get(f"/v1/jobs/{internal['id']}").json()["state"] == "scheduled"
    seen_by_operator = api.http.get(f"/v1/jobs/{external['id']}").json()
    assert (seen_by_operator["state"], seen_by_operator["reason"]) == ("pending", "isolation")
    assert seen_by_operator["message"] == OPERATOR_SENTENCE
    seen_by_acme = acme.get(f"/v1/jobs/{external['id']}").json()
    assert seen_by_acme["reason"] == "isolation"
    assert "research" not in seen_by_acme["message"]
    assert internal["id"] not in seen_by_acme["message"]

    _load(api, _fleet("isolation: none", "external_without_isolation: allow"))
    _pass(api)

    assert acme.get(f"/v1/jobs/{external['id']}").json()["state"] == "scheduled"


def test_a_cluster_that_isolates_takes_external_work(api: Api) -> None:
    _load(api, _fleet("isolation: sandbox"))
    acme = api.new_org("acme")
    job = acme.post("/v1/jobs", json=_job(4, "on_demand")).json()
    _pass(api)

    assert acme.get(f"/v1/jobs/{job['id']}").json()["state"] == "scheduled"


def test_a_fleet_that_asks_an_engine_for_isolation_it_cannot_give_is_refused(api: Api) -> None:
    r = api.http.put("/v1/fleet", json={"yaml": _fleet("isolation: user")})

    assert r.status_code == 422
    (problem,) = r.json()["error"]["details"]["problems"]
    assert problem["path"] == "regions[0].clusters[0].isolation"
    assert "engine local cannot give user" in problem["message"]
