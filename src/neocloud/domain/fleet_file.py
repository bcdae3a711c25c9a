"""The fleet file: YAML text → a validated Fleet, or every problem found, each with its path.

It is read with the one strict reader every input file shares (domain.yaml_reader and
domain.yaml_shapes): numbers are exact (`0.08` is exactly 0.08, never a binary float), and
every problem is reported at once, with its path and line, in file order. Each engine kind's
`engine_options` are judged by rules the caller passes in (domain.engine_options). The format:
docs/fleet-file.md.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from neocloud.domain.engine_options import EngineOptionRules, OptionProblem
from neocloud.domain.exact_yaml import FileProblem
from neocloud.domain.fleet import (
    DEFAULT_ISOLATION,
    DELIVERABLE_ISOLATION,
    Cluster,
    Fleet,
    Isolation,
    Node,
    NodeModel,
)
from neocloud.domain.fleet_values import (
    FRACTION,
    LABEL_LEN,
    NAME,
    NON_NEGATIVE,
    POSITIVE,
    above,
    at_least,
    labels,
    name,
    no_more_than,
    number,
    text,
    whole,
)
from neocloud.domain.money import DEFAULT_CURRENCY
from neocloud.domain.yaml_reader import INVALID, Invalid, Place, Reading, read_yaml
from neocloud.domain.yaml_reader import Node as Entry
from neocloud.domain.yaml_shapes import (
    Choice,
    Field,
    Fields,
    ListOf,
    Raw,
    Record,
    Shape,
    Then,
    valid,
)

T = TypeVar("T")

# The engine kinds a cluster may name; the caller gives each one's option rules.
ENGINES = tuple(DEFAULT_ISOLATION)  # the engine kinds a fleet may name

MAX_GPUS_PER_NODE = 64
MAX_NODE_COUNT = 10_000

_GPU_TYPE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_GPU_TYPE_HINT = "a lower-case id like 'h100' (a-z, 0-9, '_', '-')"
_LABEL_KEY_HINT = "a label key (letters, digits, '.', '_', '-', '/')"

# Length limits match the columns the store keeps these names in.
_REGION_LEN = 63
_CLUSTER_LEN = 63
_NODE_LEN = 128
_NODE_MODEL_LEN = 63
_GPU_TYPE_LEN = 32

# What to write instead of a level an engine cannot give.
_ISOLATION_FIX = {
    "local": "the local engine gives sandbox (each org's own user and namespaces) or none",
    "slurm": (
        "Slurm runs each org's jobs as its own user (user), also in a bubblewrap sandbox "
        "(sandbox: bubblewrap must be installed on every compute node), or gives no isolation "
        "(none)"
    ),
    "ray": (
        "Ray runs every job as the Ray worker's own user: declare none, and set "
        "external_without_isolation: allow only if external orgs may share it"
    ),
}


# Problems in a fleet file are the shape every input file reports.
FleetProblem = FileProblem


@dataclass(frozen=True, slots=True)
class FleetParse:
    """The result of parsing a fleet file: a Fleet when there are no problems, else None."""

    fleet: Fleet | None
    problems: list[FleetProblem]

    @property
    def ok(self) -> bool:
        """True when the file produced a fleet."""
        return self.fleet is not None


def parse_fleet(text: str, engine_options: Mapping[str, EngineOptionRules]) -> FleetParse:
    """Parse and validate a fleet file, reporting every problem rather than the first; each
    engine kind's `engine_options` are checked by its rules (`neocloud.engines.options`)."""
    parsed = read_yaml(
        text,
        _FleetShape(engine_options).read,
        empty="the fleet file is empty",
        position_in_message=True,
    )
    return FleetParse(parsed.value, parsed.problems)


# -- the words of the fleet file -------------------------------------------------------------


def _keys(fields: dict[str, Field[Any]]) -> Fields:
    """A mapping of known keys; an unknown one is reported at the mapping, by name."""
    return Fields(fields, unknown="unknown key '{key}'", unknown_at_key=False)


def _items(item: Shape[T]) -> ListOf[T]:
    """A non-empty list."""
    return ListOf(item, empty="must not be empty")


def _engine(value: Any) -> str | None:
    return None if value in ENGINES else f"must be one of {', '.join(ENGINES)}, got '{value}'"


def _declared(models: frozenset[str]) -> Shape[str]:
    """A node model's name that the file declares."""

    def known(model: str) -> str | None:
        return None if model in models else f"unknown node model '{model}'"

    return name(_NODE_MODEL_LEN, known)


