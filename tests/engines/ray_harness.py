"""A real Ray cluster for the tests: a head and a worker node × 8 fake GPUs on this host.

Ray lives in its own virtualenv (`.venv-ray` at the repository root, built from the pinned,
hashed `ray.lock` beside this file, rebuilt when the lock changes): it is never a dependency of
neocloud itself, whose engine talks to Ray over HTTP only. Each node is started with the custom
resource `neocloud_node_<name>: 1` that the engine pins work with, on 127.0.0.1, with a small
object store and its files in a temp directory; everything is stopped by PID.
See ../shared/ENGINES.md for the facts this relies on.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.locked_venv import LockStep, build_locked_venv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = Path(os.environ.get("NEOCLOUD_RAY_VENV", ROOT / ".venv-ray"))
LOCK = HERE / "ray.lock"
GPUS_PER_NODE = 8
GPU_TYPE = "h100"
OBJECT_STORE_BYTES = 100 * 1024 * 1024
# GCS declares a silent node dead after period × threshold: seconds here, not Ray's ~15 s.
FAST_HEALTH_CHECKS = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


def build_venv() -> str | None:
    """Build (or reuse) `.venv-ray` from the lock; a reason string when it cannot be had."""
    return build_locked_venv("Ray", VENV, VENV / "bin" / "ray", LockStep(LOCK))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Every descendant of a process (read from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _pids_with(argument: str) -> list[int]:
    """Processes whose command line holds `argument` (one node's raylet or agents)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class RayCluster:
    """Start, break and stop a two-node Ray cluster: the head is n1, the worker n2."""

    def __init__(self, nodes: Sequence[str] = ("n1", "n2"), run_dir: Path | None = None) -> None:
        self.nodes = tuple(nodes)
        # Ray's socket paths must stay short (AF_UNIX limit): a short temp dir.
        self.run = Path(run_dir or tempfile.mkdtemp(prefix="ncray-", dir="/tmp"))
        self.gcs_port = _free_port()
        self.dashboard_port = _free_port()
        self.address = f"http://127.0.0.1:{self.dashboard_port}"
        self.manager_ports = {n: _free_port() for n in self.nodes}
        self.env = {
            **os.environ,
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_JOB_START_TIMEOUT_SECONDS": "15",
            **FAST_HEALTH_CHECKS,
        }
        # The CLI must not find another cluster through the environment.
        self.env.pop("RAY_ADDRESS", None)

    @property
    def ray(self) -> str:
        """The `ray` command of the test virtualenv."""
        return str(VENV / "bin" / "ray")

    def _node_args(self, name: str) -> list[str]:
        resources = {f"neocloud_node_{name}": 1, f"neocloud_gpu_{GPU_TYPE}": GPUS_PER_NODE}
        return [
            "--node-ip-address=127.0.0.1",
            f"--num-gpus={GPUS_PER_NODE}",
            "--num-cpus=4",
            f"--resources={json.dumps(resources)}",
            f"--object-store-memory={OBJECT_STORE_BYTES}",
            f"--node-manager-port={self.manager_ports[name]}",
            f"--object-manager-port={_free_port()}",
            f"--dashboard-agent-listen-port={_free_port()}",
            f"--dashboard-agent-grpc-port={_free_port()}",
            f"--runtime-env-agent-port={_free_port()}",
            f"--metrics-export-port={_free_port()}",
            "--disable-usage-stats",
        ]

    def _ray_start(self, args: list[str]) -> None:
        done = subprocess.run(
            [self.ray, "start", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")

    def start(self) -> RayCluster:
        """Start the head (n1, with the dashboard that serves the Jobs API) and the worker (n2).

        A start that fails part-way stops what it started: no Ray process outlives its test run.
        """
        self.run.mkdir(parents=True, exist_ok=True)
        head, *workers = self.nodes
        try:
            self._ray_start(
                [
                    "--head",
                    f"--port={self.gcs_port}",
                    "--dashboard-host=127.0.0.1",
                    f"--dashboard-port={self.dashboard_port}",
                    "--include-dashboard=true",
                    f"--temp-dir={self.run}",
                    *self._node_args(head),
                ]
            )
            for name in workers:
                self.start_node(name)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def start_node(self, name: str) -> None:
        """Start (or restart) a worker node."""
        self.manager_ports[name] = _free_port()
        self._ray_start([f"--address=127.0.0.1:{self.gcs_port}", *self._node_args(name)])

    def alive_nodes(self) -> set[str]:
        """Names of the nodes Ray lists alive (from their custom resource)."""
        try:
            r = httpx.get(f"{self.address}/api/v0/nodes", params={"detail": "1"}, timeout=5)
            rows = r.json()["data"]["result"]["result"]
        except (httpx.HTTPError, ValueError, KeyError):
            return set()
        names = set()
        for row in rows:
            if row.get("state") != "ALIVE":
                continue
            for key in row.get("resources_total", {}):
                if key.startswith("neocloud_node_"):
                    names.add(key.removeprefix("neocloud_node_"))
        return names

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until every node is alive and the Jobs API answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive_nodes() == set(self.nodes):
                try:
                    if httpx.get(f"{self.address}/api/jobs/", timeout=5).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        raise RuntimeError(f"Ray did not come up: alive {sorted(self.alive_nodes())}")

    def raylet(self, name: str) -> list[int]:
        """PIDs of a node's raylet."""
        return _pids_with(f"--node_manager_port={self.manager_ports[name]}")

    def kill_node(self, name: str) -> None:
        """The node dies at once: its raylet and everything under it (workers, jobs) SIGKILLed."""
        pids = self.raylet(name)
        if not pids:
            raise RuntimeError(f"no raylet for node {name}")
        _kill([p for pid in pids for p in [pid, *_children(pid)]])

    def stop(self) -> None:
        """Stop every Ray process of this cluster (by PID) and remove its files."""
        pids: list[int] = []
        for name in self.nodes:
            for pid in self.raylet(name):
                pids.extend([pid, *_children(pid)])
        # The head's GCS, dashboard and monitors carry the session dir in their command lines.
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(self.run).encode() in cmdline or f":{self.gcs_port}".encode() in cmdline:
                pids.append(int(entry.name))
                pids.extend(_children(int(entry.name)))
        pids = [p for p in dict.fromkeys(pids) if p != os.getpid()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        time.sleep(1)
        _kill(pids)
        shutil.rmtree(self.run, ignore_errors=True)
