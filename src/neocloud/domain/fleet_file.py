"""The fleet file: YAML text → a validated Fleet, or every problem found, each with its path.

Parsing text is pure. Numbers are read exactly: integers stay Python ints and every YAML float is
built as a Decimal from the scalar's own text, so `0.08` is exactly 0.08, never a binary float.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import yaml

from neocloud.domain.engine_options import EngineOptionRules, OptionProblem
from neocloud.domain.exact_yaml import FileProblem, describe, line_of, load_yaml
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
    Bound,
    ValueReader,
    join,
)
from neocloud.domain.money import DEFAULT_CURRENCY

# The engine kinds a cluster may name; the caller gives each one's option rules.
ENGINES = ("local", "slurm", "ray")

MAX_GPUS_PER_NODE = 64
MAX_NODE_COUNT = 10_000

_GPU_TYPE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# Length limits match the columns the store keeps these names in.
_REGION_LEN = 63
_CLUSTER_LEN = 63
_NODE_LEN = 128
_NODE_MODEL_LEN = 63
_GPU_TYPE_LEN = 32

_TOP_KEYS = ("topology_key", "node_models", "regions")
_MODEL_KEYS = (
    "name",
    "capex_per_node",
    "life_years",
    "power_kw_per_node",
    "draw_fraction",
    "idle_draw_fraction",
    "pue",
    "price_per_kwh",
    "colo_per_kw_month",
    "other_opex_per_node_year",
    "cost_of_capital_rate",
    "currency",
    "wear_fraction",
)
_REGION_KEYS = ("name", "clusters")
_CLUSTER_KEYS = (
    "name",
    "engine",
    "engine_options",
    "isolation",
    "external_without_isolation",
    "nodes",
)
_EXTERNAL_CHOICES = ("allow", "refuse")
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
_NODE_KEYS = (
    "name",
    "name_prefix",
    "count",
    "gpu_type",
    "gpus",
    "cpus",
    "memory_gb",
    "node_model",
    "topology",
)


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
    try:
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return FleetParse(None, [FleetProblem("<yaml>", _yaml_message(exc), line)])
    reader = _FleetReader(engine_options)
    fleet = reader.read(document)
    if reader.problems:
        located = [replace(p, line=line_of(text, p.path)) for p in reader.problems]
        return FleetParse(None, located)
    return FleetParse(fleet, [])


def _yaml_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return str(exc)


class _FleetReader(ValueReader):
    """Walks the parsed document, collecting problems and building the fleet when it can."""

    def __init__(self, engine_options: Mapping[str, EngineOptionRules]) -> None:
        super().__init__()
        self.engine_options = engine_options
        # Every node-model name written in the file, usable or not, so that a node naming a
        # model with its own problems is not blamed a second time.
        self.declared_models: set[str] = set()
        self.regions: list[str] = []
        self.clusters: list[Cluster] = []
        self.nodes: list[Node] = []
        # Names are unique across the whole fleet: the scheduler and the store key on them.
        self.seen_regions: dict[str, str] = {}
        self.seen_clusters: dict[str, str] = {}
        self.seen_nodes: dict[str, str] = {}

    def add_found(self, path: str, found: Sequence[OptionProblem]) -> None:
        """Record the problems an engine found in a cluster's options."""
        for problem in found:
            self.add(join(path, problem.where), problem.message)

    # -- the fleet -------------------------------------------------------------------------

    def read(self, document: object) -> Fleet | None:
        """Validate the whole document and build the Fleet (meaningful only without problems)."""
        if document is None:
            self.add("<root>", "the fleet file is empty")
            return None
        top = self.mapping(document, "<root>", _TOP_KEYS)
        if top is None:
            return None
        topology_key = self.text(
            top,
            "topology_key",
            "",
            pattern=_LABEL_KEY,
            max_len=LABEL_LEN,
            hint="a label key (letters, digits, '.', '_', '-', '/')",
            default="nvlink_domain",
        )
        models = self.node_models(top)
        region_items = self.items(top, "regions", "")
        for i, item in enumerate(region_items or []):
            self.region(item, f"regions[{i}]", models)
        if region_items and not self.nodes and not self.problems:
            self.add("regions", "the fleet has no nodes")
        if self.problems or topology_key is None or models is None:
            return None
        return Fleet(
            regions=tuple(self.regions),
            clusters=tuple(self.clusters),
            nodes=tuple(self.nodes),
            node_models=models,
            topology_key=topology_key,
        )

    def node_models(self, top: Mapping[Any, Any]) -> dict[str, NodeModel] | None:
        """Read node_models; None if any of them is unusable."""
        items = self.items(top, "node_models", "")
        if items is None:
            return None
        self.declared_models = {
            item["name"]
            for item in items
            if isinstance(item, dict) and isinstance(item.get("name"), str)
        }
        models: dict[str, NodeModel] = {}
        seen: dict[str, str] = {}
        first_currency: tuple[str, str] | None = None
        complete = True
        for i, item in enumerate(items):
            path = f"node_models[{i}]"
            model = self.node_model(item, path)
            if model is None:
                complete = False
            elif self.unique(seen, "node model", model.name, f"{path}.name"):
                # Costs of different node models are added up, so they must share a currency.
                if first_currency is None:
                    first_currency = (model.currency, f"{path}.currency")
                elif model.currency != first_currency[0]:
                    self.add(
                        f"{path}.currency",
                        f"all node models must use one currency"
                        f" ({first_currency[0]} at {first_currency[1]})",
                    )
                models[model.name] = model
        return models if complete else None

    def node_model(self, item: object, path: str) -> NodeModel | None:
        """Read one node model."""
        m = self.mapping(item, path, _MODEL_KEYS)
        if m is None:
            return None
        before = len(self.problems)
        name = self.name(m, "name", path, _NODE_MODEL_LEN)
        capex = self.number(m, "capex_per_node", path, NON_NEGATIVE)
        life = self.number(m, "life_years", path, POSITIVE)
        power = self.number(m, "power_kw_per_node", path, POSITIVE)
        draw = self.number(m, "draw_fraction", path, FRACTION, default=Decimal(1))
        idle = self.number(m, "idle_draw_fraction", path, FRACTION, default=Decimal("0.3"))
        pue = self.number(m, "pue", path, Bound(ge=Decimal(1)))
        kwh = self.number(m, "price_per_kwh", path, NON_NEGATIVE)
        colo = self.number(m, "colo_per_kw_month", path, NON_NEGATIVE, default=Decimal(0))
        opex = self.number(m, "other_opex_per_node_year", path, NON_NEGATIVE, default=Decimal(0))
        rate = self.number(m, "cost_of_capital_rate", path, FRACTION, default=Decimal(0))
        wear = self.number(m, "wear_fraction", path, FRACTION, default=Decimal("0.2"))
        currency = self.text(
            m,
            "currency",
            path,
            pattern=_CURRENCY,
            max_len=3,
            hint="a three-letter upper-case currency code",
            default=DEFAULT_CURRENCY,
        )
        if draw is not None and idle is not None and idle > draw:
            self.add(f"{path}.idle_draw_fraction", f"must be <= draw_fraction ({draw})")
        if len(self.problems) > before:
            return None
        assert name is not None and capex is not None and life is not None
        assert power is not None and draw is not None and idle is not None
        assert pue is not None and kwh is not None and colo is not None
        assert opex is not None and rate is not None and currency is not None
        assert wear is not None
        return NodeModel(
            name=name,
            capex_per_node=capex,
            life_years=life,
            power_kw_per_node=power,
            pue=pue,
            price_per_kwh=kwh,
            draw_fraction=draw,
            idle_draw_fraction=idle,
            colo_per_kw_month=colo,
            other_opex_per_node_year=opex,
            cost_of_capital_rate=rate,
            currency=currency,
            wear_fraction=wear,
        )

    def region(self, item: object, path: str, models: Mapping[str, NodeModel] | None) -> None:
        """Read one region and its clusters."""
        m = self.mapping(item, path, _REGION_KEYS)
        if m is None:
            return
        name = self.name(m, "name", path, _REGION_LEN)
        if name is not None and self.unique(self.seen_regions, "region", name, f"{path}.name"):
            self.regions.append(name)
        for i, cluster in enumerate(self.items(m, "clusters", path) or []):
            self.cluster(cluster, f"{path}.clusters[{i}]", name or "", models)

    def cluster(
        self, item: object, path: str, region: str, models: Mapping[str, NodeModel] | None
    ) -> None:
        """Read one cluster and its nodes."""
        m = self.mapping(item, path, _CLUSTER_KEYS)
        if m is None:
            return
        name = self.name(m, "name", path, _CLUSTER_LEN)
        if name is not None:
            self.unique(self.seen_clusters, "cluster", name, f"{path}.name")
        engine = m.get("engine", "local")
        if engine not in ENGINES:
            self.add(f"{path}.engine", f"must be one of {', '.join(ENGINES)}, got '{engine}'")
        options = self.labels(m, "engine_options", path, key_pattern=NAME)
        known = isinstance(engine, str) and engine in ENGINES
        rules = self.engine_options[engine] if known else None
        if options is not None and rules is not None:
            self.add_found(path, rules.value_problems(options))
        isolation = self.isolation(m, path, engine)
        if options is not None and rules is not None and isolation is not None:
            contradictions = rules.isolation_problems(options, isolation)
            self.add_found(path, contradictions)
            if contradictions:
                isolation = None
        external = self.external_without_isolation(m, path, isolation)
        if (
            name is not None
            and isinstance(engine, str)
            and options is not None
            and isolation is not None
            and external is not None
        ):
            self.clusters.append(Cluster(name, region, engine, options, isolation, external))
        for i, node in enumerate(self.items(m, "nodes", path) or []):
            self.node(node, f"{path}.nodes[{i}]", region, name or "", models)

    def isolation(self, m: Mapping[Any, Any], path: str, engine: object) -> Isolation | None:
        """The cluster's isolation level: as declared (if its engine can give it), or the
        engine's default."""
        if not isinstance(engine, str) or engine not in ENGINES:
            return None  # the engine is reported already
        if "isolation" not in m:
            return DEFAULT_ISOLATION[engine]
        value, where = m["isolation"], join(path, "isolation")
        levels = ", ".join(level.value for level in Isolation)
        if not isinstance(value, str) or value not in {level.value for level in Isolation}:
            self.add(where, f"must be one of {levels}, got {describe(value, show_strings=True)}")
            return None
        level = Isolation(value)
        if level not in DELIVERABLE_ISOLATION[engine]:
            self.add(where, f"engine {engine} cannot give {level.value}: {_ISOLATION_FIX[engine]}")
            return None
        return level

    def external_without_isolation(
        self, m: Mapping[Any, Any], path: str, isolation: Isolation | None
    ) -> bool | None:
        """The operator's opt-in to place external orgs on a cluster that isolates nothing."""
        key = "external_without_isolation"
        if key not in m:
            return False
        value, where = m[key], join(path, key)
        if not isinstance(value, str) or value not in _EXTERNAL_CHOICES:
            self.add(where, f"must be allow or refuse, got {describe(value, show_strings=True)}")
            return None
        if isolation is not None and isolation is not Isolation.NONE and value == "allow":
            self.add(
                where,
                f"applies only to a cluster with isolation: none (this one has "
                f"{isolation.value}, which external orgs may use already): remove it",
            )
            return None
        return value == "allow"

    def node(
        self,
        item: object,
        path: str,
        region: str,
        cluster: str,
        models: Mapping[str, NodeModel] | None,
    ) -> None:
        """Read one node entry: a single named node, or name_prefix + count expanded."""
        m = self.mapping(item, path, _NODE_KEYS)
        if m is None:
            return
        names, name_key = self.node_names(m, path)
        gpu_type = self.text(
            m,
            "gpu_type",
            path,
            pattern=_GPU_TYPE,
            max_len=_GPU_TYPE_LEN,
            hint="a lower-case id like 'h100' (a-z, 0-9, '_', '-')",
        )
        gpus = self.integer(m, "gpus", path, Bound(gt=Decimal(0), le=Decimal(MAX_GPUS_PER_NODE)))
        cpus = self.integer(m, "cpus", path, Bound(ge=Decimal(1)))
        memory = self.integer(m, "memory_gb", path, Bound(ge=Decimal(1)))
        model = self.name(m, "node_model", path, _NODE_MODEL_LEN)
        if model is not None and model not in self.declared_models:
            self.add(f"{path}.node_model", f"unknown node model '{model}'")
        topology = self.labels(m, "topology", path, key_pattern=_LABEL_KEY)
        for name in names:
            self.unique(self.seen_nodes, "node", name, f"{path}.{name_key}")
        if (
            gpu_type is None
            or gpus is None
            or cpus is None
            or memory is None
            or model is None
            or topology is None
            or models is None
            or model not in models
        ):
            return
        for name in names:
            self.nodes.append(
                Node(name, region, cluster, gpu_type, gpus, cpus, memory, model, topology)
            )

    def node_names(self, m: Mapping[Any, Any], path: str) -> tuple[list[str], str]:
        """The node names an entry declares, and the key they came from."""
        has_name, has_prefix = "name" in m, "name_prefix" in m
        if has_name and (has_prefix or "count" in m):
            self.add(path, "give either name, or name_prefix and count, not both")
            return [], "name"
        if has_name:
            name = self.name(m, "name", path, _NODE_LEN)
            return ([name] if name is not None else []), "name"
        if not has_prefix and "count" not in m:
            self.add(f"{path}.name", "missing required key (or name_prefix and count)")
            return [], "name"
        prefix = self.name(m, "name_prefix", path, _NODE_LEN - 5)
        count = self.integer(m, "count", path, Bound(gt=Decimal(0), le=Decimal(MAX_NODE_COUNT)))
        if prefix is None or count is None:
            return [], "name_prefix"
        # At least two digits so that names sort in order for the usual small counts.
        width = max(2, len(str(count)))
        return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], "name_prefix"


__all__ = ["ENGINES", "FleetParse", "FleetProblem", "parse_fleet"]
