"""What the control plane knows of each engine's health, and of each node as its engine reports it.

An engine that cannot be reached is *degraded*: calls to it are retried with exponential backoff
(1 s doubling up to a minute) rather than on every tick, its nodes take no new work, and the jobs
it runs keep their state: an engine we cannot read is never taken to mean lost work. Shared by the
control loop (which writes) and the API (which reads), hence the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0


class EngineAvailability(StrEnum):
    """An engine as the control plane sees it."""

    OK = "ok"
    # Could not be reached lately; retried with backoff.
    DEGRADED = "degraded"
    # Could not be built or is set up wrongly; retrying will not help until it is fixed.
    MISCONFIGURED = "misconfigured"


@dataclass(frozen=True, slots=True)
class EngineCondition:
    """One engine's state, since when, and the last error if it is not ok."""

    state: EngineAvailability
    since: datetime
    message: str | None = None
    failures: int = 0
    retry_in_seconds: float | None = None


class NodeAvailability(StrEnum):
    """A node as the control plane sees it through its engine."""

    UP = "up"
    DRAIN = "drain"
    DOWN = "down"
    # The engine does not list the node at all.
    MISSING = "missing"
    # The engine lists it with other GPUs than the fleet file declares.
    MISMATCH = "mismatch"

    @property
    def schedulable(self) -> bool:
        """Only an up node takes new work."""
        return self is NodeAvailability.UP


@dataclass(frozen=True, slots=True)
class NodeCondition:
    """A node's state as last read from its engine, and why when it is not up."""

    state: NodeAvailability
    since: datetime
    message: str | None = None


class EngineHealth:
    """Engine and node conditions, and when each degraded engine may be tried again."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # Backoff waits run on the monotonic timer; the times shown (`since`) are the caller's
        # clock readings, passed in as `now`.
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._engines: dict[str, EngineCondition] = {}
        self._retry_at: dict[str, float] = {}
        self._nodes: dict[str, NodeCondition] = {}

    # -- engines -----------------------------------------------------------------------------
    def ready(self, engine: str) -> bool:
        """True unless the engine is degraded and its next retry is not due yet."""
        with self._lock:
            due = self._retry_at.get(engine)
            return due is None or self._monotonic() >= due

    def failed(self, engine: str, error: str, now: datetime) -> EngineCondition:
        """Record a failed call: the engine is degraded and waits longer before the next try."""
        with self._lock:
            old = self._engines.get(engine)
            failures = (old.failures if old and old.state is EngineAvailability.DEGRADED else 0) + 1
            wait = min(BACKOFF_FIRST_SECONDS * 2 ** (failures - 1), BACKOFF_MAX_SECONDS)
            self._retry_at[engine] = self._monotonic() + wait
            since = old.since if old and old.state is EngineAvailability.DEGRADED else now
            condition = EngineCondition(
                EngineAvailability.DEGRADED, since, error[:500], failures, wait
            )
            self._engines[engine] = condition
            return condition

    def succeeded(self, engine: str, now: datetime) -> bool:
        """Record a successful call; True if the engine was degraded until now."""
        with self._lock:
            self._retry_at.pop(engine, None)
            old = self._engines.get(engine)
            if old is not None and old.state is EngineAvailability.OK:
                return False
            self._engines[engine] = EngineCondition(EngineAvailability.OK, now)
            return old is not None

    def misconfigured(self, engine: str, problem: str, now: datetime) -> None:
        """Record that an engine is set up wrongly (until it is rebuilt)."""
        with self._lock:
            self._engines[engine] = EngineCondition(
                EngineAvailability.MISCONFIGURED, now, problem[:1000]
            )

    def engine(self, engine: str) -> EngineCondition | None:
        """An engine's condition (None before anything was tried)."""
        with self._lock:
            condition = self._engines.get(engine)
            due = self._retry_at.get(engine)
            if condition is not None and due is not None:
                left = max(0.0, due - self._monotonic())
                condition = replace(condition, retry_in_seconds=round(left, 1))
            return condition

    def usable(self, engine: str) -> bool:
        """True unless the engine is degraded or misconfigured."""
        condition = self.engine(engine)
        return condition is None or condition.state is EngineAvailability.OK

    # -- nodes -------------------------------------------------------------------------------
    def set_nodes(
        self, conditions: Mapping[str, tuple[NodeAvailability, str | None]], now: datetime
    ) -> list[str]:
        """Record nodes' conditions from an inventory; returns a sentence per node that changed."""
        changed = []
        with self._lock:
            for name, (state, message) in conditions.items():
                old = self._nodes.get(name)
                if old is not None and (old.state, old.message) == (state, message):
                    continue
                self._nodes[name] = NodeCondition(state, now, message)
                if old is not None or state is not NodeAvailability.UP:
                    was = old.state.value if old else "unknown"
                    changed.append(f"node {name}: {was} → {state.value}" + _why(message))
        return changed

    def node(self, name: str) -> NodeCondition | None:
        """A node's condition (None before its engine's first inventory)."""
        with self._lock:
            return self._nodes.get(name)

    def node_schedulable(self, name: str) -> bool:
        """False once the engine reported the node anything but up; unknown nodes are usable."""
        condition = self.node(name)
        return condition is None or condition.state.schedulable


def _why(message: str | None) -> str:
    return f" ({message})" if message else ""
