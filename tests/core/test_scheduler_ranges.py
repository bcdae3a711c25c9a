"""A limits verdict keeps its kind while the holdings it read stay in its ranges (`ranges`).

Over random quotas, borrow limits, contracts, caps and histories of work starting, ending,
being preempted and promised, a verdict is taken for a random job; then, after every further
move of holdings: wherever the holdings are back inside the verdict's ranges, a fresh verdict
has the same kind (the same limit blocks it, or none; the same reclaim rights; preemption helps
or not alike), and the watch has told the verdict's owner as soon as a holding left a range.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.domain.jobs import PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler import PendingJob, SchedulerInput
from neocloud.scheduler.admission.books import Book
from neocloud.scheduler.admission.limits import LimitCheck, Limits
from neocloud.scheduler.admission.ranges import Ranges, Watch

INTERNAL_ORGS = ("acme", "beta")
EXTERNAL_ORGS = ("globex", "initech")
KINDS = {
    **{o: OrgKind.INTERNAL for o in INTERNAL_ORGS},
    **{o: OrgKind.EXTERNAL for o in EXTERNAL_ORGS},
}
TOTAL = 32


@dataclass
class Owner:
    limits_ok: bool = False


@dataclass(frozen=True)
class Work:
    org: str
    tier: Tier
    gpus: int


def kind_of(verdict: LimitCheck) -> tuple[object, ...]:
    """What a pass acts on: the blocking limit, whether preemption may lift it, the rights."""
    short = verdict.shortfall
    return (
        None if verdict.block is None else verdict.block.reason,
        short is None,
        # Unblocked, only whether the shortfall is met matters (see `TypePass._still_waits`).
        short.met if short is not None and verdict.block is None else None,
        verdict.reclaims_spot,
        verdict.reclaims_borrowed,
    )


def work(draw: st.DrawFn) -> Work:
    org = draw(st.sampled_from((*INTERNAL_ORGS, *EXTERNAL_ORGS)))
    if KINDS[org] is OrgKind.INTERNAL:
        tier = Tier.INTERNAL
    else:
        tier = draw(st.sampled_from([Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT]))
    return Work(org, tier, draw(st.sampled_from([1, 2, 4, 8])))


@st.composite
def limits(draw: st.DrawFn) -> SchedulerInput:
    quotas: dict[tuple[str, str], int] = {}
    borrow: dict[tuple[str, str], int] = {}
    contracts: dict[tuple[str, str], int] = {}
    for org in INTERNAL_ORGS:
        quota = draw(st.sampled_from([None, 0, 4, 8, 16]))
        if quota is not None:
            quotas[(org, "h100")] = quota
        if draw(st.booleans()):
            borrow[(org, "h100")] = draw(st.sampled_from([4, 8]))
    for org in EXTERNAL_ORGS:
        if draw(st.booleans()):
            quotas[(org, "h100")] = draw(st.sampled_from([4, 16]))
        if draw(st.booleans()):
            contracts[(org, "h100")] = draw(st.sampled_from([2, 4, 8]))
    return SchedulerInput(
        nodes=(),
        running=(),
        pending=(),
        quotas=quotas,
        borrow_limits=borrow,
        contracts=contracts,
        sellable_cap={"h100": draw(st.sampled_from([0.25, 0.5, 0.75, 1.0]))},
        org_kinds=KINDS,
    )


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, Work]]:
    moves = draw(st.lists(st.sampled_from(["start", "end", "preempt", "exit", "promise"])))
    return [(move, work(draw)) for move in moves]


def apply(limits: Limits, move: str, what: Work, state: dict[str, list[Work]]) -> None:
    """Move holdings as the scheduler does: start, end, preempt, victim exits, promise."""
    kind = KINDS[what.org]
    running, exiting, promised = state["running"], state["exiting"], state["promised"]

    def add(w: Work, sign: int, now: bool, future: bool) -> None:
        limits.add(w.org, KINDS[w.org], w.tier, "h100", sign * w.gpus, now=now, future=future)

    if move == "start":
        limits.add(what.org, kind, what.tier, "h100", what.gpus, now=True, future=True)
        running.append(what)
    elif move == "end" and running:
        add(running.pop(0), -1, True, True)
    elif move == "preempt" and running:
        victim = running.pop()
        add(victim, -1, False, True)
        exiting.append(victim)
    elif move == "exit" and exiting:
        add(exiting.pop(0), -1, True, False)
    elif move == "promise":
        if promised and what.gpus % 2:
            add(promised.pop(), -1, False, True)
        else:
            add(what, +1, False, True)
            promised.append(what)


@st.composite
def jobs(draw: st.DrawFn) -> PendingJob:
    what = work(draw)
    gpus = what.gpus * draw(st.sampled_from([1, 2]))
    return PendingJob(
        id="j",
        org=what.org,
        org_kind=KINDS[what.org],
        tier=what.tier,
        resources=Resources("h100", min(gpus, 8), max(1, gpus // 8)),
        order=0,
        priority_class=draw(st.sampled_from([None, *PriorityClass]))
        if what.tier is Tier.INTERNAL
        else None,
    )


@settings(max_examples=400, deadline=None)
@given(
    snapshot=limits(),
    before=histories(),
    job=jobs(),
    after=histories(),
)
def test_a_verdict_keeps_its_kind_inside_its_ranges(
    snapshot: SchedulerInput,
    before: list[tuple[str, Work]],
    job: PendingJob,
    after: list[tuple[str, Work]],
) -> None:
    limits = Limits(snapshot, KINDS)
    limits.set_total("h100", TOTAL)
    state: dict[str, list[Work]] = {"running": [], "exiting": [], "promised": []}
    for move, what in before:
        apply(limits, move, what, state)
    verdict = limits.check(job)
    if verdict.ranges is None:
        # Only a block that preemption may lift is never reused.
        assert verdict.block is not None and verdict.may_reclaim
        return
    owner = Owner()
    limits.watch.watch(owner, verdict.ranges.spans)
    assert limits.holds(verdict.ranges)
    for move, what in after:
        apply(limits, move, what, state)
        inside = limits.holds(verdict.ranges)
        if not inside:
            assert not owner.limits_ok, "a holding left a range and the watch did not tell"
        if inside:
            assert kind_of(limits.check(job)) == kind_of(verdict)


def test_the_watch_tells_owners_whose_range_a_holding_leaves() -> None:
    watch = Watch()
    gauge = (0, "org", "h100", "acme")
    low, high, both = Owner(), Owner(), Owner()
    for owner, (lo, hi) in ((low, (5, 1 << 62)), (high, (-(1 << 62), 9)), (both, (5, 9))):
        watch.watch(owner, {gauge: [lo, hi]})
    watch.moved(gauge, 7)
    assert (low.limits_ok, high.limits_ok, both.limits_ok) == (True, True, True)
    watch.moved(gauge, 10)
    assert (low.limits_ok, high.limits_ok, both.limits_ok) == (True, False, False)
    assert watch.fired == [high, both]
    watch.moved(gauge, 4)
    assert not low.limits_ok


def test_a_forgotten_owner_is_not_told() -> None:
    watch = Watch()
    gauge = (0, "internal", "h100", "")
    owner = Owner()
    token = watch.watch(owner, {gauge: [3, 1 << 62]})
    watch.forget(token)
    watch.moved(gauge, 0)
    assert watch.fired == [] and owner.limits_ok


def test_ranges_watched_before_thresholds_changed_are_not_renewed() -> None:
    watch = Watch()
    before = watch.watch(Owner(), {(0, "org", "h100", "acme"): [0, 5]})
    watch.fire_all()
    after = watch.watch(Owner(), {(0, "org", "h100", "acme"): [0, 5]})
    assert (watch.renewable(before), watch.renewable(after)) == (False, True)


@pytest.mark.parametrize(
    ("on_demand", "spot", "over", "span"),
    [
        # 10 + 2 > 8: a margin of 3 (12 may fall to 9), shared: each may fall by 1.
        pytest.param(10, 2, True, [9, 1 << 62], id="over"),
        # 2 + 2 <= 8: a margin of 4, shared: each may rise by 2.
        pytest.param(2, 2, False, [-(1 << 62), 4], id="under"),
    ],
)
def test_a_sum_shares_its_margin_among_the_holdings_it_moves_with(
    on_demand: int, spot: int, over: bool, span: list[int]
) -> None:
    ranges = Ranges()
    up = [((0, "on_demand", "h100", ""), on_demand), ((0, "spot", "h100", ""), spot)]
    assert ranges.sum_above(on_demand + spot, 8, up) is over
    assert ranges.spans[(0, "on_demand", "h100", "")] == span


@pytest.mark.parametrize(
    ("counted", "low", "over", "span"),
    [
        # On-demand work adds exactly its GPUs: the holding alone decides, either way.
        pytest.param(5, 4, True, [5, 1 << 62], id="on-demand-over"),
        pytest.param(4, 4, False, [-(1 << 62), 4], id="on-demand-under"),
        # Spot work adds between nothing and its GPUs: decided while clearly over or under.
        pytest.param(9, 0, True, [9, 1 << 62], id="spot-over"),
        pytest.param(4, 0, False, [-(1 << 62), 4], id="spot-under"),
    ],
)
def test_what_counts_against_the_cap_is_read_from_one_holding_when_it_decides(
    counted: int, low: int, over: bool, span: list[int]
) -> None:
    ranges = Ranges()
    reading = ((0, "counted", "h100", ""), counted)
    value = counted + low
    assert ranges.near_above(reading, low, 4, 8, (value, (), (), ())) is over
    assert ranges.spans == {reading[0]: span}


@settings(max_examples=300, deadline=None)
@given(
    held=st.fixed_dictionaries(
        {
            "on_demand": st.integers(0, 20),
            "spot": st.integers(0, 20),
            "reserved": st.integers(0, 12),
            "other": st.integers(0, 12),
        }
    ),
    contract=st.integers(0, 10),
    other_contract=st.integers(0, 10),
    tier=st.sampled_from([Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT]),
    gpus=st.integers(1, 16),
    moves=st.lists(
        st.tuples(st.sampled_from(["on_demand", "spot", "reserved", "other"]), st.integers(-3, 3)),
        max_size=6,
    ),
)
def test_what_counts_with_a_job_moves_at_most_one_per_gpu_held(
    held: dict[str, int],
    contract: int,
    other_contract: int,
    tier: Tier,
    gpus: int,
    moves: list[tuple[str, int]],
) -> None:
    """The claim `Limits` shares margins on: counted with a job rises with on-demand,
    contracted and spot GPUs, falls with unused contract room, moves either way with the
    job's org's reserved GPUs, never by more than the GPUs moved; and it lies between what
    counts without the job and that plus the job's GPUs."""
    contracts = {("globex", "h100"): contract, ("initech", "h100"): other_contract}

    def book(values: dict[str, int]) -> Book:
        b = Book(contracts)
        b.add("globex", OrgKind.EXTERNAL, Tier.RESERVED, "h100", values["reserved"])
        b.add("initech", OrgKind.EXTERNAL, Tier.RESERVED, "h100", values["other"])
        b.add("initech", OrgKind.EXTERNAL, Tier.ON_DEMAND, "h100", values["on_demand"])
        b.add("initech", OrgKind.EXTERNAL, Tier.SPOT, "h100", values["spot"])
        return b

    start = book(held)
    before, after = start.counted("h100", tier, "globex", gpus)
    assert before <= after <= before + gpus
    if tier is Tier.ON_DEMAND:
        assert after == before + gpus
    values = dict(held)
    for name, delta in moves:
        values[name] = max(0, values[name] + delta)
    moved = book(values)
    _, now = moved.counted("h100", tier, "globex", gpus)
    quantities = ("on_demand", "spot", "contracted", "unused")
    change = {
        q: getattr(moved, q).get("h100", 0) - getattr(start, q).get("h100", 0) for q in quantities
    }
    change["reserved"] = values["reserved"] - held["reserved"]
    # Up with on-demand, contracted, spot; down with unused; either way with its reserved GPUs.
    rise = max(0, change["on_demand"]) + max(0, change["contracted"]) + max(0, change["spot"])
    rise += max(0, -change["unused"]) + (abs(change["reserved"]) if tier is Tier.RESERVED else 0)
    fall = max(0, -change["on_demand"]) + max(0, -change["contracted"]) + max(0, -change["spot"])
    fall += max(0, change["unused"]) + (abs(change["reserved"]) if tier is Tier.RESERVED else 0)
    assert after - fall <= now <= after + rise
