"""The policy file: YAML text → a validated SellingPolicy, or every problem, each with its key.

Strict like the fleet file: numbers are exact (YAML floats become Decimals from their text), an
unknown key, a negative price, a fraction outside [0, 1], a GPU type the fleet does not have or a
tier that cannot be sold is a problem naming the key and the reason. The format and every default:
docs/economics.md ("The policy file").
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import yaml

from neocloud.domain.exact_yaml import FileProblem, describe, load_yaml, located, yaml_problem
from neocloud.domain.fleet import Fleet
from neocloud.domain.jobs import DEFAULT_GRACE_SECONDS, Tier
from neocloud.economics.whatif.policy import (
    DEFAULT_START,
    SELLABLE_TIERS,
    ContractTerm,
    GpuTypePolicy,
    SellingPolicy,
)
from neocloud.scheduler.admission.limits import sellable_gpus

TOP_KEYS = ("currency", "start", "spot_grace_s", "tiers", "gpu_types", "contracts", "sweep")
GPU_TYPE_KEYS = ("sellable_cap", "prices")
CONTRACT_KEYS = ("id", "org", "gpu_type", "gpus", "price")
DEFAULT_TIERS = (Tier.ON_DEMAND, Tier.SPOT)
# A day of grace is already far beyond any engine's notice period: a larger value is a typo.
MAX_GRACE_SECONDS = 86_400

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ZERO = Decimal(0)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class PolicyParse:
    """A SellingPolicy when the file has no problems, else None and every problem."""

    policy: SellingPolicy | None
    problems: list[FileProblem]


def parse_policy(text: str, fleet: Fleet) -> PolicyParse:
    """Parse and validate a policy file against the fleet it will sell, reporting every problem."""
    try:
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        return PolicyParse(None, [yaml_problem(exc)])
    reader = _PolicyReader(fleet)
    policy = reader.read(document)
    if reader.problems:
        return PolicyParse(None, located(text, reader.problems))
    return PolicyParse(policy, [])


class _PolicyReader:
    """Walks the document, collecting problems and building the policy when it can."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.problems: list[FileProblem] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(FileProblem(path, message))

    def mapping(self, value: object, path: str, allowed: tuple[str, ...]) -> dict[Any, Any] | None:
        """The value as a mapping, each key it should not have reported at its own path."""
        if not isinstance(value, dict):
            self.add(path or "<root>", f"must be a mapping, got {describe(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.add(_join(path, str(key)), f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def number(self, value: object, path: str, *, fraction: bool = False) -> Decimal | None:
        """An exact, finite number >= 0 (and <= 1 for a fraction)."""
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.add(path, f"must be a number, got {describe(value, show_strings=True)}")
            return None
        number = Decimal(value)
        if not number.is_finite():
            self.add(path, "must be a finite number")
            return None
        if fraction and not _ZERO <= number <= _ONE:
            self.add(path, f"must be a fraction between 0 and 1, got {number}")
            return None
        if number < 0:
            self.add(path, f"must be >= 0, got {number}")
            return None
        return number

    def read(self, document: object) -> SellingPolicy | None:
        """Validate the whole document and build the policy (meaningful only without problems)."""
        if document is None:
            self.add("<root>", "the policy file is empty")
            return None
        top = self.mapping(document, "", TOP_KEYS)
        if top is None:
            return None
        currency = self.currency(top)
        start = self.start(top)
        grace = self.grace(top)
        tiers = self.tiers(top)
        types = self.gpu_types(top, tiers)
        contracts = self.contracts(top, tiers, types)
        sweep = self.sweep(top)
        if self.problems:
            return None
        assert currency is not None and start is not None and grace is not None
        assert tiers is not None and types is not None
        return SellingPolicy(
            gpu_types=types,
            tiers=tiers,
            currency=currency,
            start=start,
            spot_grace_s=grace,
            contracts=contracts,
            sweep=sweep,
        )

    def currency(self, top: Mapping[Any, Any]) -> str | None:
        """Prices are compared with the fleet's costs, so they must be in the same currency."""
        fleet_currency = next(iter(self.fleet.node_models.values())).currency
        value = top.get("currency", fleet_currency)
        if not isinstance(value, str) or not _CURRENCY.match(value):
            self.add("currency", f"must be a three-letter code like USD, got {describe(value)}")
            return None
        if value != fleet_currency:
            self.add("currency", f"the fleet's costs are in {fleet_currency}, prices in {value}")
            return None
        return value

    def start(self, top: Mapping[Any, Any]) -> datetime | None:
        """The instant trace second 0 maps to: a date (midnight UTC) or a time with its zone."""
        value = top.get("start", DEFAULT_START)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                self.add("start", "must say its time zone, e.g. 2026-01-01T00:00:00Z")
                return None
            return value.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=UTC)
        self.add(
            "start", f"must be a date or a time like 2026-01-01T00:00:00Z, got {describe(value)}"
        )
        return None

    def grace(self, top: Mapping[Any, Any]) -> int | None:
        """Seconds a preempted spot job keeps its GPUs after the notice."""
        value = top.get("spot_grace_s", DEFAULT_GRACE_SECONDS)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add("spot_grace_s", f"must be a whole number of seconds, got {describe(value)}")
            return None
        if not 0 <= value <= MAX_GRACE_SECONDS:
            self.add("spot_grace_s", f"must be between 0 and {MAX_GRACE_SECONDS}, got {value}")
            return None
        return value

    def tiers(self, top: Mapping[Any, Any]) -> tuple[Tier, ...] | None:
        """The tiers offered to external customers, each once."""
        value = top.get("tiers", [t.value for t in DEFAULT_TIERS])
        if not isinstance(value, list) or not value:
            self.add("tiers", f"must be a non-empty list of tiers, got {describe(value)}")
            return None
        sellable = ", ".join(t.value for t in SELLABLE_TIERS)
        tiers: list[Tier] = []
        for i, item in enumerate(value):
            path = f"tiers[{i}]"
            if item == Tier.INTERNAL.value:
                self.add(path, f"internal work is not sold (sellable tiers: {sellable})")
            elif item not in {t.value for t in SELLABLE_TIERS}:
                self.add(path, f"unknown tier {describe(item, True)} (sellable tiers: {sellable})")
            elif Tier(item) in tiers:
                self.add(path, f"{item} is listed twice")
            else:
                tiers.append(Tier(item))
        if len(tiers) != len(value):
            return None
        return tuple(sorted(tiers, key=lambda t: t.rank))

    def gpu_types(
        self, top: Mapping[Any, Any], tiers: tuple[Tier, ...] | None
    ) -> dict[str, GpuTypePolicy] | None:
        """Per GPU type: the sellable cap and a price for every offered tier."""
        if "gpu_types" not in top:
            self.add("gpu_types", "missing required key")
            return None
        value = top["gpu_types"]
        if not isinstance(value, dict) or not value:
            self.add("gpu_types", f"must be a non-empty mapping, got {describe(value)}")
            return None
        known = self.fleet.gpu_types()
        types: dict[str, GpuTypePolicy] = {}
        for gpu_type, entry in value.items():
            path = f"gpu_types.{gpu_type}"
            if gpu_type not in known:
                self.add(path, f"GPU type not in the fleet (the fleet has {', '.join(known)})")
                continue
            policy = self.gpu_type(str(gpu_type), entry, path, tiers)
            if policy is not None:
                types[policy.gpu_type] = policy
        return types

    def gpu_type(
        self, gpu_type: str, entry: object, path: str, tiers: tuple[Tier, ...] | None
    ) -> GpuTypePolicy | None:
        """One GPU type's cap and prices."""
        m = self.mapping(entry, path, GPU_TYPE_KEYS)
        if m is None:
            return None
        before = len(self.problems)
        cap: Decimal | None = None
        if "sellable_cap" not in m:
            self.add(f"{path}.sellable_cap", "missing required key")
        else:
            cap = self.number(m["sellable_cap"], f"{path}.sellable_cap", fraction=True)
        prices = self.prices(m.get("prices"), f"{path}.prices", tiers)
        if len(self.problems) > before or cap is None or prices is None:
            return None
        return GpuTypePolicy(gpu_type, cap, prices)

    def prices(
        self, value: object, path: str, tiers: tuple[Tier, ...] | None
    ) -> dict[Tier, Decimal] | None:
        """A price per GPU-hour for each offered tier, and none for a tier not offered."""
        if value is None:
            self.add(path, "missing required key (a price per GPU-hour for each offered tier)")
            return None
        m = self.mapping(value, path, tuple(t.value for t in SELLABLE_TIERS))
        if m is None:
            return None
        prices: dict[Tier, Decimal] = {}
        offered = tiers or ()
        for key, raw in m.items():
            if key not in {t.value for t in SELLABLE_TIERS}:
                continue  # reported by mapping()
            if tiers is not None and Tier(key) not in offered:
                listed = ", ".join(t.value for t in offered)
                self.add(f"{path}.{key}", f"tier not offered (tiers: {listed})")
                continue
            price = self.number(raw, f"{path}.{key}")
            if price is not None:
                prices[Tier(key)] = price
        for tier in offered:
            if tier.value not in m:
                self.add(f"{path}.{tier.value}", "missing: every offered tier needs a price")
        return prices

    def contracts(
        self,
        top: Mapping[Any, Any],
        tiers: tuple[Tier, ...] | None,
        types: Mapping[str, GpuTypePolicy] | None,
    ) -> tuple[ContractTerm, ...]:
        """Reserved contracts: each within its GPU type's sellable cap, one per org and type."""
        value = top.get("contracts", [])
        if not isinstance(value, list):
            self.add("contracts", f"must be a list, got {describe(value)}")
            return ()
        if value and tiers is not None and Tier.RESERVED not in tiers:
            self.add("contracts", "reserved contracts need the reserved tier among the tiers")
            return ()
        terms: list[ContractTerm] = []
        ids: dict[str, str] = {}
        pairs: dict[tuple[str, str], str] = {}
        for i, item in enumerate(value):
            path = f"contracts[{i}]"
            term = self.contract(item, path, i, types)
            if term is None:
                continue
            if term.id in ids:
                self.add(
                    f"{path}.id", f"duplicate contract id '{term.id}' (first at {ids[term.id]})"
                )
                continue
            if (term.org, term.gpu_type) in pairs:
                first = pairs[(term.org, term.gpu_type)]
                self.add(
                    path, f"a second contract for {term.org} {term.gpu_type} (first at {first})"
                )
                continue
            ids[term.id] = path
            pairs[(term.org, term.gpu_type)] = path
            terms.append(term)
        self.contracts_fit(terms, types or {})
        return tuple(terms)

    def contract(
        self, item: object, path: str, index: int, types: Mapping[str, GpuTypePolicy] | None
    ) -> ContractTerm | None:
        """One contract; its price defaults to its GPU type's reserved price."""
        m = self.mapping(item, path, CONTRACT_KEYS)
        if m is None:
            return None
        before = len(self.problems)
        contract_id = self.name(m.get("id", f"contract-{index + 1}"), f"{path}.id")
        org = self.name(m.get("org"), f"{path}.org")
        gpu_type = m.get("gpu_type")
        if gpu_type is None:
            self.add(f"{path}.gpu_type", "missing required key")
        elif types is not None and gpu_type not in types:
            self.add(f"{path}.gpu_type", f"{describe(gpu_type, True)} is not sold by this policy")
        gpus = m.get("gpus")
        if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
            self.add(f"{path}.gpus", f"must be a whole number >= 1, got {describe(gpus, True)}")
        price: Decimal | None = None
        if "price" in m:
            price = self.number(m["price"], f"{path}.price")
        elif types is not None and isinstance(gpu_type, str) and gpu_type in types:
            price = types[gpu_type].prices.get(Tier.RESERVED)
        if len(self.problems) > before or types is None:
            return None
        assert contract_id is not None and org is not None and price is not None
        assert isinstance(gpus, int)
        return ContractTerm(contract_id, org, str(gpu_type), gpus, price)

    def contracts_fit(self, terms: list[ContractTerm], types: Mapping[str, GpuTypePolicy]) -> None:
        """Contracted GPUs count in full against the cap, so they must fit under it."""
        for gpu_type, policy in types.items():
            held = sum(t.gpus for t in terms if t.gpu_type == gpu_type)
            room = sellable_gpus(policy.sellable_cap, self.fleet.gpus_of_type(gpu_type))
            if held > room:
                self.add(
                    "contracts",
                    f"contracts for {gpu_type} total {held} GPUs, above its sellable cap"
                    f" ({policy.sellable_cap} × {self.fleet.gpus_of_type(gpu_type)} GPUs"
                    f" = {room})",
                )

    def name(self, value: object, path: str) -> str | None:
        """A name (letters, digits, '.', '_', '-')."""
        if value is None:
            self.add(path, "missing required key")
            return None
        if not isinstance(value, str) or not _NAME.match(value) or len(value) > 128:
            self.add(
                path, f"must be a name (letters, digits, '.', '_', '-'), got {describe(value)}"
            )
            return None
        return value

    def sweep(self, top: Mapping[Any, Any]) -> tuple[Decimal, ...]:
        """Caps to replay the policy at, each a fraction, in the order given."""
        value = top.get("sweep", [])
        if not isinstance(value, list):
            self.add("sweep", f"must be a list of fractions, got {describe(value)}")
            return ()
        caps = [self.number(v, f"sweep[{i}]", fraction=True) for i, v in enumerate(value)]
        return tuple(c for c in caps if c is not None)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
