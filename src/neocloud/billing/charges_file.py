"""The charge file: YAML text → a Charge (model, tiers, packages), or every problem, by line.

A file holds one charge with the fields its model needs and no other, judged by the API's
bounds, so a file that reads cleanly is one the server accepts:

    model: graduated
    tiers:
      - {up_to: 1000000, unit_price: 0}
      - {unit_price: 0.000002}

Numbers may be quoted ("0.5"). The format: docs/metering.md and docs/examples/token-price.yaml.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from neocloud.billing.charges import (
    MAX_TIERS,
    MOST_AMOUNT,
    MOST_UNIT_PRICE,
    Charge,
    ChargeModel,
    PriceTier,
)
from neocloud.domain.yaml_reader import INVALID, Invalid, Node, Parsed, read_yaml
from neocloud.domain.yaml_shapes import (
    Check,
    Choice,
    Field,
    Fields,
    Number,
    Raw,
    Record,
    Shape,
    Then,
)

MODELS = tuple(m.value for m in ChargeModel)
CHARGE_KEYS = ("model", "unit_price", "tiers", "package_size", "package_price")
TIER_KEYS = ("up_to", "unit_price", "flat_fee")
# Which keys each model needs; the rest it refuses (the billing core would refuse them too).
NEEDS = {
    "per_unit": ("unit_price",),
    "graduated": ("tiers",),
    "volume": ("tiers",),
    "package": ("package_size", "package_price"),
}


def read_charge(text: str) -> Parsed[Charge]:
    """The charge a file describes, or every problem found in it."""
    empty = "the file is empty (expected a charge mapping with a 'model')"
    return read_yaml(text, _FILE.read, empty=empty)


def _positive(value: Decimal) -> str | None:
    return None if value > 0 else f"must be greater than 0, got {format(value, 'f')}"


def _not_negative(value: Decimal) -> str | None:
    return None if value >= 0 else f"must not be negative, got {format(value, 'f')}"


def _at_most(most: Decimal) -> Check[Decimal]:
    return lambda value: None if value <= most else f"must be at most {most}, got {value:f}"


def _amount(*checks: Check[Decimal]) -> Number:
    """An exact, finite number (quoted numbers count) within the API's bounds."""
    return Number(checks=checks, quoted=True, finite="must be a finite number, got {raw}")


_PRICE = _amount(_not_negative, _at_most(MOST_UNIT_PRICE))
_BOUND = _amount(_positive)
_TIER = Fields(
    {
        "unit_price": Field(_PRICE, required=True),
        "flat_fee": Field(_amount(_not_negative, _at_most(MOST_AMOUNT)), default=Decimal(0)),
        # Read with its neighbours: only the last tier may (and must) leave it out.
        "up_to": Field(Raw()),
    },
    show_strings=True,
    expected=f"a mapping ({', '.join(TIER_KEYS)})",
    unknown=f"unknown key (expected {', '.join(TIER_KEYS)})",
)


class _Tiers(Shape[tuple[PriceTier, ...]]):
    """Ascending tiers, each a mapping; only the last may (and must) leave up_to out."""

    def read(self, node: Node) -> tuple[PriceTier, ...] | Invalid:
        """Every tier in order, each problem at its tier's place."""
        if not node.is_list:
            node.problem(f"must be a list of tiers, got {node.describe(show_strings=True)}")
            return INVALID
        items = node.items()
        if not items:
            node.problem("must list at least one tier")
            return INVALID
        if len(items) > MAX_TIERS:
            node.problem(f"takes at most {MAX_TIERS} tiers, got {len(items)}")
        tiers: list[PriceTier] = []
        previous: Decimal | None = None
        for i, item in enumerate(items):
            tier = _TIER.read(item)
            if tier is INVALID:
                continue
            up_to, previous = self.up_to(tier, last=i == len(items) - 1, previous=previous)
            if tier.ok and up_to is not INVALID:
                tiers.append(PriceTier(up_to, tier["unit_price"], tier["flat_fee"]))
        return tuple(tiers) if len(tiers) == len(items) else INVALID

    @staticmethod
    def up_to(
        tier: Record, *, last: bool, previous: Decimal | None
    ) -> tuple[Decimal | Invalid | None, Decimal | None]:
        """A tier's upper bound (above the previous one; none for the last tier only), and
        the bound the next tier must be above."""
        where = tier.place("up_to")
        entry = tier.node.get("up_to")
        if entry is None or entry.is_null:
            if not last:
                tier.node.reading.add(where, "only the last tier may leave up_to out")
                return INVALID, previous
            return None, previous
        if last:
            tier.node.reading.add(where, "the last tier has no upper bound: leave up_to out")
            return INVALID, previous
        bound = _BOUND.read(entry)
        if bound is INVALID:
            return INVALID, previous
        if previous is not None and bound <= previous:
            message = f"must be above the previous tier's up_to ({format(previous, 'f')})"
            tier.node.reading.add(where, message)
            # Still the bound the next tier is compared with, as written.
            return INVALID, bound
        return bound, bound


def _charge(record: Record, node: Node) -> Charge | Invalid:
    """The fields the charge's model needs, present, and the others absent; then the Charge."""
    model = record["model"]
    if model is not INVALID:
        for key in CHARGE_KEYS[1:]:
            needed = key in NEEDS[model]
            if needed and not record.has(key):
                node.reading.add(record.place(key), f"a {model} charge needs {key}")
            elif not needed and record.has(key):
                node.reading.add(record.place(key), f"a {model} charge takes no {key}")
    if not record.ok:
        return INVALID
    values: dict[str, Any] = {k: record[k] for k in CHARGE_KEYS[1:] if record.has(k)}
    try:
        return Charge(ChargeModel(model), **values)
    except ValueError as exc:  # pragma: no cover - every rule of Charge is checked above
        node.problem(str(exc))
        return INVALID


_FILE = Then(
    Fields(
        {
            "model": Field(Choice(MODELS), required=True),
            "unit_price": Field(_PRICE),
            "package_size": Field(_BOUND),
            "package_price": Field(_amount(_not_negative, _at_most(MOST_AMOUNT))),
            "tiers": Field(_Tiers()),
        },
        expected="a mapping with a 'model' key",
        show_strings=True,
        unknown=f"unknown key (expected {', '.join(CHARGE_KEYS)})",
    ),
    _charge,
)

__all__ = ["CHARGE_KEYS", "MODELS", "NEEDS", "TIER_KEYS", "read_charge"]
