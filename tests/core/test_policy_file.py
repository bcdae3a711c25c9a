"""The policy file: what a valid file builds, and the exact problem reported for each mistake."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neocloud.domain.fleet import Fleet
from neocloud.domain.fleet_file import parse_fleet
from neocloud.domain.jobs import Tier
from neocloud.economics.whatif.policy import DEFAULT_START
from neocloud.economics.whatif.policy_file import parse_policy
from neocloud.engines.options import OPTION_RULES
from tests.sim.helpers import REPO, fleet_yaml

VALID = """\
currency: USD
start: 2026-03-01T00:00:00Z
spot_grace_s: 60
tiers: [reserved, on_demand, spot]
gpu_types:
  h100:
    sellable_cap: 0.3
    prices: {reserved: 1.80, on_demand: 2.49, spot: 1.20}
contracts:
  - {org: acme, gpu_type: h100, gpus: 4}
  - {id: big, org: globex, gpu_type: h100, gpus: 2, price: 1.5}
sweep: [0, 0.25, 1]
"""


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    parsed = parse_fleet(fleet_yaml(nodes=4), OPTION_RULES)  # 32 H100s: a 0.3 cap is 9 GPUs
    assert parsed.fleet is not None
    return parsed.fleet


def test_a_valid_file_builds_the_policy(fleet: Fleet) -> None:
    parsed = parse_policy(VALID, fleet)
    assert parsed.problems == []
    policy = parsed.policy
    assert policy is not None
    assert policy.start == datetime(2026, 3, 1, tzinfo=UTC) and policy.spot_grace_s == 60
    assert policy.tiers == (Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT)
    h100 = policy.gpu_types["h100"]
    # Exact decimals from the file's text, never binary floats.
    assert h100.sellable_cap == Decimal("0.3") and h100.prices[Tier.ON_DEMAND] == Decimal("2.49")
    assert [(c.id, c.org, c.gpus, c.unit_price) for c in policy.contracts] == [
        ("contract-1", "acme", 4, Decimal("1.80")),  # the reserved price by default
        ("big", "globex", 2, Decimal("1.5")),
    ]
    assert policy.sweep == (Decimal(0), Decimal("0.25"), Decimal(1))


def test_defaults(fleet: Fleet) -> None:
    text = "gpu_types:\n  h100: {sellable_cap: 0.5, prices: {on_demand: 2, spot: 1}}\n"
    policy = parse_policy(text, fleet).policy
    assert policy is not None
    assert (policy.currency, policy.start, policy.spot_grace_s) == ("USD", DEFAULT_START, 30)
    assert policy.tiers == (Tier.ON_DEMAND, Tier.SPOT)
    assert policy.contracts == () and policy.sweep == ()


def test_a_date_means_midnight_utc(fleet: Fleet) -> None:
    text = VALID.replace("2026-03-01T00:00:00Z", "2026-04-01")
    policy = parse_policy(text, fleet).policy
    assert policy is not None and policy.start == datetime(2026, 4, 1, tzinfo=UTC)


def test_the_example_policy_is_valid_for_the_philly_fleet() -> None:
    parsed = parse_fleet((REPO / "docs/examples/philly-fleet.yaml").read_text(), OPTION_RULES)
    assert parsed.fleet is not None
    result = parse_policy((REPO / "docs/examples/policy.yaml").read_text(), parsed.fleet)
    assert result.problems == []


BASE = "gpu_types:\n  h100:\n    sellable_cap: 0.3\n    prices: {on_demand: 2.49, spot: 1.20}\n"

# (what is wrong, the file, the problems as "line: path: message")
CASES = [
    (
        "unknown top-level key",
        BASE + "sellable: 0.3\n",
        [
            "5: sellable: unknown key (allowed: currency, start, spot_grace_s, tiers, gpu_types,"
            " contracts, sweep)"
        ],
    ),
    (
        "unknown key in a GPU type",
        BASE.replace("sellable_cap: 0.3", "sellable_cap: 0.3\n    cap: 0.5"),
        ["4: gpu_types.h100.cap: unknown key (allowed: sellable_cap, prices)"],
    ),
    (
        "negative price",
        BASE.replace("spot: 1.20", "spot: -1.20"),
        ["4: gpu_types.h100.prices.spot: must be >= 0, got -1.20"],
    ),
    (
        "price as text",
        BASE.replace("spot: 1.20", "spot: cheap"),
        ["4: gpu_types.h100.prices.spot: must be a number, got 'cheap'"],
    ),
    (
        "cap above 1",
        BASE.replace("0.3", "1.5"),
        ["3: gpu_types.h100.sellable_cap: must be a fraction between 0 and 1, got 1.5"],
    ),
    (
        "negative cap",
        BASE.replace("0.3", "-0.1"),
        ["3: gpu_types.h100.sellable_cap: must be a fraction between 0 and 1, got -0.1"],
    ),
    (
        "sweep point outside [0, 1]",
        BASE + "sweep: [0, 0.5, 2]\n",
        ["5: sweep[2]: must be a fraction between 0 and 1, got 2"],
    ),
    (
        "GPU type not in the fleet",
        BASE + "  b200:\n    sellable_cap: 0.1\n    prices: {on_demand: 5, spot: 2}\n",
        ["5: gpu_types.b200: GPU type not in the fleet (the fleet has h100)"],
    ),
    (
        "internal is not sellable",
        "tiers: [internal, spot]\n" + BASE.replace("on_demand: 2.49, ", ""),
        ["1: tiers[0]: internal work is not sold (sellable tiers: reserved, on_demand, spot)"],
    ),
    (
        "unknown tier",
        "tiers: [gold]\n" + BASE,
        ["1: tiers[0]: unknown tier 'gold' (sellable tiers: reserved, on_demand, spot)"],
    ),
    (
        "price for a tier not offered",
        "tiers: [on_demand]\n" + BASE,
        ["5: gpu_types.h100.prices.spot: tier not offered (tiers: on_demand)"],
    ),
    (
        "offered tier without a price",
        "tiers: [on_demand, spot, reserved]\n" + BASE,
        ["5: gpu_types.h100.prices.reserved: missing: every offered tier needs a price"],
    ),
    (
        "currency other than the fleet's",
        "currency: EUR\n" + BASE,
        ["1: currency: the fleet's costs are in USD, prices in EUR"],
    ),
    (
        "grace period negative",
        "spot_grace_s: -5\n" + BASE,
        ["1: spot_grace_s: must be between 0 and 86400, got -5"],
    ),
    (
        "a start without a time zone",
        "start: 2026-01-01T00:00:00\n" + BASE,
        ["1: start: must say its time zone, e.g. 2026-01-01T00:00:00Z"],
    ),
    (
        "contracts without the reserved tier",
        BASE + "contracts:\n  - {org: acme, gpu_type: h100, gpus: 4}\n",
        ["5: contracts: reserved contracts need the reserved tier among the tiers"],
    ),
    (
        "contracts above the cap",
        "tiers: [reserved]\n"
        "gpu_types:\n  h100: {sellable_cap: 0.25, prices: {reserved: 2}}\n"
        "contracts:\n"
        "  - {org: acme, gpu_type: h100, gpus: 6}\n"
        "  - {org: b, gpu_type: h100, gpus: 3}\n",
        [
            "4: contracts: contracts for h100 total 9 GPUs, above its sellable cap"
            " (0.25 × 32 GPUs = 8)"
        ],
    ),
    (
        "every problem at once",
        "tiers: [on_demand]\ncolour: blue\n"
        "gpu_types:\n  h100: {sellable_cap: 2, prices: {on_demand: -1}}\n",
        [
            "2: colour: unknown key (allowed: currency, start, spot_grace_s, tiers, gpu_types,"
            " contracts, sweep)",
            "4: gpu_types.h100.sellable_cap: must be a fraction between 0 and 1, got 2",
            "4: gpu_types.h100.prices.on_demand: must be >= 0, got -1",
        ],
    ),
    (
        "a contract priced by default while the tiers have a problem",
        "tiers: [gold]\n" + BASE + "contracts:\n  - {org: acme, gpu_type: h100, gpus: 1}\n",
        ["1: tiers[0]: unknown tier 'gold' (sellable tiers: reserved, on_demand, spot)"],
    ),
    (
        "a contract's id twice, on the second id's line",
        "tiers: [reserved]\ngpu_types:\n  h100: {sellable_cap: 0.5, prices: {reserved: 2}}\n"
        "contracts:\n  - {id: a, org: x, gpu_type: h100, gpus: 1}\n"
        "  - org: y\n    gpu_type: h100\n    id: a\n    gpus: 1\n",
        ["8: contracts[1].id: duplicate contract id 'a' (first at contracts[0])"],
    ),
    (
        "not YAML",
        "gpu_types: [\n",
        ["2: <yaml>: expected the node content, but found '<stream end>'"],
    ),
    ("empty", "", ["None: <root>: the policy file is empty"]),
]


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_names_its_line_key_and_reason(
    fleet: Fleet, case: str, text: str, expected: list[str]
) -> None:
    parsed = parse_policy(text, fleet)
    assert parsed.policy is None
    assert [f"{p.line}: {p}" for p in parsed.problems] == expected
