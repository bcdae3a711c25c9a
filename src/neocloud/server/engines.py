"""Which engine runs which node: the control plane's registry of engine adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from neocloud.engines.base import Engine, EngineHandle


@dataclass
class EngineRegistry:
    """Engine adapters by name (`local`, later `slurm`, `ray`); nodes name theirs in the fleet."""

    engines: Mapping[str, Engine] = field(default_factory=dict)

    def available(self, name: str) -> bool:
        """True if an engine of that name is configured."""
        return name in self.engines

    def for_handle(self, handle: EngineHandle) -> Engine:
        """The engine that issued a handle."""
        return self.engines[handle.engine]

    def get(self, name: str) -> Engine:
        """An engine by name."""
        return self.engines[name]

    def close(self) -> None:
        """Release engine resources (jobs keep running)."""
        for engine in self.engines.values():
            engine.close()
