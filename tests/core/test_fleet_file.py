"""The fleet file: what a valid file builds, and the exact problem reported for each mistake."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import neocloud
from neocloud.domain.fleet_file import FleetProblem, parse_fleet
from neocloud.economics.cost_model import cost_per_gpu_hour
from neocloud.engines.options import OPTION_RULES

EXAMPLE = """\
topology_key: nvlink_domain
node_models:
  - name: hgx-h100
    capex_per_node: 400000
    life_years: 5
    power_kw_per_node: 10.2
    draw_fraction: 1.0
    idle_draw_fraction: 0.3
    pue: 1.3
    price_per_kwh: 0.08
    colo_per_kw_month: 184
    other_opex_per_node_year: 0
    cost_of_capital_rate: 0
    currency: USD
regions:
  - name: us-east
    clusters:
      - name: east-a
        engine: local
        nodes:
          - name_prefix: h100-
            count: 4
            gpu_type: h100
            gpus: 8
            cpus: 96
            memory_gb: 1024
            node_model: hgx-h100
            topology: {nvlink_domain: nvl-1, rack: r1}
      - name: east-b
        engine: slurm
        engine_options: {partition: gpu}
        nodes:
          - name: big-01
            gpu_type: h100
            gpus: 8
            cpus: 96
            memory_gb: 1024
            node_model: hgx-h100
            topology: {nvlink_domain: nvl-2}
