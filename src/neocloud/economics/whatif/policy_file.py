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

from neocloud.domain.exact_yaml import FileProblem, describe
from neocloud.domain.fleet import Fleet
from neocloud.domain.jobs import DEFAULT_GRACE_SECONDS, Tier
from neocloud.domain.yaml_reader import INVALID, Invalid, Node, read_yaml
from neocloud.domain.yaml_shapes import (
    Field,
    Fields,
    Integer,
    ListOf,
    MapOf,
    Number,
    Raw,
    Record,
    Shape,
    Text,
    Then,
    valid,
)
from neocloud.economics.whatif.policy import (
    DEFAULT_START,
    SELLABLE_TIERS,
    ContractTerm,
    GpuTypePolicy,
    SellingPolicy,
)
from neocloud.scheduler.admission.limits import sellable_gpus

DEFAULT_TIERS = (Tier.ON_DEMAND, Tier.SPOT)
# A day of grace is already far beyond any engine's notice period: a larger value is a typo.
MAX_GRACE_SECONDS = 86_400

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SELLABLE = tuple(t.value for t in SELLABLE_TIERS)
_TIER_LIST = "a non-empty list of tiers"


@dataclass(frozen=True, slots=True)
class PolicyParse:
    """A SellingPolicy when the file has no problems, else None and every problem."""

    policy: SellingPolicy | None
    problems: list[FileProblem]


def parse_policy(text: str, fleet: Fleet) -> PolicyParse:
    """Parse and validate a policy file against the fleet it will sell, reporting every problem."""
    parsed = read_yaml(text, _PolicyShape(fleet).read, empty="the policy file is empty")
    return PolicyParse(parsed.value, parsed.problems)


# -- values ----------------------------------------------------------------------------------


def _not_negative(value: Decimal) -> str | None:
    return None if value >= 0 else f"must be >= 0, got {value}"


def _fraction(value: Decimal) -> str | None:
    inside = Decimal(0) <= value <= Decimal(1)
    return None if inside else f"must be a fraction between 0 and 1, got {value}"


_PRICE = Number(checks=(_not_negative,))
_FRACTION = Number(checks=(_fraction,))


def _name(value: object) -> str | None:
    """Check: a name (letters, digits, '.', '_', '-'); null is a missing key."""
    if value is None:
        return "missing required key"
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > 128:
        return f"must be a name (letters, digits, '.', '_', '-'), got {describe(value)}"
    return None


