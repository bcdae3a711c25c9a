"""Checks every engine makes of what it is asked to launch: ids, environment names, placement."""

from __future__ import annotations

import re
from collections.abc import Mapping

from neocloud.domain.job_limits import ENV_NAME
from neocloud.engines.base import EngineError, EngineNode, LaunchSpec

# Ids become file, directory and engine job names: a safe alphabet only.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_id(value: str, what: str) -> None:
    """Raise EngineError unless value uses the safe id alphabet."""
    if not SAFE_ID.fullmatch(value):
        raise EngineError(f"{what} {value!r} may use only letters, digits, '.', '_' and '-'")


def check_env_names(env: Mapping[str, str]) -> None:
    """Raise EngineError naming every key of env that is not a shell variable name."""
    bad = [k for k in env if not ENV_NAME.fullmatch(k)]
    if bad:
        raise EngineError(f"env: not a variable name: {', '.join(map(repr, bad))}")


def check_placement(spec: LaunchSpec, nodes: Mapping[str, EngineNode], cluster: str) -> str:
    """Every slot names a node of the cluster and GPUs it has, once each; returns the GPU type.

    A gang runs on one GPU type.
    """
    check_id(spec.job_id, "job_id")
    types = set()
    for slot in spec.placement:
        node = nodes.get(slot.node)
        if node is None:
            raise EngineError(f"placement: unknown node {slot.node!r} (not in cluster {cluster})")
        if not slot.gpu_indices:
            raise EngineError(f"placement: no GPU indices on node {slot.node}")
        bad = [i for i in slot.gpu_indices if not 0 <= i < node.gpus]
        if bad:
            raise EngineError(f"placement: node {slot.node} has GPUs 0..{node.gpus - 1}, got {bad}")
        if len(set(slot.gpu_indices)) != len(slot.gpu_indices):
            raise EngineError(f"placement: GPU index repeated on node {slot.node}")
        types.add(node.gpu_type)
    if len(types) != 1:
        raise EngineError(f"placement: a gang must use one GPU type, got {sorted(types)}")
    return types.pop()
