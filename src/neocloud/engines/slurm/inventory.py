"""A Slurm cluster's nodes as `sinfo --json` reports them: GPUs, health and sizes."""

from __future__ import annotations

from neocloud.engines.base import EngineNode
from neocloud.engines.slurm.cli import SlurmCli
from neocloud.engines.slurm.parse import gpu_gres, node_health


def read_inventory(cli: SlurmCli, partition: str | None) -> list[EngineNode]:
    """The nodes of a partition (every node if None) from `sinfo --json`, with GPUs and health."""
    document = cli.run_json("sinfo")
    nodes = []
    for raw in document.get("nodes", []):
        partitions = raw.get("partitions") or []
        if partition and partition not in partitions:
            continue
        gres = gpu_gres(str(raw.get("gres") or ""))
        gpu_type, count = (gres[0][0] or "gpu", gres[0][1]) if gres else ("", 0)
        health = node_health(str(raw.get("state", "")), list(raw.get("state_flags") or []))
        nodes.append(
            EngineNode(
                name=str(raw["name"]),
                gpu_type=gpu_type,
                gpus=count,
                state=health,
                labels={
                    "partitions": ",".join(partitions),
                    "cpus": str(raw.get("cpus") or 0),
                    "memory_mb": str(raw.get("real_memory") or 0),
                },
                reason=str(raw.get("reason") or "") or None,
            )
        )
    return nodes