"""


def _base() -> dict[str, Any]:
    """A minimal valid fleet as plain data, for tests to break one key at a time."""
    return {
        "node_models": [
            {
                "name": "m",
                "capex_per_node": 1000,
                "life_years": 5,
                "power_kw_per_node": 10,
                "pue": 1,
                "price_per_kwh": 0,
            }
        ],
        "regions": [
            {
                "name": "r",
                "clusters": [
                    {
                        "name": "c",
                        "nodes": [
                            {
                                "name": "n1",
                                "gpu_type": "h100",
                                "gpus": 8,
                                "cpus": 8,
                                "memory_gb": 64,
                                "node_model": "m",
                            },
                            {
                                "name": "n2",
                                "gpu_type": "h100",
                                "gpus": 8,
                                "cpus": 8,
                                "memory_gb": 64,
                                "node_model": "m",
                            },
                        ],
                    }
                ],
            }
        ],
    }


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [key if key else int(index) for key, index in _STEP.findall(path)]


def edit(path: str, value: Any) -> dict[str, Any]:
    """The base fleet with the key at `path` (written like a problem path) set to value."""
    doc = _base()
    *parents, last = _steps(path)
    target: Any = doc
    for step in parents:
        target = target[step]
    target[last] = value
    return doc


def drop(path: str) -> dict[str, Any]:
    """The base fleet without the key at `path`."""
    doc = _base()
    *parents, last = _steps(path)
    target: Any = doc
    for step in parents:
        target = target[step]
    del target[last]
    return doc


def text(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


NODE = "regions[0].clusters[0].nodes[0]"
MODEL = "node_models[0]"


def test_the_example_fleet_parses_into_regions_clusters_and_nodes() -> None:
    result = parse_fleet(EXAMPLE, OPTION_RULES)

    assert result.problems == []
    fleet = result.fleet
    assert fleet is not None
    assert fleet.regions == ("us-east",)
    assert [(c.name, c.region, c.engine, dict(c.engine_options)) for c in fleet.clusters] == [
        ("east-a", "us-east", "local", {}),
        ("east-b", "us-east", "slurm", {"partition": "gpu"}),
    ]
    assert [n.name for n in fleet.nodes] == ["h100-01", "h100-02", "h100-03", "h100-04", "big-01"]
    first = fleet.nodes[0]
    assert (first.region, first.cluster, first.gpu_type, first.gpus) == (
        "us-east",
        "east-a",
        "h100",
        8,
    )
    assert (first.cpus, first.memory_gb, first.node_model) == (96, 1024, "hgx-h100")
    assert first.domain("nvlink_domain") == "nvl-1"
    assert fleet.nodes[4].cluster == "east-b"
    assert fleet.gpus_of_type("h100") == 40


def test_numbers_are_exact_decimals_from_the_yaml_text() -> None:
    fleet = parse_fleet(EXAMPLE, OPTION_RULES).fleet
    assert fleet is not None
    model = fleet.node_models["hgx-h100"]

    assert model.power_kw_per_node == Decimal("10.2")
    assert model.price_per_kwh == Decimal("0.08")
    assert model.pue == Decimal("1.3")
    assert all(isinstance(v, Decimal) for v in (model.capex_per_node, model.life_years))
    # The worked example of DESIGN.md §5 comes out of the file as written.
    assert round(cost_per_gpu_hour(model, 8).total, 4) == Decimal("1.5955")


def test_defaults_fill_in_optional_keys() -> None:
    fleet = parse_fleet(text(_base()), OPTION_RULES).fleet
    assert fleet is not None
    model = fleet.node_models["m"]

    assert fleet.topology_key == "nvlink_domain"
    assert fleet.clusters[0].engine == "local"
    assert (model.draw_fraction, model.idle_draw_fraction) == (Decimal(1), Decimal("0.3"))
    assert (model.colo_per_kw_month, model.other_opex_per_node_year) == (Decimal(0), Decimal(0))
    assert (model.cost_of_capital_rate, model.currency) == (Decimal(0), "USD")
    assert dict(fleet.nodes[0].topology) == {}


@pytest.mark.parametrize(
    ("count", "first", "last"),
    [(1, "g01", "g01"), (12, "g01", "g12"), (100, "g001", "g100")],
    ids=["one", "two-digits", "three-digits"],
)
def test_name_prefix_and_count_number_nodes_from_one(count: int, first: str, last: str) -> None:
    doc = _base()
    nodes = doc["regions"][0]["clusters"][0]["nodes"]
    del nodes[1]
    del nodes[0]["name"]
    nodes[0].update({"name_prefix": "g", "count": count})

    fleet = parse_fleet(text(doc), OPTION_RULES).fleet

    assert fleet is not None
    assert len(fleet.nodes) == count
    assert (fleet.nodes[0].name, fleet.nodes[-1].name) == (first, last)


BAD_DOCS = [
    # (id, document, expected problems)
    ("gpus-zero", edit(f"{NODE}.gpus", 0), [(f"{NODE}.gpus", "must be > 0")]),
    ("gpus-too-many", edit(f"{NODE}.gpus", 65), [(f"{NODE}.gpus", "must be <= 64")]),
    (
        "gpus-fraction",
        edit(f"{NODE}.gpus", 2.5),
        [(f"{NODE}.gpus", "must be a whole number, got a number")],
    ),
    (
        "gpus-string",
        edit(f"{NODE}.gpus", "eight"),
        [(f"{NODE}.gpus", "must be a whole number, got a string")],
    ),
    (
        "gpus-bool",
        edit(f"{NODE}.gpus", True),
        [(f"{NODE}.gpus", "must be a whole number, got a boolean")],
    ),
    ("cpus-zero", edit(f"{NODE}.cpus", 0), [(f"{NODE}.cpus", "must be >= 1")]),
    ("memory-zero", edit(f"{NODE}.memory_gb", 0), [(f"{NODE}.memory_gb", "must be >= 1")]),
    ("unknown-node-key", edit(f"{NODE}.gpu", "h100"), [(NODE, "unknown key 'gpu'")]),
    ("missing-gpu-type", drop(f"{NODE}.gpu_type"), [(f"{NODE}.gpu_type", "missing required key")]),
    (
        "gpu-type-upper",
        edit(f"{NODE}.gpu_type", "H100"),
        [
            (
                f"{NODE}.gpu_type",
                "must be a lower-case id like 'h100' (a-z, 0-9, '_', '-'), got 'H100'",
            )
        ],
    ),
    (
        "unknown-node-model",
        edit(f"{NODE}.node_model", "dgx"),
        [(f"{NODE}.node_model", "unknown node model 'dgx'")],
    ),
    (
        "duplicate-node",
        edit("regions[0].clusters[0].nodes[1].name", "n1"),
        [("regions[0].clusters[0].nodes[1].name", f"duplicate node 'n1' (first at {NODE}.name)")],
    ),
    (
        "name-and-prefix",
        edit(f"{NODE}.name_prefix", "n"),
        [(NODE, "give either name, or name_prefix and count, not both")],
    ),
    (
        "no-name",
        drop(f"{NODE}.name"),
        [(f"{NODE}.name", "missing required key (or name_prefix and count)")],
    ),
    (
        "topology-number",
        edit(f"{NODE}.topology", {"rack": 3}),
        [(f"{NODE}.topology.rack", "must be a string (quote numbers), got a number")],
    ),
    (
        "topology-list",
        edit(f"{NODE}.topology", ["a"]),
        [(f"{NODE}.topology", "must be a mapping, got a list")],
    ),
    ("node-not-mapping", edit(NODE, "n1"), [(NODE, "must be a mapping, got a string")]),
    (
        "engine-k8s",
        edit("regions[0].clusters[0].engine", "kubernetes"),
        [("regions[0].clusters[0].engine", "must be one of local, slurm, ray, got 'kubernetes'")],
    ),
    (
        "no-nodes",
        edit("regions[0].clusters[0].nodes", []),
        [("regions[0].clusters[0].nodes", "must not be empty")],
    ),
    ("no-clusters", drop("regions[0].clusters"), [("regions[0].clusters", "missing required key")]),
    ("no-regions", drop("regions"), [("regions", "missing required key")]),
    (
        "regions-not-list",
        edit("regions", {"name": "r"}),
        [("regions", "must be a list, got a mapping")],
    ),
    ("pue-below-one", edit(f"{MODEL}.pue", 0.9), [(f"{MODEL}.pue", "must be >= 1")]),
    ("life-zero", edit(f"{MODEL}.life_years", 0), [(f"{MODEL}.life_years", "must be > 0")]),
    (
        "capex-negative",
        edit(f"{MODEL}.capex_per_node", -1),
        [(f"{MODEL}.capex_per_node", "must be >= 0")],
    ),
    (
        "power-zero",
        edit(f"{MODEL}.power_kw_per_node", 0),
        [(f"{MODEL}.power_kw_per_node", "must be > 0")],
    ),
    (
        "kwh-negative",
        edit(f"{MODEL}.price_per_kwh", -0.01),
        [(f"{MODEL}.price_per_kwh", "must be >= 0")],
    ),
    (
        "colo-negative",
        edit(f"{MODEL}.colo_per_kw_month", -5),
        [(f"{MODEL}.colo_per_kw_month", "must be >= 0")],
    ),
    (
        "opex-negative",
        edit(f"{MODEL}.other_opex_per_node_year", -5),
        [(f"{MODEL}.other_opex_per_node_year", "must be >= 0")],
    ),
    (
        "draw-above-one",
        edit(f"{MODEL}.draw_fraction", 1.2),
        [(f"{MODEL}.draw_fraction", "must be between 0 and 1")],
    ),
    (
        "idle-negative",
        edit(f"{MODEL}.idle_draw_fraction", -0.1),
        [(f"{MODEL}.idle_draw_fraction", "must be between 0 and 1")],
    ),
    (
        "idle-above-draw",
        edit(f"{MODEL}.draw_fraction", 0.2),
        [(f"{MODEL}.idle_draw_fraction", "must be <= draw_fraction (0.2)")],
    ),
    (
        "capital-rate-above-one",
        edit(f"{MODEL}.cost_of_capital_rate", 2),
        [(f"{MODEL}.cost_of_capital_rate", "must be between 0 and 1")],
    ),
    (
        "pue-infinite",
        edit(f"{MODEL}.pue", float("inf")),
        [(f"{MODEL}.pue", "must be a finite number")],
    ),
    (
        "pue-string",
        edit(f"{MODEL}.pue", "1.3"),
        [(f"{MODEL}.pue", "must be a number, got a string")],
    ),
    ("missing-pue", drop(f"{MODEL}.pue"), [(f"{MODEL}.pue", "missing required key")]),
    (
        "currency-lower",
        edit(f"{MODEL}.currency", "usd"),
        [(f"{MODEL}.currency", "must be a three-letter upper-case currency code, got 'usd'")],
    ),
    ("unknown-model-key", edit(f"{MODEL}.watts", 700), [(MODEL, "unknown key 'watts'")]),
    ("unknown-top-key", edit("nodes", []), [("<root>", "unknown key 'nodes'")]),
    (
        "no-node-models",
        edit("node_models", []),
        [
            ("node_models", "must not be empty"),
            (f"{NODE}.node_model", "unknown node model 'm'"),
            ("regions[0].clusters[0].nodes[1].node_model", "unknown node model 'm'"),
        ],
    ),
    (
        "region-name-space",
        edit("regions[0].name", "us east"),
        [("regions[0].name", "must be a name (letters, digits, '.', '_', '-'), got 'us east'")],
    ),
    (
        "topology-key-bad",
        edit("topology_key", "nv link"),
        [
            (
                "topology_key",
                "must be a label key (letters, digits, '.', '_', '-', '/'), got 'nv link'",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("doc", "expected"), [c[1:] for c in BAD_DOCS], ids=[c[0] for c in BAD_DOCS]
)
def test_a_bad_file_reports_the_exact_path_and_message(
    doc: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    result = parse_fleet(text(doc), OPTION_RULES)

    assert result.fleet is None
    assert [(p.path, p.message) for p in result.problems] == expected


def _duplicated(kind: str) -> dict[str, Any]:
    doc = _base()
    if kind == "region":
        doc["regions"].append(copy.deepcopy(doc["regions"][0]))
        doc["regions"][1]["clusters"][0]["name"] = "c2"
        for i, node in enumerate(doc["regions"][1]["clusters"][0]["nodes"]):
            node["name"] = f"x{i}"
    elif kind == "cluster":
        clusters = doc["regions"][0]["clusters"]
        clusters.append(copy.deepcopy(clusters[0]))
        for i, node in enumerate(clusters[1]["nodes"]):
            node["name"] = f"x{i}"
    else:
        doc["node_models"].append(copy.deepcopy(doc["node_models"][0]))
    return doc


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("region", [("regions[1].name", "duplicate region 'r' (first at regions[0].name)")]),
        (
            "cluster",
            [
                (
                    "regions[0].clusters[1].name",
                    "duplicate cluster 'c' (first at regions[0].clusters[0].name)",
                )
            ],
        ),
        (
            "node-model",
            [("node_models[1].name", "duplicate node model 'm' (first at node_models[0].name)")],
        ),
    ],
    ids=["region", "cluster", "node-model"],
)
def test_names_must_be_unique_across_the_fleet(kind: str, expected: list[tuple[str, str]]) -> None:
    result = parse_fleet(text(_duplicated(kind)), OPTION_RULES)
    assert [(p.path, p.message) for p in result.problems] == expected


def test_an_expanded_name_that_clashes_is_reported_at_its_prefix() -> None:
    doc = _base()
    nodes = doc["regions"][0]["clusters"][0]["nodes"]
    nodes[0]["name"] = "h02"
    del nodes[1]["name"]
    nodes[1].update({"name_prefix": "h", "count": 3})

    problems = parse_fleet(text(doc), OPTION_RULES).problems

    assert problems == [
        FleetProblem(
            "regions[0].clusters[0].nodes[1].name_prefix",
            f"duplicate node 'h02' (first at {NODE}.name)",
        )
    ]


def test_node_models_must_share_one_currency() -> None:
    doc = _base()
    doc["node_models"].append({**doc["node_models"][0], "name": "m2", "currency": "EUR"})

    problems = parse_fleet(text(doc), OPTION_RULES).problems

    assert problems == [
        FleetProblem(
            "node_models[1].currency",
            "all node models must use one currency (USD at node_models[0].currency)",
        )
    ]


def test_every_problem_is_reported_not_just_the_first() -> None:
    doc = _base()
    doc["node_models"][0]["pue"] = 0.5
    bad = doc["regions"][0]["clusters"][0]["nodes"]
    bad[0]["gpus"] = 0
    bad[1]["gpu"] = 8
    bad[1]["node_model"] = "nope"

    problems = [str(p) for p in parse_fleet(text(doc), OPTION_RULES).problems]

    assert problems == [
        "node_models[0].pue: must be >= 1",
        f"{NODE}.gpus: must be > 0",
        "regions[0].clusters[0].nodes[1]: unknown key 'gpu'",
        "regions[0].clusters[0].nodes[1].node_model: unknown node model 'nope'",
    ]


def test_a_node_of_a_broken_model_is_not_blamed_for_it() -> None:
    problems = parse_fleet(text(edit(f"{MODEL}.pue", 0)), OPTION_RULES).problems
    assert [p.path for p in problems] == [f"{MODEL}.pue"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "regions: [",
            [("<yaml>", "line 1, column 11: expected the node content, but found '<stream end>'")],
        ),
        (
            "regions:\n  - name: a\n   bad: indent\n",
            [
                (
                    "<yaml>",
                    "line 3, column 4: expected <block end>, but found '<block mapping start>'",
                )
            ],
        ),
        ("a: 1\na: 2\n", [("<yaml>", "line 2, column 1: found duplicate key 'a'")]),
        ("x: !!float abc", [("<yaml>", "line 1, column 4: 'abc' is not a number")]),
        ("", [("<root>", "the fleet file is empty")]),
        ("# only a comment\n", [("<root>", "the fleet file is empty")]),
        ("- a\n- b\n", [("<root>", "must be a mapping, got a list")]),
        ("just text", [("<root>", "must be a mapping, got a string")]),
    ],
    ids=[
        "unclosed-flow",
        "bad-indent",
        "duplicate-key",
        "bad-explicit-float",
        "empty",
        "only-comment",
        "root-list",
        "root-scalar",
    ],
)
def test_files_that_are_not_a_fleet_at_all(source: str, expected: list[tuple[str, str]]) -> None:
    result = parse_fleet(source, OPTION_RULES)
    assert result.fleet is None
    assert [(p.path, p.message) for p in result.problems] == expected


def test_the_demo_fleet_parses_cleanly() -> None:
    demo = Path(neocloud.__file__).parent / "demo" / "fleet.yaml"

    result = parse_fleet(demo.read_text(), OPTION_RULES)

    assert result.problems == []
    fleet = result.fleet
    assert fleet is not None
    assert fleet.regions == ("local",)
    assert [(c.name, c.engine) for c in fleet.clusters] == [("laptop", "local")]
    assert [(n.name, n.gpu_type, n.gpus, n.domain("nvlink_domain")) for n in fleet.nodes] == [
        ("h100-01", "h100", 4, "nvl-1"),
        ("h100-02", "h100", 4, "nvl-1"),
        ("a100-01", "a100", 4, "nvl-2"),
    ]
    # The 4-GPU H100 node is the worked example halved, so a GPU-hour costs the same.
    h100 = fleet.node_models[fleet.nodes[0].node_model]
    assert round(cost_per_gpu_hour(h100, 4).total, 4) == Decimal("1.5955")


LOCATED = """\
node_models:
  - name: m
    capex_per_node: 1
    life_years: 5
    power_kw_per_node: 1
    pue: 0.5
    price_per_kwh: 0.1
regions:
  - name: r
    clusters:
      - name: c
        nodes:
          - name: a
            gpu_type: h100
            gpus: 0
            cpus: 1
            memory_gb: 1
            node_model: m
            colour: blue
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("node_models[0].pue", 6),
        ("regions[0].clusters[0].nodes[0].gpus", 15),
        ("regions[0].clusters[0].nodes[0]", 13),
    ],
    ids=["model-field", "node-field", "unknown-key-at-its-entry"],
)
def test_every_problem_names_its_line(path: str, line: int) -> None:
    problems = {p.path: p.line for p in parse_fleet(LOCATED, OPTION_RULES).problems}
    assert problems[path] == line


def test_a_yaml_syntax_error_names_its_line() -> None:
    (problem,) = parse_fleet("regions:\n  - name: [unclosed\n", OPTION_RULES).problems
    assert problem.path == "<yaml>" and problem.line is not None
