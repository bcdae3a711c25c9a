"""A prepaid customer out of credit: its running work gets a notice, a grace, then stops."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import client, wait_for
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e

JOB = (
    "import signal, sys, time\n"
    "def stop(*_):\n"
    "    print('SIGTERM received', flush=True)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "print('running', flush=True)\n"
    "time.sleep(300)\n"
)


def test_work_stops_after_the_grace_when_the_credit_is_used_up(server: ServerProcess) -> None:
    op = client(server.url, server.operator_key)
    assert op.post("/v1/orgs", json={"name": "acme", "kind": "external"}).status_code == 201
    key = op.post("/v1/keys", json={"org": "acme", "name": "ci", "role": "owner"}).json()
    acme = client(server.url, key["secret"])
    body = {
        "command": ["python3", "-c", JOB],
        "resources": {"gpu_type": "h100", "gpus_per_node": 1},
        "tier": "on_demand",
        "grace_seconds": 5,
    }
    r = acme.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    wait_for(lambda: acme.get(f"/v1/jobs/{job_id}").json()["state"] == "running", what="start")

    # The operator makes acme a prepaid customer with no credit: what it has run is unpaid.
    terms = {"credit_limit": "0", "stop_grace_seconds": 2}
    assert op.put("/v1/orgs/acme/billing-terms", json=terms).status_code == 200
    final = wait_for(
        lambda: (j := acme.get(f"/v1/jobs/{job_id}").json())["state"] == "cancelled" and j,
        timeout=60,
        what="the job to stop",
    )
    assert final["reason"] == "credit_limit"
    reasons = [e["reason"] for e in acme.get(f"/v1/jobs/{job_id}/events").json()]
    assert reasons.index("credit_limit_notice") < reasons.index("credit_limit_stop")
    assert "SIGTERM received" in acme.get(f"/v1/jobs/{job_id}/logs").json()["data"]
    refused = acme.post("/v1/jobs", json=body)
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "credit_limit_reached"
