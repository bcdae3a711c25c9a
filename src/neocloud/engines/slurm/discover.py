"""A fleet file written from what a Slurm cluster reports, instead of by hand.

`neocloud fleet discover --slurm` prints it. The node model's cost inputs cannot be read from
Slurm: they are placeholders the operator replaces (the file says so where they are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import yaml

from neocloud.engines.base import EngineNode

PLACEHOLDER_MODEL = {
    "name": "replace-me",
    "capex_per_node": 400000,
    "life_years": 5,
    "power_kw_per_node": 10.2,
    "pue": 1.3,
    "price_per_kwh": 0.08,
}


def fleet_yaml(
    nodes: Sequence[EngineNode],
    cluster: str,
    region: str,
    engine_options: Mapping[str, str],
) -> str:
    """The fleet file for the GPU nodes of one Slurm cluster (nodes without GPUs are left out)."""
    entries = []
    for node in sorted(nodes, key=lambda n: n.name):
        if node.gpus <= 0:
            continue
        memory_gb = max(1, int(node.labels.get("memory_mb", "0") or 0) // 1024)
        entries.append(
            {
                "name": node.name,
                "gpu_type": node.gpu_type.lower(),
                "gpus": node.gpus,
                "cpus": max(1, int(node.labels.get("cpus", "1") or 1)),
                "memory_gb": memory_gb,
                "node_model": PLACEHOLDER_MODEL["name"],
            }
        )
    document = {
        "node_models": [PLACEHOLDER_MODEL],
        "regions": [
            {
                "name": region,
                "clusters": [
                    {
                        "name": cluster,
                        "engine": "slurm",
                        "engine_options": dict(engine_options),
                        "nodes": entries,
                    }
                ],
            }
        ],
    }
    header = (
        f"# Discovered from Slurm: {len(entries)} GPU nodes.\n"
        "# The node model's costs are placeholders (an 8-GPU H100 server): replace them with\n"
        "# your own, and add topology labels (nvlink_domain, rack) if you have them.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False)
