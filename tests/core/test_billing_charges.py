"""Charge models: per unit, graduated, volume and package amounts, exact, as Lago defines them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neocloud.billing.charges import (
    Charge,
    ChargeModel,
    PriceTier,
    charge_amount,
    packages,
    scaled_charge_amount,
    volume_tier,
)

D = Decimal

# Lago's graduated example: $1 for the first 100 calls, $0.50 for the next 100, $0.10 after;
# here with flat fees on the first two tiers to show when they are paid.
GRADUATED = Charge.graduated(
    PriceTier(D(100), D("1.00"), D("5")),
    PriceTier(D(200), D("0.50"), D("2")),
    PriceTier(None, D("0.10")),
)
# Lago's volume example: 65,000 API calls cost 65,000 × $0.0006 + $10 = $49.
VOLUME = Charge.volume(
    PriceTier(D(10_000), D("0.0010"), D(10)),
    PriceTier(D(50_000), D("0.0008"), D(10)),
    PriceTier(D(100_000), D("0.0006"), D(10)),
    PriceTier(None, D("0.0004"), D(10)),
)
PACKAGE = Charge.package(D(1000), D("2.00"))
PER_UNIT = Charge.per_unit(D("0.25"))


@pytest.mark.parametrize(
    ("charge", "quantity", "amount"),
    [
        (PER_UNIT, "0", "0"),
        (PER_UNIT, "3", "0.75"),
        (PER_UNIT, "0.001", "0.00025"),
        (GRADUATED, "0", "0"),
        (GRADUATED, "0.5", "5.5"),
        (GRADUATED, "100", "105"),
        (GRADUATED, "100.5", "107.25"),
        (GRADUATED, "150", "132"),
        (GRADUATED, "200", "157"),
        (GRADUATED, "250", "162"),
        (VOLUME, "0", "0"),
        (VOLUME, "1", "10.0010"),
        (VOLUME, "10000", "20.0000"),
        (VOLUME, "10001", "18.0008"),
        (VOLUME, "65000", "49.0000"),
        (VOLUME, "200000", "90.0000"),
        (PACKAGE, "0", "0"),
        (PACKAGE, "1", "2.00"),
        (PACKAGE, "1000", "2.00"),
        (PACKAGE, "1000.000001", "4.00"),
        (PACKAGE, "4500", "10.00"),
    ],
    ids=[
        "per-unit-zero",
        "per-unit",
        "per-unit-fraction",
        "graduated-zero-pays-no-flat-fee",
        "graduated-first-unit-pays-first-flat-fee",
        "graduated-upper-bound-is-inclusive",
        "graduated-just-past-a-bound-pays-the-next-flat-fee",
        "graduated-lago-middle-tier",
        "graduated-second-bound",
        "graduated-last-tier",
        "volume-zero",
        "volume-first-tier",
        "volume-upper-bound-inclusive",
        "volume-next-tier-cheaper-for-all",
        "volume-lago-example",
        "volume-last-tier",
        "package-zero",
        "package-started-is-whole",
        "package-exact",
        "package-just-over",
        "package-four-and-a-half",
    ],
)
def test_charge_amounts(charge: Charge, quantity: str, amount: str) -> None:
    assert charge_amount(charge, D(quantity)) == D(amount)


def test_scaled_amounts_price_seconds_against_an_hourly_tier_exactly() -> None:
    # 150 GPU-hours as seconds, against tiers in GPU-hours: × 3600, without dividing.
    seconds = D(150 * 3600)
    assert scaled_charge_amount(GRADUATED, seconds, D(3600)) == D(132) * 3600
    assert scaled_charge_amount(PACKAGE, D(3600 * 1001), D(3600)) == D("4.00") * 3600
    assert scaled_charge_amount(VOLUME, D(3600), D(3600)) == D("10.0010") * 3600


def test_volume_tier_is_the_tier_the_total_falls_in() -> None:
    assert volume_tier(VOLUME, D(0)) is None
    assert volume_tier(VOLUME, D(10_000)) == VOLUME.tiers[0]
    assert volume_tier(VOLUME, D(10_000 * 3600 + 1), D(3600)) == VOLUME.tiers[1]
    assert volume_tier(VOLUME, D(10**9)) == VOLUME.tiers[3]


@pytest.mark.parametrize(
    ("quantity", "size", "count"),
    [("0", "10", 0), ("10", "10", 1), ("10.1", "10", 2), ("0.3", "0.1", 3), ("0.31", "0.1", 4)],
)
def test_packages_are_a_ceiling_computed_exactly(quantity: str, size: str, count: int) -> None:
    assert packages(D(quantity), D(size)) == count


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "tiered"}, "charge model must be one of"),
        ({"model": ChargeModel.PER_UNIT}, "a per_unit charge needs unit_price"),
        ({"model": ChargeModel.PER_UNIT, "unit_price": D(-1)}, "unit_price must be >= 0"),
        ({"model": ChargeModel.PER_UNIT, "unit_price": D("NaN")}, "unit_price must be a finite"),
        (
            {"model": ChargeModel.PER_UNIT, "unit_price": D(1), "package_size": D(1)},
            "a per_unit charge takes no package_size",
        ),
        ({"model": ChargeModel.GRADUATED}, "a graduated charge needs tiers"),
        (
            {"model": ChargeModel.VOLUME, "tiers": (PriceTier(D(10), D(1)),)},
            "must end with an unbounded tier",
        ),
        (
            {
                "model": ChargeModel.GRADUATED,
                "tiers": (PriceTier(D(10), D(1)), PriceTier(D(10), D(1)), PriceTier(None, D(1))),
            },
            "tiers must ascend: up_to 10 follows 10",
        ),
        (
            {
                "model": ChargeModel.GRADUATED,
                "tiers": (PriceTier(None, D(1)), PriceTier(None, D(1))),
            },
            "only the last tier may be unbounded",
        ),
        (
            {"model": ChargeModel.VOLUME, "tiers": (PriceTier(None, D(1)),), "unit_price": D(1)},
            "a volume charge takes no unit_price",
        ),
        ({"model": ChargeModel.PACKAGE, "package_size": D(10)}, "needs package_price"),
        (
            {"model": ChargeModel.PACKAGE, "package_size": D(0), "package_price": D(1)},
            "package_size must be > 0",
        ),
        (
            {"model": ChargeModel.PACKAGE, "package_size": D(1), "package_price": D(-1)},
            "package_price must be >= 0",
        ),
    ],
    ids=[
        "unknown-model",
        "per-unit-without-price",
        "negative-price",
        "nan-price",
        "per-unit-with-package",
        "graduated-without-tiers",
        "tiers-not-ending-unbounded",
        "tiers-not-ascending",
        "unbounded-tier-before-last",
        "volume-with-unit-price",
        "package-without-price",
        "package-of-zero",
        "negative-package-price",
    ],
)
def test_a_charge_has_exactly_the_fields_its_model_needs(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Charge(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((D(0), D(1)), "tier up_to must be > 0"),
        ((D(1), D(-1)), "tier unit_price must be >= 0"),
        ((D(1), D(1), D(-2)), "tier flat_fee must be >= 0"),
        ((None, D("Infinity")), "tier unit_price must be a finite"),
    ],
)
def test_a_tier_refuses_bad_bounds_and_prices(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PriceTier(*args)  # type: ignore[arg-type]


def test_a_negative_or_non_finite_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity must be >= 0"):
        charge_amount(PER_UNIT, D(-1))
    with pytest.raises(ValueError, match="quantity must be a finite"):
        charge_amount(PER_UNIT, D("Infinity"))
