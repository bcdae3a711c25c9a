"""Build the engines a fleet file asks for: one local engine, one adapter per remote cluster.

Adding an engine kind means one builder here (plus its adapter and option rules in its own folder
under `neocloud.engines`); the scheduler and the control loops do not change.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from neocloud.domain.fleet import Cluster, Fleet, Isolation
from neocloud.engines.base import Engine, EngineConfigError, EngineNode
from neocloud.engines.local.engine import LocalEngine
from neocloud.engines.local.network import LocalNetwork
from neocloud.engines.tenant_users import TenantUsers
from neocloud.server.engines.drain_policy import OnDrain, on_drain
from neocloud.server.engines.registry import EngineRegistry

log = logging.getLogger("neocloud.engines")

# (cluster, its nodes, the control plane's data dir) → the cluster's engine.
Builder = Callable[[Cluster, Sequence[EngineNode], Path], Engine]


def _slurm(cluster: Cluster, nodes: Sequence[EngineNode], data_dir: Path) -> Engine:
    # Imported here: only fleets with Slurm clusters need the Slurm adapter.
    from neocloud.engines.slurm.engine import SlurmEngine
    from neocloud.engines.slurm.options import SlurmOptions

    default_dir = data_dir / "engine" / "slurm" / cluster.name
    options = SlurmOptions.from_engine_options(
        cluster.engine_options, default_dir, isolation=cluster.isolates.value
    )
    return SlurmEngine(cluster.name, options, nodes)


def _ray(cluster: Cluster, nodes: Sequence[EngineNode], data_dir: Path) -> Engine:
    from neocloud.engines.base import EngineUnavailable
    from neocloud.engines.ray.engine import RayEngine
    from neocloud.engines.ray.options import RayOptions

    engine = RayEngine(cluster.name, RayOptions.from_engine_options(cluster.engine_options), nodes)
    # Not reachable yet: the engine starts degraded and is retried with backoff.
    with contextlib.suppress(EngineUnavailable):
        engine.check()
    return engine


# Engine kinds with an adapter per cluster. `local` is built once for all local clusters.
BUILDERS: dict[str, Builder] = {"slurm": _slurm, "ray": _ray}


def local_isolation(fleet: Fleet | None) -> str:
    """What the one local engine gives every local cluster: its sandbox, unless every local
    cluster declares `isolation: none` (or there is none, so nothing runs there)."""
    levels = {c.isolates for c in (fleet.clusters if fleet else ()) if c.engine == "local"}
    return Isolation.NONE.value if levels <= {Isolation.NONE} else Isolation.SANDBOX.value


def local_networks(fleet: Fleet | None) -> dict[str, LocalNetwork]:
    """Each local node's sandbox network, as its cluster's engine_options choose it."""
    if fleet is None:
        return {}
    choices = {
        c.name: LocalNetwork.from_engine_options(c.engine_options)
        for c in fleet.clusters
        if c.engine == "local"
    }
    return {n.name: choices[n.cluster] for n in fleet.nodes if n.cluster in choices}


def build_registry(
    fleet: Fleet | None,
    data_dir: Path,
    builders: Mapping[str, Builder] = BUILDERS,
    tenant_users: TenantUsers | None = None,
) -> EngineRegistry:
    """The registry for a fleet; a cluster whose engine cannot be built is kept as broken."""
    local_nodes: list[EngineNode] = []
    engines: dict[str, Engine] = {}
    clusters: dict[str, str] = {}
    broken: dict[str, str] = {}
    kinds: dict[str, str] = {}
    drain: dict[str, OnDrain] = {}
    for cluster in fleet.clusters if fleet else ():
        kinds[cluster.name] = cluster.engine
        drain[cluster.name] = on_drain(cluster.engine_options)
        nodes = [
            EngineNode(name=n.name, gpu_type=n.gpu_type, gpus=n.gpus)
            for n in (fleet.nodes if fleet else ())
            if n.cluster == cluster.name
        ]
        if cluster.engine == "local":
            local_nodes.extend(nodes)
            continue
        builder = builders.get(cluster.engine)
        if builder is None:
            broken[cluster.name] = (
                f"this neocloud has no {cluster.engine} engine yet: run the cluster with "
                f"engine: {' or '.join(sorted({'local', *builders}))}"
            )
            continue
        try:
            engine = builder(cluster, nodes, data_dir)
        except EngineConfigError as exc:
            broken[cluster.name] = str(exc)
            continue
        except OSError as exc:
            broken[cluster.name] = f"cannot prepare the engine's state directory: {exc}"
            continue
        engines[engine.name] = engine
        clusters[cluster.name] = engine.name
    for cluster_name, problem in broken.items():
        log.error("cluster %s: engine not available: %s", cluster_name, problem)
    engines["local"] = LocalEngine(
        data_dir / "engine" / "local",
        local_nodes,
        isolation=local_isolation(fleet),
        tenant_users=tenant_users,
        networks=local_networks(fleet),
    )
    registry = EngineRegistry(
        engines=engines, clusters=clusters, broken=broken, kinds=kinds, on_drain=drain
    )
    return registry
