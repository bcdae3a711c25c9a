"""The Ray engine: neocloud places the work, Ray runs it exactly there, driven over HTTP.

- launch: one Ray job per node of the placement (`POST /api/jobs/`), each pinned to its node by
  that node's custom resource `neocloud_node_<name>` (every node of the cluster is started with
  `--resources='{"neocloud_node_<name>": 1}'`; a job asks for a sliver of it, so many fit). The
  job asks Ray for no GPUs: Ray would choose GPU indices itself, so the runner (`ray.runner`)
  sets CUDA_VISIBLE_DEVICES to the indices neocloud chose. Submission ids are
  `nc-<job id>-<attempt>-<rank>`: a launch repeated after a crash finds the jobs it already
  submitted instead of submitting them twice.
- poll: `GET /api/jobs/{id}` per rank, plus the facts the runner keeps on its node (exact start,
  heartbeat, exit) read through the State API; a gang ends as a whole: once one rank fails or its
  node dies, the other ranks are stopped.
- cancel: `POST /api/jobs/{id}/stop` per rank: Ray sends SIGTERM to every process of the rank
  and SIGKILL after `RAY_JOB_STOP_WAIT_TIME_S`, which each job carries in its runtime env as the
  attempt's grace (Ray's default is 3 s).
- logs: rank 0's output from `GET /api/jobs/{id}/logs`; inventory: `GET /api/v0/nodes`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neocloud.domain.attempts import CANCELLED, NODE_FAILED
from neocloud.engines.base import (
    ADOPT_AFTER_RESTART,
    GANGS,
    LOGS,
    EngineConfigError,
    EngineError,
    EngineHandle,
    EngineNode,
    EngineState,
    EngineStatus,
    EngineUnavailable,
    LaunchSpec,
    LogChunk,
    NodeHealth,
)
from neocloud.engines.log_chunks import check_window, chunk_of_bytes
from neocloud.engines.placement import SAFE_ID, check_env_names, check_placement
from neocloud.engines.ray.api import RayApi
from neocloud.engines.ray.options import RayOptions

KIND = "ray"
NODE_RESOURCE_PREFIX = "neocloud_node_"
GPU_TYPE_RESOURCE_PREFIX = "neocloud_gpu_"
_ACCELERATOR_PREFIX = "accelerator_type:"
# How much of its node's custom resource one rank asks for (Ray counts to 1e-4).
NODE_SHARE = 0.001
_RUNNER = (Path(__file__).parent / "runner.py").read_text()
_WAITING = ("PENDING",)
_ENDED = ("SUCCEEDED", "FAILED", "STOPPED")
# The lines Ray itself writes into a job's log before the command's output.
_RAY_SETUP_LINE = re.compile(r"^[0-9-]+ [0-9:,]+\tINFO job_manager\.py:\d+ -- .*\n", re.M)


def submission_id(job_id: str, attempt: int, rank: int) -> str:
    """The Ray submission id of one rank of an attempt: how a repeated launch finds it."""
    return f"nc-{job_id}-{attempt}-{rank}"


@dataclass(frozen=True, slots=True)
class _Rank:
    """One rank as last read: Ray's job record and the runner's facts (epoch seconds)."""

    status: str
    job: dict[str, Any]
    facts: dict[str, Any]
    node_dead_at: float | None = None


class RayEngine:
    """Runs job attempts as Ray jobs on one Ray cluster, through its dashboard's REST APIs."""

    capabilities: frozenset[str] = frozenset({ADOPT_AFTER_RESTART, LOGS, GANGS})

    def __init__(
        self,
        cluster: str,
        options: RayOptions,
        nodes: Sequence[EngineNode],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = f"{KIND}.{cluster}"
        self.cluster = cluster
        self.options = options
        self.api = RayApi(options)
        self._nodes = {n.name: n for n in nodes}
        self._clock = clock
        self._lock = threading.Lock()
        # Facts last read per submission id: a node that dies takes its runner's file with it.
        self._facts: dict[str, dict[str, Any]] = {}
        self._final: dict[str, EngineStatus] = {}
        self._listing: list[dict[str, Any]] = []
        self._listed_at: float | None = None

    # -- launch ------------------------------------------------------------------------------
    def launch(self, spec: LaunchSpec) -> EngineHandle:
        """Submit one Ray job per node; a repeated launch returns the jobs already submitted."""
        check_placement(spec, self._nodes, self.cluster)
        check_env_names(spec.env)
        digest = _digest(spec)
        alive = {n.name for n in self._inventory(fresh=False) if n.state is NodeHealth.UP}
        for rank, slot in enumerate(spec.placement):
            sid = submission_id(spec.job_id, spec.attempt, rank)
            existing = self.api.job(sid)
            if existing is not None:
                if (existing.get("metadata") or {}).get("neocloud_spec") != digest:
                    raise EngineError(
                        f"attempt {spec.job_id}/{spec.attempt} was already launched with another "
                        f"spec (Ray job {sid})"
                    )
                continue
            if slot.node not in alive:
                # Ray would keep the job pending until its start timeout: refuse now instead.
                raise EngineError(
                    f"placement: node {slot.node} is not alive in Ray (no live node has the "
                    f"resource {NODE_RESOURCE_PREFIX}{slot.node})"
                )
            self.api.submit(self._job_body(spec, rank, sid, digest))
        return EngineHandle(self.name, f"{spec.job_id}/{spec.attempt}/{len(spec.placement)}")

    def _job_body(self, spec: LaunchSpec, rank: int, sid: str, digest: str) -> dict[str, Any]:
        slot = spec.placement[rank]
        env = {
            **spec.env,
            "NEOCLOUD_JOB_ID": spec.job_id,
            "NEOCLOUD_ATTEMPT": str(spec.attempt),
            "NEOCLOUD_GPUS": str(len(slot.gpu_indices)),
            "NEOCLOUD_NUM_NODES": str(len(spec.placement)),
            "NEOCLOUD_NODE_NAME": slot.node,
            "NEOCLOUD_NODE_RANK": str(rank),
            "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in slot.gpu_indices),
        }
        runner = {
            "submission_id": sid,
            "command": list(spec.command),
            "env": env,
            "cwd": spec.working_dir,
            "max_runtime_seconds": spec.max_runtime_seconds,
            "grace_seconds": spec.grace_seconds,
        }
        return {
            "submission_id": sid,
            "entrypoint": " ".join(
                [_quote(self.options.python), "-c", _quote(_RUNNER), _quote(json.dumps(runner))]
            ),
            "entrypoint_resources": {f"{NODE_RESOURCE_PREFIX}{slot.node}": NODE_SHARE},
            "entrypoint_num_gpus": 0,
            "entrypoint_num_cpus": 0,
            # Read by Ray's job supervisor: the grace between SIGTERM and SIGKILL on stop.
            "runtime_env": {"env_vars": {"RAY_JOB_STOP_WAIT_TIME_S": str(spec.grace_seconds)}},
            "metadata": {
                "neocloud_job": spec.job_id,
                "neocloud_attempt": str(spec.attempt),
                "neocloud_rank": str(rank),
                "neocloud_spec": digest,
            },
        }

    # -- poll --------------------------------------------------------------------------------
    def poll(self, handle: EngineHandle) -> EngineStatus:
        """The attempt's state from its ranks' Ray jobs and their runners' facts."""
        job_id, attempt, ranks = self._parse(handle)
        with self._lock:
            final = self._final.get(handle.id)
        if final is not None:
            return final
        read = [self._rank(submission_id(job_id, attempt, r)) for r in range(ranks)]
        if any(r is None for r in read):
            return EngineStatus(
                EngineState.LOST,
                reason=f"not_found: Ray has no job {submission_id(job_id, attempt, 0)}",
            )
        states = [r for r in read if r is not None]
        status = self._combine(job_id, attempt, states)
        if status.state.terminal:
            with self._lock:
                self._final[handle.id] = status
        return status

    def _rank(self, sid: str) -> _Rank | None:
        job = self.api.job(sid)
        if job is None:
            return None
        status = str(job.get("status", "")).upper()
        node_id = job.get("driver_node_id")
        facts = dict(self._facts.get(sid, {}))
        node_dead_at = None
        if status not in _WAITING and node_id and "ended" not in facts:
            fresh = self.api.node_file(str(node_id), f"neocloud-{sid}.json")
            if fresh is not None:
                facts = fresh
                with self._lock:
                    self._facts[sid] = fresh
            if status in _ENDED and "ended" not in facts:
                node_dead_at = self._node_death(str(node_id))
        return _Rank(status, job, facts, node_dead_at)

    def _combine(self, job_id: str, attempt: int, ranks: list[_Rank]) -> EngineStatus:
        """One status for the attempt from its ranks; a gang ends as a whole."""
        starts = [r.facts["started"] for r in ranks if "started" in r.facts]
        started = min(starts) if starts else None
        failed_nodes = [r for r in ranks if _node_failed(r)]
        bad = [r for r in ranks if r.status in _ENDED and _exit_of(r) != (0, None)]
        running = [r for r in ranks if r.status not in _ENDED]
        if (failed_nodes or bad) and running:
            # One rank failed or lost its node: the gang cannot go on, stop the others now.
            for r in running:
                self.api.stop(str(r.job["submission_id"]))
        if running:
            if all(r.status in _WAITING for r in running) and started is None:
                return EngineStatus(EngineState.STARTING, reason="pending: waiting in Ray")
            return EngineStatus(EngineState.RUNNING, started_at=_utc(started))
        if failed_nodes:
            # The job's last sign of life, else the moment Ray declared its node dead.
            lasts = [_last_sign_of_life(r) for r in failed_nodes]
            ended = min(t for t in lasts if t is not None) if any(lasts) else self._clock()
            if started is not None:
                ended = max(ended, started)
            names = sorted({str(r.job.get("driver_node_id", "?"))[:12] for r in failed_nodes})
            return EngineStatus(
                EngineState.LOST,
                started_at=_utc(started),
                ended_at=_utc(ended),
                reason=f"{NODE_FAILED}: the Ray node under it died (node ids {', '.join(names)})",
            )
        ends = [_end_of(r) for r in ranks]
        ended_at = max(e for e in ends if e is not None) if any(ends) else self._clock()
        if started is not None:
            ended_at = max(ended_at, started)
        first_bad = bad[0] if bad else ranks[0]
        code, sig = _exit_of(first_bad)
        reason = None
        if any(r.facts.get("reason") for r in ranks):
            reason = next(str(r.facts["reason"]) for r in ranks if r.facts.get("reason"))
        elif any(r.status == "STOPPED" for r in ranks):
            reason = CANCELLED
        elif first_bad.status == "FAILED" and "ended" not in first_bad.facts:
            message = str(first_bad.job.get("message") or "").splitlines()
            reason = f"ray_failed: {message[0] if message else 'Ray reports the job failed'}"
        return EngineStatus(
            EngineState.EXITED,
            exit_code=code,
            signal=sig,
            started_at=_utc(started),
            ended_at=_utc(ended_at),
            reason=reason,
        )

    def _node_death(self, node_id: str) -> float | None:
        """When Ray declared a node dead (epoch seconds), or None if it is alive or unknown."""
        for row in self._listing_rows(fresh=True):
            if row.get("node_id") == node_id and row.get("state") == "DEAD":
                end = row.get("end_time_ms") or 0
                return float(end) / 1000 if end else self._clock()
        return None

    # -- cancel ------------------------------------------------------------------------------
    def cancel(self, handle: EngineHandle, grace_seconds: int) -> None:
        """Stop every rank: SIGTERM now, SIGKILL after the attempt's grace (Ray-enforced).

        The grace is the one the attempt was launched with (Ray reads it from the job's runtime
        env when the job starts); a different `grace_seconds` here cannot change it.
        """
        if grace_seconds < 0:
            raise ValueError(f"grace_seconds must be >= 0, got {grace_seconds}")
        job_id, attempt, ranks = self._parse(handle)
        for rank in range(ranks):
            sid = submission_id(job_id, attempt, rank)
            job = self.api.job(sid)
            if job is not None and str(job.get("status", "")).upper() not in _ENDED:
                self.api.stop(sid)

    # -- logs, inventory -----------------------------------------------------------------------
    def logs(self, handle: EngineHandle, offset: int, limit: int) -> LogChunk:
        """Up to `limit` bytes of rank 0's output from byte `offset` (Ray's own lines left out)."""
        check_window(offset, limit)
        job_id, attempt, _ = self._parse(handle)
        try:
            ended = self.poll(handle).state.terminal
        except EngineUnavailable:
            ended = False
        sid = submission_id(job_id, attempt, 0)
        job = self.api.job(sid) or {}
        text = _RAY_SETUP_LINE.sub("", self.api.logs(sid))
        # Ray writes the whole entrypoint (the runner's source) into the log: leave it out.
        text = text.replace(f"Running entrypoint for job {sid}: {job.get('entrypoint')}\n", "", 1)
        return chunk_of_bytes(text.encode(), offset, limit, ended)

    def inventory(self) -> list[EngineNode]:
        """The cluster's nodes that carry a `neocloud_node_<name>` resource, from the State API."""
        return self._inventory(fresh=True)

    def _inventory(self, fresh: bool) -> list[EngineNode]:
        nodes: dict[str, EngineNode] = {}
        for row in self._listing_rows(fresh):
            node = node_from_row(row)
            if node is None:
                continue
            # A node restarted under the same name is listed twice: the live one wins.
            if node.name not in nodes or node.state is NodeHealth.UP:
                nodes[node.name] = node
        return [nodes[name] for name in sorted(nodes)]

    def _listing_rows(self, fresh: bool) -> list[dict[str, Any]]:
        with self._lock:
            now = time.monotonic()
            if (
                not fresh
                and self._listed_at is not None
                and now - self._listed_at < self.options.poll_cache_seconds
            ):
                return self._listing
        rows = self.api.nodes()
        with self._lock:
            self._listing, self._listed_at = rows, time.monotonic()
        return rows

    def check(self) -> None:
        """Raise EngineConfigError when the address is not a Ray dashboard (start-up check)."""
        try:
            self.api.version()
        except EngineUnavailable:
            raise
        except EngineError as exc:
            raise EngineConfigError(
                f"engine_options.address {self.options.address} is not a Ray dashboard: {exc}; "
                "give the URL of the head's dashboard (port 8265 unless --dashboard-port says "
                "otherwise)"
            ) from exc

    def close(self) -> None:
        """Close the HTTP client: Ray keeps running the work."""
        self.api.close()

    # -- helpers ------------------------------------------------------------------------------
    def _parse(self, handle: EngineHandle) -> tuple[str, int, int]:
        """(job id, attempt, number of ranks) from a handle this engine issued."""
        if handle.engine != self.name:
            raise EngineError(f"handle of engine {handle.engine!r} given to {self.name}")
        parts = handle.id.split("/")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            raise EngineError(f"malformed Ray handle id {handle.id!r}")
        if not SAFE_ID.fullmatch(parts[0]) or int(parts[2]) < 1:
            raise EngineError(f"malformed Ray handle id {handle.id!r}")
        return parts[0], int(parts[1]), int(parts[2])


def node_from_row(row: dict[str, Any]) -> EngineNode | None:
    """A neocloud node from one row of `/api/v0/nodes` (None if it names no neocloud node)."""
    resources: dict[str, float] = row.get("resources_total") or {}
    names = [
        k.removeprefix(NODE_RESOURCE_PREFIX)
        for k in resources
        if k.startswith(NODE_RESOURCE_PREFIX)
    ]
    if len(names) != 1:
        return None
    types = [
        k.removeprefix(GPU_TYPE_RESOURCE_PREFIX)
        for k in resources
        if k.startswith(GPU_TYPE_RESOURCE_PREFIX)
    ] or [
        k.removeprefix(_ACCELERATOR_PREFIX).lower()
        for k in resources
        if k.startswith(_ACCELERATOR_PREFIX)
    ]
    state = str(row.get("state", "")).upper()
    health = NodeHealth.UP if state == "ALIVE" else NodeHealth.DOWN
    return EngineNode(
        name=names[0],
        gpu_type=types[0] if len(types) == 1 else "",
        gpus=int(resources.get("GPU", 0)),
        state=health,
        labels={
            "ray_node_id": str(row.get("node_id", "")),
            "cpus": str(int(resources.get("CPU", 0))),
        },
        reason=None if health is NodeHealth.UP else (row.get("state_message") or f"{state} in Ray"),
    )


def _node_failed(r: _Rank) -> bool:
    """A rank whose node died under it (Ray lost the supervisor and the runner never ended)."""
    return r.status == "FAILED" and "ended" not in r.facts and r.node_dead_at is not None


def _last_sign_of_life(r: _Rank) -> float | None:
    beat = r.facts.get("beat")
    if isinstance(beat, int | float):
        return min(float(beat), r.node_dead_at) if r.node_dead_at else float(beat)
    return r.node_dead_at


def _exit_of(r: _Rank) -> tuple[int | None, int | None]:
    """(exit code, signal) of an ended rank: the runner's record, else Ray's driver exit code."""
    if "signal" in r.facts:
        return None, int(r.facts["signal"])
    if "exit" in r.facts:
        return int(r.facts["exit"]), None
    code = r.job.get("driver_exit_code")
    if isinstance(code, int):
        return code, None
    if r.status == "SUCCEEDED":
        return 0, None
    if r.status == "STOPPED" and "started" in r.facts:
        # The runner was SIGKILLed with the command at the end of the grace.
        return None, 9
    return None, None


def _end_of(r: _Rank) -> float | None:
    if isinstance(r.facts.get("ended"), int | float):
        return float(r.facts["ended"])
    end = r.job.get("end_time")
    return float(end) / 1000 if isinstance(end, int | float) and end else None


def _digest(spec: LaunchSpec) -> str:
    """What defines an attempt, hashed: a second launch must match it exactly."""
    identity = {
        "command": list(spec.command),
        "env": dict(spec.env),
        "working_dir": spec.working_dir,
        "placement": [[s.node, list(s.gpu_indices)] for s in spec.placement],
        "max_runtime_seconds": spec.max_runtime_seconds,
        "grace_seconds": spec.grace_seconds,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _quote(text: str) -> str:
    """Quote for the POSIX shell Ray runs the entrypoint with."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
