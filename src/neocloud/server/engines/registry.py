"""Which engine runs which cluster: the control plane's registry of engine adapters.

Each cluster of the fleet file names its engine; `engines.factory` builds one adapter per Slurm
(or other remote) cluster and one local engine for every `local` cluster. A cluster whose engine
could not be built is kept here with the reason, so the rest of the fleet works and the operator
sees what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neocloud.engines.base import Engine, EngineHandle
from neocloud.server.engines.drain_policy import DEFAULT as DEFAULT_ON_DRAIN
from neocloud.server.engines.drain_policy import OnDrain
from neocloud.server.engines.health import EngineHealth


@dataclass
class EngineRegistry:
    """Engine adapters by name (the name their handles carry) and the cluster each serves."""

    engines: Mapping[str, Engine] = field(default_factory=dict)
    # cluster → name of its engine in `engines` (clusters not listed use the engine named after
    # their kind, e.g. `local`).
    clusters: Mapping[str, str] = field(default_factory=dict)
    # cluster → why its engine could not be built (misconfigured), with how to fix it.
    broken: Mapping[str, str] = field(default_factory=dict)
    # cluster → engine kind as the fleet file says (local, slurm, ray).
    kinds: Mapping[str, str] = field(default_factory=dict)
    # cluster → what to do with the running jobs of a node its engine reports drained.
    on_drain: Mapping[str, OnDrain] = field(default_factory=dict)
    health: EngineHealth = field(default_factory=EngineHealth)

    def available(self, name: str) -> bool:
        """True if an engine of that name is configured."""
        return name in self.engines

    def for_handle(self, handle: EngineHandle) -> Engine:
        """The engine that issued a handle."""
        return self.engines[handle.engine]

    def get(self, name: str) -> Engine:
        """An engine by name."""
        return self.engines[name]

    def name_for(self, cluster: str, kind: str) -> str | None:
        """The name of the engine that runs a cluster, or None if it has none that works."""
        if cluster in self.broken:
            return None
        name = self.clusters.get(cluster, kind)
        return name if name in self.engines else None

    def schedulable(self, cluster: str, kind: str, node: str) -> bool:
        """May new work be placed on this node: its engine exists, answers, and lists it up."""
        name = self.name_for(cluster, kind)
        return name is not None and self.health.usable(name) and self.health.node_schedulable(node)

    def drain_policy(self, cluster: str) -> OnDrain:
        """What the cluster does with the jobs of a drained node (requeue unless it says so)."""
        return self.on_drain.get(cluster, DEFAULT_ON_DRAIN)

    def close(self) -> None:
        """Release engine resources (jobs keep running)."""
        for engine in self.engines.values():
            engine.close()