def _start(value: Any, node: Node) -> datetime | Invalid:
    """The instant trace second 0 maps to: a date (midnight UTC) or a time with its zone."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            node.problem("must say its time zone, e.g. 2026-01-01T00:00:00Z")
            return INVALID
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    node.problem(f"must be a date or a time like 2026-01-01T00:00:00Z, got {node.describe()}")
    return INVALID


def _tiers(values: list[Any], node: Node) -> tuple[Tier, ...] | Invalid:
    """The tiers offered to external customers, each once, in rank order."""
    sellable = ", ".join(_SELLABLE)
    tiers: list[Tier] = []
    for item, value in zip(node.items(), values, strict=True):
        if value == Tier.INTERNAL.value:
            item.problem(f"internal work is not sold (sellable tiers: {sellable})")
        elif value not in _SELLABLE:
            item.problem(f"unknown tier {item.describe(True)} (sellable tiers: {sellable})")
        elif Tier(value) in tiers:
            item.problem(f"{value} is listed twice")
        else:
            tiers.append(Tier(value))
    if len(tiers) != len(values):
        return INVALID
    return tuple(sorted(tiers, key=lambda t: t.rank))


def _offered(tiers: object) -> tuple[Tier, ...] | None:
    """The offered tiers, or None when the file's tiers had a problem (then nothing is judged
    against them)."""
    return tiers if isinstance(tiers, tuple) else None


# -- the file --------------------------------------------------------------------------------


class _PolicyShape(Shape[SellingPolicy]):
    """The whole file, judged against the fleet it will sell."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.currency = next(iter(fleet.node_models.values())).currency
        code = "a three-letter code like USD"
        self.root = Fields(
            {
                "currency": Field(
                    Text(expected=code, checks=(self.same_currency,)), default=self.currency
                ),
                "start": Field(Then(Raw(), _start), default=DEFAULT_START),
                "spot_grace_s": Field(
                    Integer(expected="a whole number of seconds", checks=(_grace,)),
                    default=DEFAULT_GRACE_SECONDS,
                ),
                "tiers": Field(
                    Then(ListOf(Raw(), expected=_TIER_LIST, empty=_EMPTY_TIERS), _tiers),
                    default=tuple(sorted(DEFAULT_TIERS, key=lambda t: t.rank)),
                ),
                "gpu_types": Field(lambda r: self.gpu_types(_offered(r["tiers"])), required=True),
                "contracts": Field(lambda r: _Contracts(self.fleet, r), default=()),
                "sweep": Field(ListOf(_FRACTION, expected="a list of fractions"), default=[]),
            }
        )

    def same_currency(self, value: str) -> str | None:
        """Prices are compared with the fleet's costs, so they must be in the same currency."""
        if not _CURRENCY.match(value):
            return "must be a three-letter code like USD, got a string"
        if value != self.currency:
            return f"the fleet's costs are in {self.currency}, prices in {value}"
        return None

    def read(self, node: Node) -> SellingPolicy | Invalid:
        """Validate the whole document and build the policy when there is no problem."""
        record = self.root.read(node)
        if record is INVALID or not record.ok:
            return INVALID
        return SellingPolicy(
            gpu_types=record["gpu_types"],
            tiers=record["tiers"],
            currency=record["currency"],
            start=record["start"],
            spot_grace_s=record["spot_grace_s"],
            contracts=record["contracts"],
            sweep=tuple(valid(record["sweep"])),
        )

    def gpu_types(self, tiers: tuple[Tier, ...] | None) -> Shape[dict[str, GpuTypePolicy]]:
        """Per GPU type of the fleet: the sellable cap and a price for every offered tier."""
        known = self.fleet.gpu_types()

        def in_fleet(key: object) -> str | None:
            return (
                None
                if key in known
                else f"GPU type not in the fleet (the fleet has {', '.join(known)})"
            )

        def entry(gpu_type: str) -> Shape[GpuTypePolicy]:
            shape = Fields(
                {
                    "sellable_cap": Field(_FRACTION, required=True),
                    "prices": Field(
                        _prices(tiers),
                        required=True,
                        null_is_absent=True,
                        missing="missing required key (a price per GPU-hour for each offered tier)",
                    ),
                }
            )
            return Then(
                shape,
                lambda r, _: (
                    GpuTypePolicy(gpu_type, r["sellable_cap"], r["prices"]) if r.ok else INVALID
                ),
            )

        return MapOf(
            entry,
            key_checks=(in_fleet,),
            expected="a non-empty mapping",
            empty="must be a non-empty mapping, got a mapping",
        )


_EMPTY_TIERS = f"must be {_TIER_LIST}, got a list"


