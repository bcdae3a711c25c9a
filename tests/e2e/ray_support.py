"""What the end-to-end Ray tests share: the test cluster and a fleet file naming it.

The job that reports what it saw and the API helpers are the Slurm tests' (`slurm_support`):
nothing in them depends on the engine.
"""

from __future__ import annotations

from tests.conftest import skip_or_fail
from tests.e2e.slurm_support import NODE_MODEL
from tests.engines import ray_harness
from tests.engines.ray_harness import RayCluster


def start_cluster() -> RayCluster:
    """A running Ray test cluster, or a skip (a failure in CI) saying why there is none."""
    reason = ray_harness.build_venv()
    if reason is not None:
        skip_or_fail(reason)
    try:
        return RayCluster().start()
    except (OSError, RuntimeError) as exc:
        skip_or_fail(f"could not start a Ray cluster: {exc}")
        raise


def fleet_text(cluster: RayCluster, extra_clusters: str = "", n2_gpu_type: str = "h100") -> str:
    """A fleet of one Ray cluster (n1, n2 × 8 h100) plus any extra cluster entries."""
    return (
        NODE_MODEL
        + f"""\
regions:
  - name: lab
    clusters:
      - name: rayc
        engine: ray
        # Ray isolates nothing between tenants; the spot test's external org runs here only
        # because the operator says so.
        isolation: none
        external_without_isolation: allow
        engine_options:
          address: {cluster.address}
          poll_cache_seconds: "0.2"
          request_timeout_seconds: "5"
        nodes:
          - {{name: n1, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: hgx-h100}}
          - {{name: n2, gpu_type: {n2_gpu_type}, gpus: 8, cpus: 16, memory_gb: 64,
              node_model: hgx-h100}}
"""
        + extra_clusters
    )
