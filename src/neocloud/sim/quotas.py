"""Where internal orgs' quotas and reserved contracts come from in a simulation.

Quotas (docs/simulator.md):

- `--quotas FILE`: a CSV `org,gpu_type,gpus`; an internal org it does not list has no quota
  and its jobs never start (the scheduler's rule), which the report says.
- Philly without a quota file: `philly_vc_nodes.csv` beside the trace gives each virtual
  cluster `nodes × GPUs per node` of the default GPU type.
- Otherwise every internal org may use the whole fleet (its quota is every GPU of each type).

External orgs need no quota: the sellable cap bounds them. Reserved work runs only under a
contract: `--contracts FILE`, the same `org,gpu_type,gpus` CSV; without one it never starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from neocloud.sim.csv_rows import RowReader, read_rows
from neocloud.sim.problems import InputProblem
from neocloud.sim.trace import FleetShape

Quotas = dict[tuple[str, str], int]

VC_NODES_FILE = "philly_vc_nodes.csv"


def parse_quotas(text: str, file: str, shape: FleetShape, problems: list[InputProblem]) -> Quotas:
    """Quotas from a `org,gpu_type,gpus` CSV; each bad row adds a problem."""
    return _org_gpus(text, file, shape, problems, "quota")


def parse_contracts(
    text: str, file: str, shape: FleetShape, problems: list[InputProblem]
) -> Quotas:
    """Reserved contracts from a `org,gpu_type,gpus` CSV; each bad row adds a problem."""
    return _org_gpus(text, file, shape, problems, "contract")


def _org_gpus(
    text: str, file: str, shape: FleetShape, problems: list[InputProblem], noun: str
) -> Quotas:
    quotas: Quotas = {}
    first: dict[tuple[str, str], int] = {}
    for row in read_rows(text, file, ("org", "gpu_type", "gpus"), (), problems):
        r = RowReader(file, row, problems)
        org = r.name("org")
        gpu_type = r.name("gpu_type")
        gpus = r.positive_int("gpus", allow_zero=True)
        if gpu_type is not None and gpu_type not in shape.gpu_types():
            r.add("gpu_type", f"{gpu_type!r} is not in the fleet ({', '.join(shape.gpu_types())})")
            continue
        if org is None or gpu_type is None or gpus is None:
            continue
        key = (org, gpu_type)
        if key in first:
            r.add("org", f"a second {noun} for {org} {gpu_type} (first at line {first[key]})")
            continue
        first[key] = row.line
        quotas[key] = gpus
    return quotas


def parse_vc_nodes(text: str, file: str, shape: FleetShape, problems: list[InputProblem]) -> Quotas:
    """Philly VC quotas from `vc,node num`: nodes × GPUs per node of the default type."""
    gpu_type = shape.default_gpu_type
    per_node = shape.per_node(gpu_type)
    quotas: Quotas = {}
    first: dict[str, int] = {}
    for row in read_rows(text, file, ("vc", "node num"), (), problems):
        r = RowReader(file, row, problems)
        vc = r.name("vc")
        nodes = r.positive_int("node num", allow_zero=True)
        if vc is None or nodes is None:
            continue
        if vc in first:
            r.add("vc", f"{vc} is listed twice (first at line {first[vc]})")
            continue
        first[vc] = row.line
        quotas[(vc, gpu_type)] = nodes * per_node
    return quotas


def whole_fleet(orgs: Iterable[str], shape: FleetShape) -> Quotas:
    """Every org may hold every GPU of every type."""
    totals = {t: shape.total(t) for t in shape.gpu_types()}
    return {(org, t): gpus for org in orgs for t, gpus in totals.items()}
