"""The one protocol every engine implements, and the plain values that cross it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from neocloud.scheduler.model import GpuSlot

# Capability flags an engine may declare (SkyPilot-style), so callers ask instead of guessing.
ADOPT_AFTER_RESTART = "adopt_after_restart"
LOGS = "logs"
GANGS = "gangs"


# The reason codes an engine puts before ': ' in EngineStatus.reason, which the control plane
# acts on, are the attempt rule's reasons for those ends (domain.attempts: CANCELLED,
# MAX_RUNTIME_EXCEEDED, NODE_FAILED, a node under the attempt died or was taken down).


class EngineError(Exception):
    """An engine refused or failed an operation; the message says why."""


class EngineUnavailable(EngineError):
    """The engine could not be reached (a command failed to connect or timed out).

    Nothing can be concluded about the work it runs: callers keep their records as they are and
    try again later, rather than treating attempts as lost.
    """


class EngineConfigError(EngineError):
    """The engine is set up wrongly (missing command, wrong path or option); the message says
    what is wrong and how to fix it. Retrying will not help until the configuration changes."""


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """One attempt of a job, as an engine needs it to start the work."""

    job_id: str
    attempt: int
    command: list[str]
    env: Mapping[str, str]
    working_dir: str | None
    placement: tuple[GpuSlot, ...]
    max_runtime_seconds: int
    grace_seconds: int
    # The org the attempt runs for: engines that isolate tenants map it to the attempt's OS
    # identity, so one org's work never runs as another's (or as the control plane's). An
    # unknown kind is treated as a stranger's: a caller that forgets it gets the tighter sandbox.
    org_id: str = ""
    org_kind: str = "external"

    def __post_init__(self) -> None:
        if not self.job_id:
            raise ValueError("job_id must be non-empty")
        if self.attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {self.attempt}")
        if not self.command:
            raise ValueError("command must name a program")
        if not self.placement:
            raise ValueError("placement must name at least one node")
        nodes = [slot.node for slot in self.placement]
        if len(set(nodes)) != len(nodes):
            raise ValueError(f"placement names a node twice: {nodes}")
        if self.max_runtime_seconds <= 0:
            raise ValueError(f"max_runtime_seconds must be > 0, got {self.max_runtime_seconds}")
        if self.grace_seconds < 0:
            raise ValueError(f"grace_seconds must be >= 0, got {self.grace_seconds}")


@dataclass(frozen=True, slots=True)
class EngineHandle:
    """Where an engine can find a launched attempt again; stored by the control plane."""

    engine: str
    id: str

    def __post_init__(self) -> None:
        if not self.engine or ":" in self.engine:
            raise ValueError(f"engine name must be non-empty without ':', got {self.engine!r}")
        if not self.id:
            raise ValueError("engine handle id must be non-empty")

    def to_str(self) -> str:
        """The handle as one string, e.g. `local:job-1/0`."""
        return f"{self.engine}:{self.id}"

    @classmethod
    def from_str(cls, text: str) -> EngineHandle:
        """Parse a string made by `to_str`."""
        engine, sep, ident = text.partition(":")
        if not sep:
            raise ValueError(f"not an engine handle (expected 'engine:id'): {text!r}")
        return cls(engine=engine, id=ident)


class EngineState(StrEnum):
    """What an engine knows about an attempt."""

    STARTING = "starting"
    RUNNING = "running"
    EXITED = "exited"
    # The attempt is gone without a recorded exit (node lost, supervisor killed, state wiped).
    LOST = "lost"

    @property
    def terminal(self) -> bool:
        """True once the attempt holds no resources any more."""
        return self in (EngineState.EXITED, EngineState.LOST)


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """An attempt's state and the facts the engine observed (times are UTC-aware)."""

    state: EngineState
    exit_code: int | None = None
    signal: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None
    # The GPUs the engine really gave the attempt, when it knows them and they may differ from
    # the placement asked for (Slurm chooses indices itself); None when they are the ones asked.
    placement: tuple[GpuSlot, ...] | None = None

    @property
    def reason_code(self) -> str | None:
        """The machine-readable part of `reason` (before the first ': ')."""
        if self.reason is None:
            return None
        return self.reason.partition(": ")[0]


@dataclass(frozen=True, slots=True)
class LogChunk:
    """A slice of an attempt's combined output; pass `next_offset` to continue."""

    data: bytes
    next_offset: int
    # True when the attempt has ended and nothing lies beyond next_offset.
    complete: bool


class NodeHealth(StrEnum):
    """Whether an engine can run work on a node."""

    UP = "up"
    # Takes no new work; what runs there runs to its end (Slurm's drain).
    DRAIN = "drain"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class EngineNode:
    """A node as an engine reports it."""

    name: str
    gpu_type: str
    gpus: int
    state: NodeHealth = NodeHealth.UP
    labels: Mapping[str, str] = field(default_factory=dict)
    # Why the node is drained or down, as the engine says it.
    reason: str | None = None


@runtime_checkable
class Engine(Protocol):
    """What runs jobs: launch, poll, cancel, logs, inventory. Nothing else is asked of it."""

    name: str
    capabilities: frozenset[str]

    def launch(self, spec: LaunchSpec) -> EngineHandle:
        """Start an attempt; launching the same (job_id, attempt) again returns the same handle.

        Raises EngineUnavailable when the engine cannot be reached (the attempt may or may not
        have been started: a later launch finds it), EngineError when the engine refuses it.
        """
        ...

    def poll(self, handle: EngineHandle) -> EngineStatus:
        """The attempt's current state; never blocks on the work itself."""
        ...

    def cancel(self, handle: EngineHandle, grace_seconds: int) -> None:
        """SIGTERM now and SIGKILL after the grace, enforced by the engine; returns at once."""
        ...

    def logs(self, handle: EngineHandle, offset: int, limit: int) -> LogChunk:
        """Up to `limit` bytes of combined output starting at byte `offset`."""
        ...

    def inventory(self) -> list[EngineNode]:
        """The nodes this engine can run work on, with their health."""
        ...

    def close(self) -> None:
        """Release the engine's own resources; running work keeps running."""
        ...
