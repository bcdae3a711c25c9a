"""The Ray engine when things break: a node dies, the dashboard is unreachable, the engine is set
up wrongly."""

from __future__ import annotations

import http.server
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neocloud.engines.base import (
    EngineConfigError,
    EngineError,
    EngineState,
    EngineUnavailable,
    NodeHealth,
)
from neocloud.engines.ray.engine import RayEngine
from neocloud.engines.ray.options import RayOptions
from neocloud.scheduler.model import GpuSlot
from neocloud.server.engines.check import DeclaredNode, compare
from neocloud.server.engines.health import NodeAvailability
from tests.e2e.server import free_port
from tests.engines.conftest import NODES, ray_engine_on

STARTED = (
    "import os, time\n"
    "open(os.path.join(os.environ['OUT'], 'started'), 'w').write(str(time.time()))\n"
    "time.sleep(600)\n"
)


def test_a_job_on_a_node_that_dies_ends_as_node_failed_at_its_last_sign_of_life(
    ray_cluster, ray_engine, spec, until_file, until_ended, wait_for, workdir: Path
) -> None:
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", STARTED],
            job_id=f"dies-{time.time_ns()}",
            env={"OUT": str(workdir)},
            placement=(GpuSlot("n1", (0,)), GpuSlot("n2", (0, 1))),
        )
    )
    until_file(workdir / "started")
    # Polled as the control loop polls it: the engine keeps each rank's last heartbeat.
    for _ in range(10):
        assert ray_engine.poll(handle).state is EngineState.RUNNING
        time.sleep(0.2)

    ray_cluster.kill_node("n2")
    died = time.time()
    try:
        status = until_ended(ray_engine, handle, timeout=90)

        assert status.state is EngineState.LOST
        assert status.reason_code == "node_failed"
        assert status.started_at is not None and status.ended_at is not None
        assert status.ended_at.timestamp() == pytest.approx(died, abs=1)
        down = {n.name: n.state for n in ray_engine.inventory()}
        assert down == {"n1": NodeHealth.UP, "n2": NodeHealth.DOWN}
        with pytest.raises(EngineError, match="n2 is not alive in Ray"):
            ray_engine.launch(
                spec(["true"], job_id=f"after-{time.time_ns()}", placement=(GpuSlot("n2", (0,)),))
            )
    finally:
        ray_cluster.start_node("n2")
        ray_cluster.wait_ready()
    assert {n.state for n in ray_engine.inventory()} == {NodeHealth.UP}


def test_an_unreachable_dashboard_is_unavailable_not_a_lost_job(
    ray_cluster, ray_engine, spec, until_ended, unique_job_id: str
) -> None:
    handle = ray_engine.launch(spec(["sleep", "2"], job_id=unique_job_id))
    cut_off = RayEngine(
        "test",
        RayOptions.from_engine_options(
            {"address": f"http://127.0.0.1:{free_port()}", "request_timeout_seconds": "2"}
        ),
        NODES,
    )

    with pytest.raises(EngineUnavailable, match="cannot reach the Ray dashboard"):
        cut_off.poll(handle)
    with pytest.raises(EngineUnavailable):
        cut_off.inventory()
    with pytest.raises(EngineUnavailable):
        cut_off.launch(spec(["true"], job_id=f"{unique_job_id}-b"))

    status = until_ended(ray_engine, handle, timeout=90)
    assert (status.state, status.exit_code) == (EngineState.EXITED, 0)


@pytest.fixture
def not_ray() -> Iterator[str]:
    """An HTTP server that is not a Ray dashboard (it answers 404 to everything)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_address_that_is_not_a_ray_dashboard_is_a_configuration_error(not_ray: str) -> None:
    engine = RayEngine("east", RayOptions.from_engine_options({"address": not_ray}), NODES)

    with pytest.raises(EngineConfigError, match=r"is not a Ray dashboard.*8265"):
        engine.check()


def test_the_right_address_passes_the_check(ray_cluster) -> None:
    ray_engine_on(ray_cluster).check()


def test_a_gpu_type_the_cluster_does_not_have_is_a_mismatch_with_the_fix(ray_engine) -> None:
    declared = [
        DeclaredNode("n1", "east", "ray", "a100", 8),
        DeclaredNode("n2", "east", "ray", "h100", 8),
    ]

    found = compare(declared, ray_engine.inventory(), "ray")

    state, message = found["n1"]
    assert state is NodeAvailability.MISMATCH
    assert message is not None and "8 × a100" in message and "8 × h100" in message
    assert found["n2"] == (NodeAvailability.UP, None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, r"engine_options\.address: required"),
        ({"address": "ray-head:8265"}, r"engine_options\.address: must be the dashboard's"),
        ({"address": "http://h:8265", "request_timeout_seconds": "0"}, r"request_timeout"),
        ({"address": "http://h:8265", "python": "python3; rm -rf /"}, r"engine_options\.python"),
    ],
)
def test_bad_engine_options_are_named(options: dict[str, str], message: str) -> None:
    with pytest.raises(EngineConfigError, match=message):
        RayOptions.from_engine_options(options)
