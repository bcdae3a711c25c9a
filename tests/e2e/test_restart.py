"""The control plane killed with SIGKILL while jobs run: on restart it reconciles.

A job still running is adopted and finishes normally; a job whose processes vanished while the
control plane was down is marked failed with a reason; each allocation is counted exactly once,
however many times the control plane restarts.
"""

from __future__ import annotations

import json
import os
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import client, job_file, wait_for
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e

LIFETIME = r"""
import json, os, sys, time
out = "life.json"
rec = {"start": time.time()}
with open(out, "w") as f: json.dump(rec, f)
time.sleep(float(sys.argv[1]))
rec["end"] = time.time()
with open(out, "w") as f: json.dump(rec, f)
"""


def _submit(c, seconds: float) -> str:  # type: ignore[no-untyped-def]
    r = c.post(
        "/v1/jobs",
        json={
            "command": ["python3", "-c", LIFETIME, str(seconds)],
            "resources": {"gpu_type": "h100", "gpus_per_node": 1},
            "tier": "internal",
            "org": "research",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_sigkill_and_restart_adopts_survivors_and_fails_the_vanished(
    tmp_path: Path, fleet_file: Path
) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data, fleet_file).start()
    try:
        op = client(srv.url, srv.operator_key)
        survivor = _submit(op, 8)
        victim = _submit(op, 600)
        for job in (survivor, victim):
            wait_for(
                lambda j=job: op.get(f"/v1/jobs/{j}").json()["state"] == "running",
                what=f"{job} running",
            )
        srv.kill()
        # While the control plane is down, the victim's processes disappear without an exit status.
        runner = json.loads((data / "engine" / "local" / victim / "1" / "runner.json").read_text())
        os.killpg(runner["pgid"], signal.SIGKILL)
        killed_at = time.time()
        time.sleep(1)
    finally:
        srv.stop()

    srv = ServerProcess(data, fleet_file).start()
    try:
        op = client(srv.url, srv.operator_key)
        lost = wait_for(
            lambda: (j := op.get(f"/v1/jobs/{victim}").json())["state"] == "failed" and j,
            what="vanished job marked failed",
        )
        assert lost["reason"] == "lost"
        assert "vanished" in lost["message"]
        done = wait_for(
            lambda: (j := op.get(f"/v1/jobs/{survivor}").json())["state"] == "succeeded" and j,
            timeout=60,
            what="adopted job succeeded",
        )
        assert done["attempts"] == 1
    finally:
        srv.stop()

    # Restart once more: nothing is counted twice.
    srv = ServerProcess(data, fleet_file).start()
    try:
        op = client(srv.url, srv.operator_key)
        time.sleep(1.5)
        records = op.get("/v1/usage/records", params={"from": "2020-01-01"}).json()["items"]
    finally:
        srv.stop()
    by_job: dict[str, list[dict[str, str]]] = {}
    for r in records:
        by_job.setdefault(r["job_id"], []).append(r)
    assert len(by_job[survivor]) == 1 and len(by_job[victim]) == 1
    # Each job wrote its lifetime into its own directory (the only one it can write).
    life = json.loads(job_file(data, survivor, 1, "life.json").read_text())
    assert (
        abs(Decimal(by_job[survivor][0]["gpu_seconds"]) - Decimal(str(life["end"] - life["start"])))
        < 1
    )
    # The vanished job is charged up to its last sign of life, never beyond when it was killed.
    victim_start = json.loads(job_file(data, victim, 1, "life.json").read_text())["start"]
    charged = Decimal(by_job[victim][0]["gpu_seconds"])
    assert 0 < charged <= Decimal(str(killed_at - victim_start)) + 1