_ISOLATION = Then(Choice(tuple(level.value for level in Isolation)), lambda v, _: Isolation(v))
_EXTERNAL = Choice(("allow", "refuse"), message="must be allow or refuse, got {got}")


# -- node models -----------------------------------------------------------------------------


def _node_model(record: Record, _: Entry) -> NodeModel | Invalid:
    """A node model, unless a field had a problem or it idles above its full draw."""
    draw, idle = record["draw_fraction"], record["idle_draw_fraction"]
    if draw is not INVALID and idle is not INVALID and idle > draw:
        record.node.reading.add(
            record.place("idle_draw_fraction"), f"must be <= draw_fraction ({draw})"
        )
        return INVALID
    if any(value is INVALID for value in record.values.values()):
        return INVALID
    # The keys are NodeModel's fields.
    return NodeModel(**record.values)


_NODE_MODEL = Then(
    _keys(
        {
            "name": Field(name(_NODE_MODEL_LEN), required=True),
            "capex_per_node": Field(NON_NEGATIVE, required=True),
            "life_years": Field(POSITIVE, required=True),
            "power_kw_per_node": Field(POSITIVE, required=True),
            "draw_fraction": Field(FRACTION, default=Decimal(1)),
            "idle_draw_fraction": Field(FRACTION, default=Decimal("0.3")),
            "pue": Field(number(at_least(1)), required=True),
            "price_per_kwh": Field(NON_NEGATIVE, required=True),
            "colo_per_kw_month": Field(NON_NEGATIVE, default=Decimal(0)),
            "other_opex_per_node_year": Field(NON_NEGATIVE, default=Decimal(0)),
            "cost_of_capital_rate": Field(FRACTION, default=Decimal(0)),
            "wear_fraction": Field(FRACTION, default=Decimal("0.2")),
            "currency": Field(
                text(_CURRENCY, 3, "a three-letter upper-case currency code"),
                default=DEFAULT_CURRENCY,
            ),
        }
    ),
    _node_model,
)


def _declared_models(top: Entry) -> frozenset[str]:
    """Every node-model name the file writes, usable or not, so that a node naming a model
    with its own problems is not blamed a second time."""
    models = top.get("node_models")
    if models is None or not models.is_list:
        return frozenset()
    names = (item.get("name") for item in models.items())
    return frozenset(n.value for n in names if n is not None and isinstance(n.value, str))


