"""docs/examples/philly-fleet.yaml: a valid fleet the size of Philly's virtual clusters."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal

from neocloud.domain.fleet_file import parse_fleet
from neocloud.economics.cost_model import cost_per_gpu_hour
from neocloud.engines.options import OPTION_RULES
from tests.sim.helpers import PHILLY_FLEET, PHILLY_VC_NODES


def test_the_philly_fleet_parses_to_352_eight_gpu_p100_nodes_in_racks_of_16() -> None:
    parsed = parse_fleet(PHILLY_FLEET.read_text(encoding="utf-8"), OPTION_RULES)
    assert parsed.problems == []
    fleet = parsed.fleet
    assert fleet is not None
    assert len(fleet.nodes) == 352 and fleet.gpus_of_type("p100") == 2816
    assert {n.gpus for n in fleet.nodes} == {8}
    racks = Counter(n.domain(fleet.topology_key) for n in fleet.nodes)
    assert len(racks) == 22 and set(racks.values()) == {16}
    cost = cost_per_gpu_hour(fleet.node_models["dgx1-p100"], 8).total
    assert Decimal("0.49") < cost < Decimal("0.51")


def test_the_fleet_matches_the_virtual_clusters_node_counts() -> None:
    with PHILLY_VC_NODES.open(encoding="utf-8") as f:
        total = sum(int(row["node num"]) for row in csv.DictReader(f))
    fleet = parse_fleet(PHILLY_FLEET.read_text(encoding="utf-8"), OPTION_RULES).fleet
    assert fleet is not None and len(fleet.nodes) == total
