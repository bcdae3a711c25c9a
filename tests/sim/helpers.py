"""Small fleets and traces for simulator tests, written as text like the real files."""

from __future__ import annotations

import os
from pathlib import Path

from neocloud.domain.fleet_file import parse_fleet
from neocloud.domain.jobs import Tier
from neocloud.engines.options import OPTION_RULES
from neocloud.sim.quotas import whole_fleet
from neocloud.sim.simulator import SimConfig
from neocloud.sim.trace import FleetShape, TraceJob
from neocloud.sim.trace_generic import load_generic

REPO = Path(__file__).resolve().parents[2]
# The full trace sits beside the repository (../shared/trace-samples) or where
# NEOCLOUD_TRACE_SAMPLES points; otherwise the first 2,000 jobs committed under tests/data.
SHARED = Path(os.environ.get("NEOCLOUD_TRACE_SAMPLES", REPO.parent / "shared" / "trace-samples"))
_FULL = SHARED / "philly-derived"
PHILLY_DIR = _FULL if (_FULL / "adaptdl_philly.csv").is_file() else REPO / "tests/data/philly"
PHILLY_TRACE = PHILLY_DIR / "adaptdl_philly.csv"
PHILLY_VC_NODES = PHILLY_DIR / "philly_vc_nodes.csv"
PHILLY_FULL = PHILLY_DIR == _FULL
PHILLY_FLEET = REPO / "docs" / "examples" / "philly-fleet.yaml"


def fleet_yaml(nodes: int = 1, gpus: int = 8, gpu_type: str = "h100", extra: str = "") -> str:
    """A fleet of `nodes` identical nodes in one NVLink domain, plus `extra` node entries."""
    return f"""\
node_models:
  - name: box
    capex_per_node: 100000
    life_years: 5
    power_kw_per_node: 5
    pue: 1.3
    price_per_kwh: 0.08
regions:
  - name: r
    clusters:
      - name: c
        nodes:
          - name_prefix: n
            count: {nodes}
            gpu_type: {gpu_type}
            gpus: {gpus}
            cpus: 32
            memory_gb: 256
            node_model: box
            topology: {{nvlink_domain: d1}}
{extra}"""


def shape(nodes: int = 1, gpus: int = 8, gpu_type: str = "h100", extra: str = "") -> FleetShape:
    """The FleetShape of `fleet_yaml(...)`."""
    parsed = parse_fleet(fleet_yaml(nodes, gpus, gpu_type, extra), OPTION_RULES)
    assert parsed.fleet is not None, parsed.problems
    return FleetShape.of(parsed.fleet)


def csv_text(*lines: str) -> str:
    """CSV lines joined with newlines."""
    return "\n".join(lines) + "\n"


def generic_jobs(fleet: FleetShape, *rows: str) -> tuple[TraceJob, ...]:
    """Jobs from generic-trace rows `id,submit_time,duration,num_gpus,org,tier[,max_runtime]`."""
    header = "id,submit_time,duration,num_gpus,org,tier,max_runtime"
    padded = [row if row.count(",") == 6 else row + "," for row in rows]
    load = load_generic(csv_text(header, *padded), "t.csv", fleet)
    assert load.ok, [str(p) for p in load.problems]
    return load.jobs


def policy_jobs(fleet: FleetShape, *rows: str) -> tuple[TraceJob, ...]:
    """Jobs from rows `id,submit_time,duration,num_gpus,org,tier,requeue,max_attempts`."""
    header = "id,submit_time,duration,num_gpus,org,tier,requeue_on_preemption,max_attempts"
    load = load_generic(csv_text(header, *rows), "t.csv", fleet)
    assert load.ok, [str(p) for p in load.problems]
    return load.jobs


def config(fleet: FleetShape, jobs: tuple[TraceJob, ...], **kwargs: object) -> SimConfig:
    """A SimConfig where every internal org of `jobs` may use the whole fleet."""
    internal = {j.org for j in jobs if j.tier is Tier.INTERNAL}
    quotas = kwargs.pop("quotas", whole_fleet(internal, fleet))
    return SimConfig(nodes=fleet.nodes, quotas=quotas, **kwargs)  # type: ignore[arg-type]
