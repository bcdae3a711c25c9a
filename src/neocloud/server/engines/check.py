"""The fleet file against what each engine reports: node by node, and engine by engine.

Used by the control loop (every few seconds: a node that went down or was drained leaves the
schedulable set, and returns when its engine lists it up again), at start-up, and by
`neocloud fleet check`, which shows every problem with how to fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.engines.base import EngineConfigError, EngineError, EngineNode, NodeHealth
from neocloud.server.engines.health import EngineAvailability, NodeAvailability
from neocloud.server.engines.registry import EngineRegistry
from neocloud.store.models import NodeRow

log = logging.getLogger("neocloud.engines")


@dataclass(frozen=True, slots=True)
class DeclaredNode:
    """A node as the fleet file declares it."""

    name: str
    cluster: str
    kind: str
    gpu_type: str
    gpus: int


@dataclass(frozen=True, slots=True)
class NodeReport:
    """One node's state through its engine."""

    name: str
    state: NodeAvailability
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterReport:
    """One cluster: its engine's state, what is wrong and how to fix it, and its nodes."""

    cluster: str
    kind: str
    engine: str | None
    state: EngineAvailability
    message: str | None = None
    nodes: list[NodeReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The engine answers and every node is up as declared."""
        return self.state is EngineAvailability.OK and all(
            n.state is NodeAvailability.UP for n in self.nodes
        )


def declared_nodes(s: Session) -> list[DeclaredNode]:
    """The fleet's current nodes (retired ones are gone from the file)."""
    return [
        DeclaredNode(n.name, n.cluster, n.engine, n.gpu_type, n.gpus)
        for n in s.scalars(
            select(NodeRow).where(NodeRow.retired.is_(False)).order_by(NodeRow.name)
        ).all()
    ]


def compare(
    declared: Sequence[DeclaredNode], inventory: Sequence[EngineNode], kind: str
) -> dict[str, tuple[NodeAvailability, str | None]]:
    """Each declared node's state given what its engine lists."""
    listed = {n.name: n for n in inventory}
    out: dict[str, tuple[NodeAvailability, str | None]] = {}
    for node in declared:
        seen = listed.get(node.name)
        if seen is None:
            out[node.name] = (
                NodeAvailability.MISSING,
                f"{kind} does not list node {node.name}: fix its name in the fleet file, or "
                "the cluster's engine_options (partition)",
            )
        elif seen.gpu_type != node.gpu_type or seen.gpus < node.gpus:
            has = f"{seen.gpus} × {seen.gpu_type}" if seen.gpus else "no GPUs"
            out[node.name] = (
                NodeAvailability.MISMATCH,
                f"the fleet file declares {node.gpus} × {node.gpu_type} but {kind} has {has}: "
                f"fix gpu_type/gpus in the fleet file or the node's GPUs in {kind}",
            )
        elif seen.state is NodeHealth.DOWN:
            out[node.name] = (NodeAvailability.DOWN, seen.reason or f"down in {kind}")
        elif seen.state is NodeHealth.DRAIN:
            out[node.name] = (NodeAvailability.DRAIN, seen.reason or f"drained in {kind}")
        else:
            out[node.name] = (NodeAvailability.UP, None)
    return out


def refresh(
    registry: EngineRegistry,
    declared: Sequence[DeclaredNode],
    now: datetime,
    respect_backoff: bool = False,
) -> list[ClusterReport]:
    """Ask every engine for its inventory now; record engine and node conditions; report.

    With `respect_backoff`, a degraded engine whose next retry is not due is not asked (the
    control loop); an operator's `fleet check` asks every engine at once.
    """
    by_engine: dict[str, list[DeclaredNode]] = {}
    reports: list[ClusterReport] = []
    clusters: dict[str, list[DeclaredNode]] = {}
    for node in declared:
        clusters.setdefault(node.cluster, []).append(node)
    for cluster, nodes in sorted(clusters.items()):
        kind = nodes[0].kind
        name = registry.name_for(cluster, kind)
        if name is None:
            problem = registry.broken.get(cluster) or (
                f"no {kind} engine is configured for this cluster"
            )
            reports.append(
                ClusterReport(cluster, kind, None, EngineAvailability.MISCONFIGURED, problem, [])
            )
            continue
        by_engine.setdefault(name, []).extend(nodes)
    results: dict[
        str, tuple[EngineAvailability, str | None, dict[str, tuple[NodeAvailability, str | None]]]
    ] = {}
    for name, nodes in by_engine.items():
        kind = nodes[0].kind
        if respect_backoff and not registry.health.ready(name):
            condition = registry.health.engine(name)
            results[name] = (
                condition.state if condition else EngineAvailability.DEGRADED,
                condition.message if condition else None,
                {},
            )
            continue
        try:
            inventory = registry.get(name).inventory()
        except EngineConfigError as exc:
            registry.health.misconfigured(name, str(exc), now)
            results[name] = (EngineAvailability.MISCONFIGURED, str(exc), {})
            continue
        except EngineError as exc:
            registry.health.failed(name, str(exc), now)
            results[name] = (EngineAvailability.DEGRADED, str(exc), {})
            continue
        if registry.health.succeeded(name, now):
            log.warning("engine %s answers again", name)
        conditions = compare(nodes, inventory, kind)
        for sentence in registry.health.set_nodes(conditions, now):
            log.warning("%s: %s", name, sentence)
        results[name] = (EngineAvailability.OK, None, conditions)
    for name, nodes in by_engine.items():
        state, message, conditions = results[name]
        for cluster in sorted({n.cluster for n in nodes}):
            reports.append(
                ClusterReport(
                    cluster,
                    nodes[0].kind,
                    name,
                    state,
                    message,
                    [
                        NodeReport(n.name, *conditions[n.name])
                        for n in nodes
                        if n.cluster == cluster and n.name in conditions
                    ],
                )
            )
    return sorted(reports, key=lambda r: r.cluster)


def last_known(registry: EngineRegistry, declared: Sequence[DeclaredNode]) -> list[ClusterReport]:
    """The conditions the control loop recorded last, without asking any engine."""
    clusters: dict[str, list[DeclaredNode]] = {}
    for node in declared:
        clusters.setdefault(node.cluster, []).append(node)
    reports = []
    for cluster, nodes in sorted(clusters.items()):
        kind = nodes[0].kind
        name = registry.name_for(cluster, kind)
        if name is None:
            problem = registry.broken.get(cluster) or f"no {kind} engine is configured"
            reports.append(
                ClusterReport(cluster, kind, None, EngineAvailability.MISCONFIGURED, problem)
            )
            continue
        condition = registry.health.engine(name)
        node_reports = []
        for n in nodes:
            c = registry.health.node(n.name)
            if c is not None:
                node_reports.append(NodeReport(n.name, c.state, c.message))
        reports.append(
            ClusterReport(
                cluster,
                kind,
                name,
                condition.state if condition else EngineAvailability.OK,
                condition.message if condition else None,
                node_reports,
            )
        )
    return reports


def summary_lines(reports: Sequence[ClusterReport]) -> list[str]:
    """One line per problem, for the start-up banner and the logs."""
    lines = []
    for r in reports:
        if r.state is not EngineAvailability.OK:
            lines.append(f"cluster {r.cluster} ({r.kind}): {r.state.value}: {r.message}")
        for n in r.nodes:
            if n.state is not NodeAvailability.UP:
                lines.append(f"cluster {r.cluster}: node {n.name} {n.state.value}: {n.message}")
    return lines
