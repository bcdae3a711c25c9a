"""Lending, borrowing and reclaim (DESIGN.md §4), one table per rule.

Internal orgs form a cohort per GPU type: an org may hold its quota, and up to its borrow limit
more out of quota other internal orgs leave unused. Capacity an internal org or a reserved
contract does not use may run spot work; the owner reclaims it by preemption. Reserved work needs
a contract; contracts count in full against the sellable cap (spot running in a contract's
unused room is not counted twice).
"""

from __future__ import annotations

import pytest

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.scheduler import NodeState, PendingJob, RunningJob, WaitReason, schedule
from tests.core.test_scheduler_support import (
    job,
    node,
    rules,
    running,
    snapshot,
    started,
    victims,
    wait_of,
    waits,
)

TWO = [node("n1"), node("n2")]
THREE = [node("n1"), node("n2"), node("n3")]
# acme and beta: 8 h100 of quota each; acme may borrow 8 more.
QUOTAS = {("acme", "h100"): 8, ("beta", "h100"): 8}
BORROW = {("acme", "h100"): 8}
PRODUCTION, RESEARCH, BATCH = PriorityClass.PRODUCTION, PriorityClass.RESEARCH, PriorityClass.BATCH

ACME_AT_QUOTA = running("a1", Tier.INTERNAL, {"n1": range(8)}, started=1)
# acme holds 16: 8 within its quota, 8 borrowed from beta's unused quota.
ACME_BORROWING = [ACME_AT_QUOTA, running("a2", Tier.INTERNAL, {"n2": range(8)}, started=2)]


# --- borrowing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("borrow", "run", "reason", "message"),
    [
        pytest.param(
            {("acme", "h100"): 4},
            [ACME_AT_QUOTA],
            WaitReason.BORROW_LIMIT,
            "borrow limit: org acme holds 8 h100 (quota 8, may borrow 4 more), needs 8 more",
            id="beyond-its-borrow-limit",
        ),
        pytest.param(
            {},
            [ACME_AT_QUOTA],
            WaitReason.QUOTA,
            "quota: org acme holds 8/8 h100, needs 8 more",
            id="no-borrow-limit-means-no-borrowing",
        ),
        pytest.param(
            BORROW,
            [ACME_AT_QUOTA, running("b", Tier.INTERNAL, {"n2": range(8)}, org="beta")],
            WaitReason.BORROW_LIMIT,
            "borrow limit: org acme would borrow 8 h100 beyond its quota of 8, but internal "
            "orgs leave only 0 unused (they hold 16 of 16 h100 quota)",
            id="only-from-quota-other-internal-orgs-leave-unused",
        ),
    ],
)
def test_borrowing_waits(
    borrow: dict[tuple[str, str], int], run: list[RunningJob], reason: WaitReason, message: str
) -> None:
    pending = job("j", Tier.INTERNAL, gpus=8)
    result = schedule(snapshot(THREE, [pending], run, quotas=QUOTAS, borrow=borrow))
    assert result.starts == ()
    assert result.preemptions == ()
    assert (wait_of(result, "j").reason, wait_of(result, "j").message) == (reason, message)


def test_an_org_borrows_quota_another_internal_org_leaves_unused() -> None:
    result = schedule(
        snapshot(THREE, [job("j", Tier.INTERNAL, gpus=8)], [ACME_AT_QUOTA], QUOTAS, borrow=BORROW)
    )
    assert list(started(result)) == ["j"]


def test_work_within_quota_goes_before_work_that_would_borrow() -> None:
    # acme has the better fair share, yet beta's job within its quota is served first; acme's
    # second job would borrow the quota beta needs, and waits.
    pending = [
        job("a1", Tier.INTERNAL, gpus=8, order=1),
        job("a2", Tier.INTERNAL, gpus=8, order=2),
        job("b", Tier.INTERNAL, gpus=8, org="beta", order=3),
    ]
    result = schedule(snapshot(TWO, pending, quotas=QUOTAS, borrow=BORROW, usage={"beta": 1e6}))
    assert set(started(result)) == {"a1", "b"}
    assert waits(result) == {"a2": WaitReason.BORROW_LIMIT}


