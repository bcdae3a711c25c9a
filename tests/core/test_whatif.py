"""The what-if: a case computed by hand, the margin identities, and cap 0 = the baseline."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neocloud.billing.charges import exact_arithmetic
from neocloud.domain.jobs import Tier
from neocloud.economics.whatif.figures import RunFigures
from neocloud.sim.problems import InputError
from neocloud.sim.runner import InputFile
from neocloud.sim.whatif.conclude import conclude
from neocloud.sim.whatif.prepare import WhatIfRequest
from neocloud.sim.whatif.run import WhatIfRun, run_whatif
from tests.sim.helpers import REPO, csv_text, fleet_yaml

DATA = REPO / "tests" / "data" / "whatif"


def _file(name: str) -> InputFile:
    return InputFile(name, (DATA / name).read_text())


def _request(**changes: object) -> WhatIfRequest:
    files = {
        "fleet": _file("fleet.yaml"),
        "policy": _file("policy.yaml"),
        "internal": _file("internal.csv"),
        "external": _file("external.csv"),
    }
    files.update(changes)  # type: ignore[arg-type]
    return WhatIfRequest(**files)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def hand() -> WhatIfRun:
    return run_whatif(_request())


def test_the_hand_computed_case(hand: WhatIfRun) -> None:
    # Fleet: one node of 8 H100s; a used GPU-hour costs 1.00 depreciation + 0.10 energy = 1.10,
    # an idle one 1.00 + 0.05 = 1.05 (tests/data/whatif/fleet.yaml). Policy: cap 0.5 (4 GPUs),
    # on_demand 3.00 and spot 2.00 per GPU-hour; reserved is not offered.
    #
    # Baseline: i1 (4 GPUs) runs 0–7200; i2 (8 GPUs, submitted 3600) waits for i1 and runs
    # 7200–10800. Waits 0 and 3600 s; JCTs 7200 and 7200.
    #
    # Policy: at 0 e2 (on_demand, 4 GPUs) takes the cap's 4 GPUs (on_demand ranks above spot),
    # runs 0–1800; e1 (spot, 4 GPUs) then runs from 1800. i2 arrives at 3600 but i1 still holds
    # 4 GPUs; at 7200 i1 ends and i2 preempts e1, which keeps its GPUs for the 30 s grace and
    # exits at 7230; i2 runs 7230–10830 (wait 3630, JCT 7230). e1 restarts from scratch when i2
    # ends: 10830–21600 (its 10,770 s). e3 is reserved, not offered: turned away (8 GPU-hours).
    #
    # Common period: 0–21600 s = 6 h, 48 GPU-hours of capacity.
    period = hand.horizon
    assert (period.start, period.end) == (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 6, tzinfo=UTC),
    )
    base, sell = hand.baseline.total, hand.selling.total
    # Baseline: used 16 GPU-h × 1.10 = 17.60; idle 32 × 1.05 = 33.60; no revenue.
    assert (base.revenue, base.used_cost, base.idle_cost) == (0, Decimal("17.6"), Decimal("33.6"))
    assert base.margin_after_idle == Decimal("-51.2")
    # Policy used GPU-hours: i1 8 + i2 8 + e2 2 + e1 4 × (5430 + 10770) / 3600 = 18 → 36.
    # Revenue: e2 2 × 3.00 = 6.00, e1 18 × 2.00 = 36.00 (the preempted attempt is billed: the
    # GPUs were held) → 42.00.
    assert sell.revenue == Decimal("42.00")
    assert sell.revenue_by_tier == {Tier.ON_DEMAND: Decimal("6.00"), Tier.SPOT: Decimal("36.00")}
    # Used 36 × 1.10 = 39.60; idle 12 × 1.05 = 12.60; gross margin 42 − 39.60 = 2.40;
    # after idle 2.40 − 12.60 = −10.20. Sold GPU-hours' own margin: 42 − 20 × 1.10 = 20.
    assert (sell.used_cost, sell.idle_cost) == (Decimal("39.6"), Decimal("12.6"))
    assert (sell.gross_margin, sell.margin_after_idle) == (Decimal("2.4"), Decimal("-10.2"))
    assert sell.external_gross_margin == Decimal(20)
    assert (base.utilisation, sell.utilisation) == (Decimal(1) / 3, Decimal("0.75"))
    # Margin added = −10.20 − (−51.20) = 41.00 = revenue 42 − 20 GPU-hours × (0.10 − 0.05).
    result = conclude(hand, with_risk=False)
    assert result.verdict.margin_added == Decimal("41.0")
    # Internal teams: waits [0, 3600] → [0, 3630]; avg 1800 → 1815; p95 (linear) 3420 → 3448.5.
    change = result.verdict.internal
    assert (change.wait_avg_s, change.wait_p95_s) == (15.0, 28.5)
    assert (change.jct_avg_s, change.jct_p95_s) == (15.0, 28.5)
    external = hand.selling.external
    assert (external.served, external.turned_away, external.spot_preemptions) == (2, 1, 1)
    assert (external.served_gpu_hours, external.turned_away_gpu_hours) == (20.0, 8.0)


def test_the_sweep_gives_the_trade_off(hand: WhatIfRun) -> None:
    caps = [p.cap for p in conclude(hand, with_risk=False).curve]
    assert caps == [Decimal(0), Decimal("0.5"), Decimal(1)]
    # Cap 0 sells nothing: the same as the baseline, external demand left waiting.
    zero = hand.sweep[0]
    _same_as_baseline(hand.baseline, zero)
    assert zero.external.unserved == 2


def test_utilisation_over_time(hand: WhatIfRun) -> None:
    # 6 hours in 5-minute buckets; the node is full (i1 + e2/e1) until 7200 in the policy run.
    series = hand.selling.series
    assert series.bucket_s == 300 and len(series.internal) == 72
    assert series.internal[0] == 0.5 and series.external[0] == 0.5
    # Bucket 7200–7500: e1 holds 4 GPUs for its 30 s of grace (4 × 30 / (8 × 300) = 0.05),
    # then i2 holds all 8 for 270 s (0.9).
    assert series.internal[24] == pytest.approx(0.9) and series.external[24] == pytest.approx(0.05)
    assert hand.baseline.series.external == (0.0,) * 72


def test_a_run_across_months_adds_up() -> None:
    # The same traces starting two hours before February: the months add up to the total.
    policy = (DATA / "policy.yaml").read_text().replace("2026-01-01T00", "2026-01-31T22")
    run = run_whatif(_request(policy=InputFile("p.yaml", policy)))
    assert [m.label for m in run.selling.months] == ["2026-01", "2026-02"]
    _identities(run.selling)
    assert run.selling.total.revenue == Decimal("42.00")


def test_internal_trace_with_external_work_is_refused() -> None:
    bad = csv_text("id,submit_time,duration,num_gpus,org,tier", "x,0,10,1,acme,spot")
    with pytest.raises(InputError) as caught:
        run_whatif(_request(internal=InputFile("in.csv", bad)))
    assert [str(p) for p in caught.value.problems] == [
        "in.csv:2: tier: the internal trace holds internal work only, got spot"
        " (external demand goes in the external trace)"
    ]


def test_problems_of_every_file_come_together() -> None:
    policy = InputFile("p.yaml", "gpu_types:\n  h100: {sellable_cap: 2, prices: {on_demand: 1}}\n")
    trace = InputFile("e.csv", csv_text("submit_time,duration,num_gpus", "0,-1,1"))
    with pytest.raises(InputError) as caught:
        run_whatif(_request(policy=policy, external=trace))
    assert [str(p) for p in caught.value.problems] == [
        "p.yaml:2: gpu_types.h100.sellable_cap: must be a fraction between 0 and 1, got 2",
        "p.yaml:2: gpu_types.h100.prices.spot: missing: every offered tier needs a price",
        "e.csv:2: duration: must be a number of seconds > 0, got '-1'",
    ]


def _identities(run: RunFigures) -> None:
    with exact_arithmetic():
        _exact_identities(run)


def _exact_identities(run: RunFigures) -> None:
    for period in (run.total, *run.months):
        assert period.revenue - period.used_cost == period.gross_margin
        assert period.gross_margin - period.idle_cost == period.margin_after_idle
        assert period.used_cost + period.idle_cost == period.total_cost
        assert period.revenue == sum(period.revenue_by_tier.values(), Decimal(0))
    assert sum((m.revenue for m in run.months), Decimal(0)) == run.total.revenue
    for row in run.by_gpu_type:
        assert row.internal_gpu_hours + row.external_gpu_hours == row.used_gpu_hours


def _same_as_baseline(baseline: RunFigures, run: RunFigures) -> None:
    assert run.internal == baseline.internal
    assert run.total.revenue == 0
    for field in ("used_cost", "idle_cost", "gross_margin", "margin_after_idle", "utilisation"):
        assert getattr(run.total, field) == getattr(baseline.total, field), field
    assert run.series == baseline.series


_jobs = st.lists(
    st.tuples(
        st.integers(0, 40_000),  # submit
        st.integers(1, 20_000),  # duration
        st.sampled_from([1, 2, 4, 8, 16]),  # GPUs
        st.sampled_from(["on_demand", "spot", "reserved"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(internal=_jobs, external=_jobs, cap=st.sampled_from(["0.25", "0.5", "1"]))
def test_identities_hold_and_cap_zero_is_the_baseline(
    internal: list[tuple[int, int, int, str]],
    external: list[tuple[int, int, int, str]],
    cap: str,
) -> None:
    header = "id,submit_time,duration,num_gpus,org,tier"
    inner = [f"i{n},{s},{d},{g},team{n % 2},internal" for n, (s, d, g, _) in enumerate(internal)]
    outer = [f"e{n},{s},{d},{g},cust{n % 3},{t}" for n, (s, d, g, t) in enumerate(external)]
    policy = (
        "start: 2026-01-31T20:00:00Z\n"
        "gpu_types:\n"
        f"  h100: {{sellable_cap: {cap}, prices: {{on_demand: 2.5, spot: 1.25}}}}\n"
        "sweep: [0, 0.5]\n"
    )
    run = run_whatif(
        WhatIfRequest(
            fleet=InputFile("fleet.yaml", fleet_yaml(nodes=2)),
            policy=InputFile("policy.yaml", policy),
            internal=InputFile("in.csv", csv_text(header, *inner)),
            external=InputFile("out.csv", csv_text(header, *outer)),
        )
    )
    for figures in (run.baseline, run.selling, *run.sweep):
        _identities(figures)
    _same_as_baseline(run.baseline, run.sweep[0])