# -- what each part of the file adds to the fleet --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    """The regions, clusters and nodes one part of the file declares, in file order."""

    regions: tuple[str, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    nodes: tuple[Node, ...] = ()


def _joined(parts: Sequence[_Part]) -> _Part:
    return _Part(
        tuple(r for p in parts for r in p.regions),
        tuple(c for p in parts for c in p.clusters),
        tuple(n for p in parts for n in p.nodes),
    )


def _text_or_empty(value: object) -> str:
    """A name read without a problem, else "" (nothing is built from it then)."""
    return value if isinstance(value, str) else ""


# -- the file --------------------------------------------------------------------------------


class _FleetShape(Shape[Fleet]):
    """The whole file. Names are unique across the fleet (the scheduler and the store key on
    them), so one reading remembers every name it has seen."""

    def __init__(self, engine_options: Mapping[str, EngineOptionRules]) -> None:
        self.engine_options = engine_options
        # Per kind of name ("region", "node" …): each name seen, and where it was first.
        self.seen: defaultdict[str, dict[str, str]] = defaultdict(dict)
        self.root = _keys(
            {
                "topology_key": Field(
                    text(_LABEL_KEY, LABEL_LEN, _LABEL_KEY_HINT),
                    default="nvlink_domain",
                ),
                "node_models": Field(Then(_items(_NODE_MODEL), self.node_models), required=True),
                "regions": Field(
                    lambda r: _items(self.region(_declared_models(r.node))), required=True
                ),
            }
        )

    def read(self, node: Entry) -> Fleet | Invalid:
        """Validate the whole document and build the Fleet when there is no problem."""
        record = self.root.read(node)
        if record is INVALID or not record.ok:
            return INVALID
        part = _joined(record["regions"])
        if not part.nodes:
            node.reading.add(record.place("regions"), "the fleet has no nodes")
            return INVALID
        return Fleet(
            regions=part.regions,
            clusters=part.clusters,
            nodes=part.nodes,
            node_models=record["node_models"],
            topology_key=record["topology_key"],
        )

    def unique(self, reading: Reading, kind: str, value: str, place: Place) -> bool:
        """Remember a name as written at place; one written before is a problem there."""
        seen = self.seen[kind]
        if value in seen:
            reading.add(place, f"duplicate {kind} '{value}' (first at {seen[value]})")
            return False
        seen[value] = place.shown
        return True

    def unique_name(self, kind: str, max_len: int) -> Shape[str]:
        """A name no other of its kind in the fleet has."""

        def first(value: str, node: Entry) -> str | Invalid:
            return value if self.unique(node.reading, kind, value, node.place) else INVALID

        return Then(name(max_len), first)

    def node_models(
        self, models: list[NodeModel | Invalid], node: Entry
    ) -> dict[str, NodeModel] | Invalid:
        """The node models by name, each name once, all in one currency."""
        by_name: dict[str, NodeModel] = {}
        first: tuple[str, Place] | None = None
        for item, model in zip(node.items(), models, strict=True):
            if model is INVALID or not self.unique(
                node.reading, "node model", model.name, item.at("name")
            ):
                continue
            # Costs of different node models are added up, so they must share a currency.
            if first is None:
                first = (model.currency, item.at("currency"))
            elif model.currency != first[0]:
                node.reading.add(
                    item.at("currency"),
                    f"all node models must use one currency ({first[0]} at {first[1].shown})",
                )
            by_name[model.name] = model
        return INVALID if INVALID in models else by_name

    # -- regions and clusters ----------------------------------------------------------------

    def region(self, models: frozenset[str]) -> Shape[_Part]:
        """One region and its clusters."""
        fields = _keys(
            {
                "name": Field(self.unique_name("region", _REGION_LEN), required=True),
                "clusters": Field(
                    lambda r: _items(self.cluster(_text_or_empty(r["name"]), models)),
                    required=True,
                ),
            }
        )

        def part(record: Record, _: Entry) -> _Part | Invalid:
            if INVALID in record.values.values():
                return INVALID
            return _joined([_Part(regions=(record["name"],)), *valid(record["clusters"])])

        return Then(fields, part)

    def cluster(self, region: str, models: frozenset[str]) -> Shape[_Part]:
        """One cluster, what its engine makes of it, and its nodes."""
        fields = _keys(
            {
                "name": Field(self.unique_name("cluster", _CLUSTER_LEN), required=True),
                "engine": Field(Raw(checks=(_engine,)), default="local"),
                "engine_options": Field(labels(NAME), default={}, null_is_absent=True),
                # A level is judged only against an engine that exists.
                "isolation": Field(lambda r: _ISOLATION if r["engine"] in ENGINES else Raw()),
                "external_without_isolation": Field(_EXTERNAL, default="refuse"),
                "nodes": Field(
                    lambda r: _items(self.node(region, _text_or_empty(r["name"]), models)),
                    required=True,
                ),
            }
        )
        return Then(fields, lambda record, _: self.engine_rules(record, region))

    def engine_rules(self, record: Record, region: str) -> _Part | Invalid:
        """Ask the cluster's engine about its options and isolation; the cluster if it can run."""
        engine, options = record["engine"], record["engine_options"]
        if engine not in ENGINES:
            return INVALID  # reported already
        rules = self.engine_options[engine]
        if options is not INVALID:
            _report(record.node, rules.value_problems(options))
        isolation = _isolation(record, engine)
        if options is not INVALID and isolation is not INVALID:
            contradictions = rules.isolation_problems(options, isolation)
            _report(record.node, contradictions)
            if contradictions:
                isolation = INVALID
        external = _external(record, isolation)
        name, nodes = record["name"], record["nodes"]
        if isolation is INVALID or external is INVALID or INVALID in (name, options, nodes):
            return INVALID
        cluster = Cluster(name, region, engine, dict(options), isolation, external)
        return _Part(clusters=(cluster,), nodes=tuple(n for entry in valid(nodes) for n in entry))

    # -- nodes -------------------------------------------------------------------------------

    def node(self, region: str, cluster: str, models: frozenset[str]) -> Shape[tuple[Node, ...]]:
        """One node entry: a single named node, or name_prefix + count expanded."""
        fields = _keys(
            {
                # Either one name, or name_prefix and count: judged together (_node_names).
                "name": Field(Raw()),
                "name_prefix": Field(Raw()),
                "count": Field(Raw()),
                "gpu_type": Field(text(_GPU_TYPE, _GPU_TYPE_LEN, _GPU_TYPE_HINT), required=True),
                "gpus": Field(whole(above(0), no_more_than(MAX_GPUS_PER_NODE)), required=True),
                "cpus": Field(whole(at_least(1)), required=True),
                "memory_gb": Field(whole(at_least(1)), required=True),
                "node_model": Field(_declared(models), required=True),
                "topology": Field(labels(_LABEL_KEY), default={}, null_is_absent=True),
            }
        )

        def nodes(record: Record, _: Entry) -> tuple[Node, ...] | Invalid:
            names, key = _node_names(record)
            for each in names:
                self.unique(record.node.reading, "node", each, record.place(key))
            keys = ("gpu_type", "gpus", "cpus", "memory_gb", "node_model", "topology")
            values = [record[k] for k in keys]
            if INVALID in values:
                return INVALID
            gpu_type, gpus, cpus, memory_gb, model, labels_read = values
            # The entry's own labels, shared by the nodes it expands to.
            topology = dict(labels_read)
            return tuple(
                Node(each, region, cluster, gpu_type, gpus, cpus, memory_gb, model, topology)
                for each in names
            )

        return Then(fields, nodes)


def _report(cluster: Entry, found: Sequence[OptionProblem]) -> None:
    """Record the problems an engine found in a cluster, each at the key it names."""
    for problem in found:
        key, _, option = problem.where.partition(".")
        place = cluster.at(key)
        options = cluster.get(key)
        if option and options is not None and options.is_mapping:
            place = options.at(option)
        elif option:
            place = place.key(option, place.line)
        cluster.reading.add(place, problem.message)


def _isolation(record: Record, engine: str) -> Isolation | Invalid:
    """The cluster's isolation level: as declared (if its engine can give it), or the
    engine's default."""
    if not record.has("isolation"):
        return DEFAULT_ISOLATION[engine]
    level: Isolation | Invalid = record["isolation"]
    if level is not INVALID and level not in DELIVERABLE_ISOLATION[engine]:
        message = f"engine {engine} cannot give {level.value}: {_ISOLATION_FIX[engine]}"
        record.node.reading.add(record.place("isolation"), message)
        return INVALID
    return level


def _external(record: Record, isolation: Isolation | Invalid) -> bool | Invalid:
    """The operator's opt-in to place external orgs on a cluster that isolates nothing."""
    choice: str | Invalid = record["external_without_isolation"]
    if choice == "allow" and isolation is not INVALID and isolation is not Isolation.NONE:
        record.node.reading.add(
            record.place("external_without_isolation"),
            f"applies only to a cluster with isolation: none (this one has {isolation.value}, "
            "which external orgs may use already): remove it",
        )
        return INVALID
    return INVALID if choice is INVALID else choice == "allow"


_NODE_NAME = name(_NODE_LEN)
# Room for the number a count appends.
_NAME_PREFIX = name(_NODE_LEN - 5)
_COUNT = whole(above(0), no_more_than(MAX_NODE_COUNT))


def _node_names(record: Record) -> tuple[list[str], str]:
    """The node names an entry declares, and the key they came from."""
    has_name, has_prefix, has_count = (record.has(k) for k in ("name", "name_prefix", "count"))
    if has_name and (has_prefix or has_count):
        record.node.problem("give either name, or name_prefix and count, not both")
        return [], "name"
    if has_name:
        single = _required(record, "name", _NODE_NAME)
        return ([] if single is INVALID else [single]), "name"
    if not has_prefix and not has_count:
        record.node.reading.add(
            record.place("name"), "missing required key (or name_prefix and count)"
        )
        return [], "name"
    prefix = _required(record, "name_prefix", _NAME_PREFIX)
    count = _required(record, "count", _COUNT)
    if prefix is INVALID or count is INVALID:
        return [], "name_prefix"
    # At least two digits so that names sort in order for the usual small counts.
    width = max(2, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], "name_prefix"


def _required(record: Record, key: str, shape: Shape[T]) -> T | Invalid:
    """A key's value read with shape; a problem where it is missing."""
    entry = record.node.get(key)
    if entry is None:
        record.node.reading.add(record.place(key), "missing required key")
        return INVALID
    return shape.read(entry)


__all__ = ["ENGINES", "FleetParse", "FleetProblem", "parse_fleet"]