# --- reclaiming lent quota ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "victim"),
    [
        pytest.param(PRODUCTION, "a2", id="production-reclaims"),
        pytest.param(RESEARCH, "a2", id="research-reclaims"),
        pytest.param(None, "a2", id="no-class-counts-as-research"),
        pytest.param(BATCH, None, id="batch-waits-for-it"),
    ],
)
def test_a_lender_reclaims_its_quota_from_borrowers(
    priority: PriorityClass | None, victim: str | None
) -> None:
    pending = job("j", Tier.INTERNAL, gpus=8, org="beta", priority=priority)
    result = schedule(snapshot(TWO, [pending], ACME_BORROWING, QUOTAS, borrow=BORROW))
    if victim is None:
        assert result.preemptions == ()
        assert wait_of(result, "j").message == (
            "quota: org beta holds 0/8 h100, the rest of its quota is lent to other internal "
            "orgs (they hold 16 of 16 h100 quota); batch work waits for it to be returned, "
            "production and research work reclaims it"
        )
    else:
        # Only the borrowed part goes: acme keeps the 8 GPUs of its own quota.
        assert victims(result) == {victim: "j"}
        assert rules(result) == {victim: "borrowed_reclaim"}
        assert wait_of(result, "j").message == (
            "preempting: waiting for 1 borrowed job to release 8 h100 (preempted)"
        )


def test_lent_quota_is_reclaimed_even_when_gpus_are_free() -> None:
    # Three nodes: n3 is free, but the cohort's quota is all held (acme borrowed beta's).
    pending = job("j", Tier.INTERNAL, gpus=8, org="beta", priority=PRODUCTION)
    result = schedule(snapshot(THREE, [pending], ACME_BORROWING, QUOTAS, borrow=BORROW))
    assert victims(result) == {"a2": "j"}


@pytest.mark.parametrize(
    ("pending", "run", "contracts"),
    [
        pytest.param(
            job("j", Tier.INTERNAL, gpus=8, org="beta", priority=PRODUCTION),
            [ACME_AT_QUOTA, running("o", Tier.ON_DEMAND, {"n2": range(8)})],
            {},
            id="internal-work-within-its-quota-is-never-a-victim",
        ),
        pytest.param(
            job("j", Tier.INTERNAL, gpus=8),
            [ACME_AT_QUOTA, running("s", Tier.SPOT, {"n2": range(8)})],
            {},
            id="work-that-would-borrow-preempts-nothing-not-even-spot",
        ),
        pytest.param(
            job("j", Tier.RESERVED, gpus=8),
            ACME_BORROWING,
            {("globex", "h100"): 8},
            id="external-work-never-preempts-borrowed-internal-work",
        ),
    ],
)
def test_no_reclaim(
    pending: PendingJob, run: list[RunningJob], contracts: dict[tuple[str, str], int]
) -> None:
    result = schedule(
        snapshot(TWO, [pending], run, quotas=QUOTAS, borrow=BORROW, contracts=contracts)
    )
    assert result.preemptions == ()
    assert result.starts == ()


def test_spot_goes_before_borrowed_work() -> None:
    run = [*ACME_BORROWING, running("s", Tier.SPOT, {"n3": range(8)})]
    quotas = {("acme", "h100"): 8, ("beta", "h100"): 16}
    pending = job("j", Tier.INTERNAL, gpus=8, org="beta")
    result = schedule(snapshot(THREE, [pending], run, quotas=quotas, borrow=BORROW))
    assert victims(result) == {"s": "j"}
    assert rules(result) == {"s": "spot_reclaim_for_internal"}


def test_borrowed_victims_lowest_class_first() -> None:
    run = [
        ACME_AT_QUOTA,
        running("prod", Tier.INTERNAL, {"n2": range(8)}, started=9, priority=PRODUCTION),
        running("batch", Tier.INTERNAL, {"n3": range(8)}, started=1, priority=BATCH),
    ]
    quotas = {("acme", "h100"): 8, ("beta", "h100"): 16}
    pending = job("j", Tier.INTERNAL, gpus=8, org="beta")
    result = schedule(snapshot(THREE, [pending], run, quotas=quotas, borrow={("acme", "h100"): 16}))
    assert victims(result) == {"batch": "j"}


# --- lending to spot ------------------------------------------------------------------------

HALF = {"h100": 0.5}


def test_spot_runs_in_unused_contract_room_without_counting_twice() -> None:
    # Cap 8 of 16; globex's contract of 8 counts in full, unused: spot may use that room.
    result = schedule(
        snapshot(
            TWO,
            [job("s", Tier.SPOT, gpus=8, org="initech")],
            cap=HALF,
            contracts={("globex", "h100"): 8},
        )
    )
    assert list(started(result)) == ["s"]


