"""Fair share inside a tier (DESIGN.md §4): orgs by decayed usage per unit of weight, lower first.

Usage is GPU-seconds halved every half-life (Slurm-style), so a heavy user cannot starve others;
inside an org, priority class then submission order. A job held back because free GPUs went to
an org of its tier with a better share waits `fair_share`, and its sentence names both shares.
"""

from __future__ import annotations

import math

import pytest

from neocloud.domain.jobs import Tier
from neocloud.scheduler import WaitReason, schedule
from neocloud.scheduler.admission.fairshare import accrue, decay, decayed_gpu_seconds, org_ranks
from neocloud.scheduler.state import Scheduler
from tests.core.test_scheduler_support import job, node, running, snapshot, started, wait_of

DAY = 86_400.0


# --- decayed usage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "elapsed", "half_life", "expected"),
    [
        pytest.param(1000.0, 0.0, DAY, 1000.0, id="no-time-no-decay"),
        pytest.param(1000.0, DAY, DAY, 500.0, id="halved-after-one-half-life"),
        pytest.param(1000.0, 3 * DAY, DAY, 125.0, id="an-eighth-after-three"),
        pytest.param(0.0, DAY, DAY, 0.0, id="nothing-stays-nothing"),
    ],
)
def test_decay(usage: float, elapsed: float, half_life: float, expected: float) -> None:
    assert decay(usage, elapsed, half_life) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("elapsed", "half_life", "field"),
    [
        pytest.param(-1.0, DAY, "elapsed_seconds", id="time-never-runs-backwards"),
        pytest.param(1.0, 0.0, "half_life_seconds", id="half-life-must-be-positive"),
    ],
)
def test_decay_refuses_bad_input(elapsed: float, half_life: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        decay(1.0, elapsed, half_life)


def test_accrue_is_the_decayed_integral_of_gpus_held() -> None:
    # Holding 8 GPUs for one half-life: 8 × h / ln 2 × (1 − 1/2).
    assert accrue(0.0, 8, DAY, DAY) == pytest.approx(8 * DAY / math.log(2) / 2)
    # Over a short interval it is almost exactly GPU-seconds.
    assert accrue(0.0, 8, 60.0, DAY) == pytest.approx(480.0, rel=1e-3)
    # Holding nothing only decays.
    assert accrue(100.0, 0, DAY, DAY) == pytest.approx(50.0)


def test_decayed_gpu_seconds_of_a_past_allocation() -> None:
    # 4 GPUs for a day that ended a day ago: accrued, then halved.
    value = decayed_gpu_seconds(4, 0.0, DAY, 2 * DAY, DAY)
    assert value == pytest.approx(accrue(0.0, 4, DAY, DAY) / 2)
    with pytest.raises(ValueError, match="ended_at"):
        decayed_gpu_seconds(4, 10.0, 5.0, 20.0, DAY)


@pytest.mark.parametrize(
    ("usage", "weights", "order"),
    [
        pytest.param({"a": 10.0, "b": 5.0}, {}, ["b", "a"], id="lower-usage-first"),
        pytest.param({"a": 10.0, "b": 6.0}, {"a": 2.0}, ["a", "b"], id="per-unit-of-weight"),
        pytest.param({}, {}, ["a", "b"], id="ties-by-name"),
    ],
)
def test_org_ranks(usage: dict[str, float], weights: dict[str, float], order: list[str]) -> None:
    ranks = org_ranks(["b", "a"], usage, weights)
    assert sorted(ranks, key=ranks.__getitem__) == order


def test_weights_must_be_positive() -> None:
    with pytest.raises(ValueError, match="weight"):
        org_ranks(["a"], {}, {"a": 0.0})


# --- fair share in a pass -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "weights", "winner"),
    [
        pytest.param({"globex": 9e6, "initech": 1e6}, {}, "initech", id="light-user-first"),
        pytest.param({"globex": 1e6, "initech": 9e6}, {}, "globex", id="either-way"),
        pytest.param(
            {"globex": 9e6, "initech": 5e6}, {"globex": 3.0}, "globex", id="weight-buys-share"
        ),
    ],
)
def test_inside_a_tier_the_org_with_the_lower_share_goes_first(
    usage: dict[str, float], weights: dict[str, float], winner: str
) -> None:
    # globex submitted first, but submission order only ranks jobs inside an org.
    pending = [
        job("g", gpus=8, org="globex", order=1),
        job("i", gpus=8, org="initech", order=2),
    ]
    result = schedule(snapshot([node("n1")], pending, usage=usage, weights=weights))
    assert [s.job_id for s in result.starts] == [winner[0]]


