"""Job lifecycle through the real server: exit codes, cancel with grace, max runtime, logs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import client, wait_for
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e


def _submit(c: httpx.Client, code: str, **extra: Any) -> str:
    body = {
        "command": ["python3", "-c", code],
        "resources": {"gpu_type": "h100", "gpus_per_node": 1},
        "tier": "internal",
        "org": "research",
        **extra,
    }
    r = c.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _final(c: httpx.Client, job_id: str) -> dict[str, Any]:
    terminal = {"succeeded", "failed", "cancelled"}
    return wait_for(  # type: ignore[no-any-return]
        lambda: (j := c.get(f"/v1/jobs/{job_id}").json())["state"] in terminal and j,
        timeout=60,
        what=f"{job_id} to end",
    )


def test_exit_codes_cancel_max_runtime_and_logs(server: ServerProcess) -> None:
    op = client(server.url, server.operator_key)
    ok = _submit(op, "import os; print('gpus', os.environ['CUDA_VISIBLE_DEVICES'])")
    bad = _submit(op, "import sys; print('oops', file=sys.stderr); sys.exit(3)")
    slow = _submit(op, "import time; time.sleep(300)", max_runtime_seconds=2, grace_seconds=1)
    stubborn = _submit(
        op,
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('started', flush=True)\ntime.sleep(300)",
        grace_seconds=1,
    )

    done = _final(op, ok)
    assert done["state"] == "succeeded" and done["exit_code"] == 0
    logs = op.get(f"/v1/jobs/{ok}/logs").json()
    assert logs["complete"] is True and logs["data"].startswith("gpus ")

    failed = _final(op, bad)
    assert failed["state"] == "failed" and failed["exit_code"] == 3
    assert "exited with code 3" in failed["message"]
    assert "oops" in op.get(f"/v1/jobs/{bad}/logs").json()["data"]

    overran = _final(op, slow)
    assert overran["state"] == "failed" and overran["reason"] == "max_runtime_exceeded"

    wait_for(
        lambda: "started" in op.get(f"/v1/jobs/{stubborn}/logs").json()["data"],
        what="stubborn job running",
    )
    r = op.post(f"/v1/jobs/{stubborn}/cancel")
    assert r.status_code == 200
    cancelled = _final(op, stubborn)
    assert cancelled["state"] == "cancelled"
    reasons = [e["reason"] for e in op.get(f"/v1/jobs/{stubborn}/events").json()]
    assert "cancel_requested" in reasons and reasons[-1] == "cancelled"

    # Every run that held GPUs left exactly one usage record.
    records = op.get("/v1/usage/records", params={"from": "2020-01-01"}).json()["items"]
    per_job = {r["job_id"] for r in records}
    assert {ok, bad, slow, stubborn} <= per_job
    assert len(records) == len(per_job)

    # Offsets page through the log without gaps.
    first = op.get(f"/v1/jobs/{ok}/logs", params={"limit": 3}).json()
    rest = op.get(f"/v1/jobs/{ok}/logs", params={"offset": first["next_offset"]}).json()
    assert first["data"] + rest["data"] == logs["data"]