@pytest.mark.parametrize(
    ("pending", "quotas", "contracts", "rule"),
    [
        pytest.param(
            job("r", Tier.RESERVED, gpus=8),
            {},
            {("globex", "h100"): 8},
            "spot_reclaim_for_reserved",
            id="a-contract-owner-reclaims-its-room",
        ),
        pytest.param(
            job("i", Tier.INTERNAL, gpus=8, nodes=2),
            {("acme", "h100"): 16},
            {},
            "spot_reclaim_for_internal",
            id="an-internal-org-reclaims-its-quota",
        ),
    ],
)
def test_capacity_lent_to_spot_is_reclaimed_when_the_owner_needs_it(
    pending: PendingJob,
    quotas: dict[tuple[str, str], int],
    contracts: dict[tuple[str, str], int],
    rule: str,
) -> None:
    run = [running("s", Tier.SPOT, {"n1": range(8)}, org="initech", grace=45)]
    cap = HALF if contracts else {}
    result = schedule(snapshot(TWO, [pending], run, quotas=quotas, cap=cap, contracts=contracts))
    assert victims(result) == {"s": pending.id}
    assert rules(result) == {"s": rule}
    assert result.preemptions[0].grace_seconds == 45


# --- contracts and the sellable cap ---------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "contracts", "message"),
    [
        pytest.param(
            [],
            {},
            "contract: org globex has no active reserved h100 contract, needs 4",
            id="no-contract",
        ),
        pytest.param(
            [running("x", Tier.RESERVED, {"n1": range(8)})],
            {("globex", "h100"): 8},
            "contract: org globex holds 8/8 reserved h100, needs 4 more",
            id="contract-fully-used",
        ),
        pytest.param(
            [],
            {("initech", "h100"): 8},
            "contract: org globex has no active reserved h100 contract, needs 4",
            id="another-orgs-contract-grants-nothing",
        ),
    ],
)
def test_reserved_work_needs_room_in_its_contract(
    run: list[RunningJob], contracts: dict[tuple[str, str], int], message: str
) -> None:
    result = schedule(snapshot(TWO, [job("r", Tier.RESERVED, gpus=4)], run, contracts=contracts))
    assert waits(result) == {"r": WaitReason.CONTRACT}
    assert wait_of(result, "r").message == message


@pytest.mark.parametrize(
    ("nodes", "run", "contracts", "pending", "outcome"),
    [
        pytest.param(
            TWO,
            [],
            {("globex", "h100"): 6},
            job("o", gpus=4),
            "sellable cap: external work counts 6/8 h100 (50% of 16): 0 held, 6 more under "
            "reserved contracts, needs 4 more",
            id="unused-contracts-count-in-full",
        ),
        pytest.param(
            TWO,
            [running("s", Tier.SPOT, {"n1": range(2)}, org="initech")],
            {("globex", "h100"): 6},
            job("o", gpus=4),
            "sellable cap: external work counts 6/8 h100 (50% of 16): 2 held, 4 more under "
            "reserved contracts, needs 4 more",
            id="spot-in-contract-room-is-not-counted-twice",
        ),
        pytest.param(
            TWO,
            [running("s", Tier.SPOT, {"n1": range(8)}, org="initech")],
            {},
            job("o", gpus=4),
            "preempts s",
            id="on-demand-reclaims-cap-room-from-spot",
        ),
        pytest.param(
            TWO,
            [running("s", Tier.SPOT, {"n1": range(6)}, org="initech")],
            {("globex", "h100"): 6},
            job("o", gpus=4),
            "sellable cap: external work holds 6/8 h100 (50% of 16), needs 4 more",
            id="no-spot-release-makes-room-contracts-and-on-demand-alone-exceed",
        ),
    ],
)
def test_sellable_cap_with_contracts(
    nodes: list[NodeState],
    run: list[RunningJob],
    contracts: dict[tuple[str, str], int],
    pending: PendingJob,
    outcome: str,
) -> None:
    result = schedule(snapshot(nodes, [pending], run, cap=HALF, contracts=contracts))
    if outcome.startswith("preempts "):
        assert victims(result) == {outcome.removeprefix("preempts "): pending.id}
        assert rules(result) == {outcome.removeprefix("preempts "): "spot_reclaim_for_on_demand"}
    else:
        assert result.preemptions == ()
        assert waits(result) == {pending.id: WaitReason.SELLABLE_CAP}
        assert wait_of(result, pending.id).message == outcome