def test_a_heavy_user_does_not_keep_a_tier_to_itself() -> None:
    # globex queued many jobs early; initech's later job still gets the first free GPUs.
    pending = [job(f"g{i}", gpus=8, org="globex", order=i) for i in range(5)]
    pending.append(job("late", gpus=8, org="initech", order=99))
    result = schedule(snapshot([node("n1")], pending, usage={"globex": 1e7}))
    assert list(started(result)) == ["late"]


def test_fair_share_reason_names_both_shares() -> None:
    # "big" holds the reservation on n1 (full for an hour); n2's 4 free GPUs go to initech,
    # the lower share, and globex's job of the same size is left without.
    run = [
        running("r", Tier.INTERNAL, {"n1": range(8)}),
        running("r2", Tier.INTERNAL, {"n2": range(4)}, runtime=7200),
    ]
    pending = [
        job("big", Tier.INTERNAL, gpus=8, order=0),
        job("g", gpus=4, org="globex", order=1),
        job("i", gpus=4, org="initech", order=2),
    ]
    usage = {"globex": 3600.0 * 1000, "initech": 3600.0 * 10}
    result = schedule(snapshot([node("n1"), node("n2")], pending, run, usage=usage))
    assert list(started(result)) == ["i"]
    wait = wait_of(result, "g")
    assert wait.reason is WaitReason.FAIR_SHARE
    assert wait.message == (
        "fair share: the free h100 went first to org initech (10.0 GPU-h of decayed usage per "
        "unit of weight) before org globex (1,000.0)"
    )


def test_gpus_taken_by_a_higher_tier_are_not_a_fair_share_matter() -> None:
    pending = [
        job("int", Tier.INTERNAL, gpus=8, order=0),
        job("first", gpus=8, org="globex", order=1),
        job("second", gpus=8, org="initech", order=2),
    ]
    result = schedule(snapshot([node("n1")], pending, usage={"initech": 1e9}))
    assert list(started(result)) == ["int"]
    assert wait_of(result, "second").reason is WaitReason.CAPACITY


# --- usage kept by the stateful scheduler ---------------------------------------------------


def test_the_scheduler_accrues_usage_of_running_work_as_time_passes() -> None:
    run = [running("r", Tier.INTERNAL, {"n1": range(8)})]
    base = snapshot([node("n1")], run=run, usage={"acme": 100.0, "idle": 100.0})
    scheduler = Scheduler(base)
    scheduler.step(3600.0)
    usage = scheduler.usage()
    half_life = base.fair_share_half_life_seconds
    assert usage["acme"] == pytest.approx(accrue(100.0, 8, 3600.0, half_life))
    assert usage["idle"] == pytest.approx(decay(100.0, 3600.0, half_life))


def test_the_order_follows_usage_as_it_changes() -> None:
    # initech starts out lighter; after holding the GPUs for a day it is the heavier one.
    base = snapshot([node("n1")], usage={"globex": 1000.0})
    scheduler = Scheduler(base)
    scheduler.submit(job("i1", gpus=8, org="initech", order=1))
    assert [s.job_id for s in scheduler.step(0.0).starts] == ["i1"]
    scheduler.submit(job("i2", gpus=8, org="initech", order=2))
    scheduler.submit(job("g1", gpus=8, org="globex", order=3))
    scheduler.step(10.0)
    scheduler.release("i1", DAY)
    assert [s.job_id for s in scheduler.step(DAY).starts] == ["g1"]