def _gpus(value: object) -> str | None:
    """Check: a contract's whole number of GPUs, at least one."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return f"must be a whole number >= 1, got {describe(value, True)}"


_NO_GPUS = _gpus(None) or ""


def _grace(value: int) -> str | None:
    inside = 0 <= value <= MAX_GRACE_SECONDS
    return None if inside else f"must be between 0 and {MAX_GRACE_SECONDS}, got {value}"


def _prices(tiers: tuple[Tier, ...] | None) -> Shape[dict[Tier, Decimal]]:
    """A price per GPU-hour for each offered tier, and none for a tier not offered."""
    offered = tiers or ()

    def sellable(key: object) -> str | None:
        if key not in _SELLABLE:
            return f"unknown key (allowed: {', '.join(_SELLABLE)})"
        if tiers is not None and Tier(str(key)) not in offered:
            return f"tier not offered (tiers: {', '.join(t.value for t in offered)})"
        return None

    def every_offered(given: dict[str, Decimal], node: Node) -> dict[Tier, Decimal]:
        for tier in offered:
            if tier.value not in node.entries():
                node.reading.add(node.at(tier.value), "missing: every offered tier needs a price")
        return {Tier(k): v for k, v in given.items()}

    return Then(MapOf(_PRICE, key_checks=(sellable,)), every_offered)


class _Contracts(Shape[tuple[ContractTerm, ...]]):
    """Reserved contracts: each within its GPU type's sellable cap, one per org and type."""

    def __init__(self, fleet: Fleet, policy: Record) -> None:
        self.fleet = fleet
        self.tiers = _offered(policy["tiers"])
        types = policy["gpu_types"]
        self.types: Mapping[str, GpuTypePolicy] | None = None if types is INVALID else types

    def read(self, node: Node) -> tuple[ContractTerm, ...] | Invalid:
        """Every contract, then the rules between them (ids, org and type, the caps)."""
        if not node.is_list:
            node.problem(f"must be a list, got {node.describe()}")
            return INVALID
        items = node.items()
        if items and self.tiers is not None and Tier.RESERVED not in self.tiers:
            node.problem("reserved contracts need the reserved tier among the tiers")
            return INVALID
        terms: list[ContractTerm] = []
        ids: dict[str, str] = {}
        pairs: dict[tuple[str, str], str] = {}
        for i, item in enumerate(items):
            term = self.contract(item, i)
            if term is INVALID:
                continue
            path = item.place.path
            if term.id in ids:
                message = f"duplicate contract id '{term.id}' (first at {ids[term.id]})"
                item.reading.add(item.at("id"), message)
                continue
            if (term.org, term.gpu_type) in pairs:
                first = pairs[(term.org, term.gpu_type)]
                item.problem(f"a second contract for {term.org} {term.gpu_type} (first at {first})")
                continue
            ids[term.id] = path
            pairs[(term.org, term.gpu_type)] = path
            terms.append(term)
        self.fit(terms, node)
        return tuple(terms)

    def contract(self, node: Node, index: int) -> ContractTerm | Invalid:
        """One contract; its price defaults to its GPU type's reserved price."""
        record = Fields(
            {
                "id": Field(Raw(checks=(_name,)), default=f"contract-{index + 1}"),
                "org": Field(Raw(checks=(_name,)), required=True),
                "gpu_type": Field(Raw(checks=(self.sold,)), required=True),
                "gpus": Field(Raw(checks=(_gpus,)), required=True, missing=_NO_GPUS),
                "price": Field(_PRICE),
            }
        ).read(node)
        if record is INVALID or not record.ok or self.types is None:
            return INVALID
        gpu_type = str(record["gpu_type"])
        price = record["price"]
        if price is None:
            price = self.types[gpu_type].prices.get(Tier.RESERVED)
        if price is None:
            return INVALID  # the type has no reserved price: the tiers had a problem
        return ContractTerm(record["id"], record["org"], gpu_type, record["gpus"], price)

    def sold(self, value: object) -> str | None:
        """Check: a GPU type this policy sells (null is a missing key)."""
        if value is None:
            return "missing required key"
        if self.types is not None and value not in self.types:
            return f"{describe(value, True)} is not sold by this policy"
        return None

    def fit(self, terms: list[ContractTerm], node: Node) -> None:
        """Contracted GPUs count in full against the cap, so they must fit under it."""
        for gpu_type, policy in (self.types or {}).items():
            held = sum(t.gpus for t in terms if t.gpu_type == gpu_type)
            total = self.fleet.gpus_of_type(gpu_type)
            room = sellable_gpus(policy.sellable_cap, total)
            if held > room:
                node.problem(
                    f"contracts for {gpu_type} total {held} GPUs, above its sellable cap"
                    f" ({policy.sellable_cap} × {total} GPUs = {room})"
                )
