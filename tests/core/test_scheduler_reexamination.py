"""What a step looks at again after a release (docs/scheduling.md §10), and what it leaves be.

A group's limits are read again only when a holding its verdict read left the range in which
the verdict keeps its kind: a release of another GPU type, of another org's work its limit does
not read, or of fewer GPUs than it would need to fit, leaves it waiting as it was. A group waiting
for GPUs is decided again only if its shape could now fit (or preemption help, or the
reservation moved). Yet whatever could now start does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from neocloud.domain.jobs import Tier
from neocloud.scheduler import NodeState, PendingJob, RunningJob, WaitReason
from neocloud.scheduler.admission.limits import LimitCheck, Limits
from neocloud.scheduler.state import Scheduler
from neocloud.scheduler.typepass import TypePass
from tests.core.test_scheduler_support import job, node, running, snapshot, started, waits

INTERNAL, RESERVED, ON_DEMAND = Tier.INTERNAL, Tier.RESERVED, Tier.ON_DEMAND
LONG = 36_000


@dataclass
class Seen:
    """Jobs whose limits a step read, and jobs a step decided (started, or gave a reason)."""

    read: set[str] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[Seen]:
    record = Seen()
    check, decide = Limits.check, TypePass._decide

    def spy_check(self: Limits, pending: PendingJob) -> LimitCheck:
        record.read.add(pending.id)
        return check(self, pending)

    def spy_decide(self: TypePass, group: object, pending: PendingJob) -> object:
        record.decided.add(pending.id)
        return decide(self, group, pending)  # type: ignore[arg-type]

    monkeypatch.setattr(Limits, "check", spy_check)
    monkeypatch.setattr(TypePass, "_decide", spy_decide)
    yield record


@dataclass(frozen=True)
class Case:
    nodes: Sequence[NodeState]
    run: Sequence[RunningJob]
    pending: Sequence[PendingJob]
    quotas: dict[tuple[str, str], int]
    waiting: dict[str, WaitReason]
    release: str
    read: set[str]
    starts: set[str]
    borrow: dict[tuple[str, str], int] = field(default_factory=dict)
    cap: dict[str, float] = field(default_factory=dict)
    contracts: dict[tuple[str, str], int] = field(default_factory=dict)


CASES = [
    pytest.param(
        # acme holds all its quota of both types; its h100 work ends.
        Case(
            nodes=[node("n1"), node("a1", gpu_type="a100")],
            run=[
                running("h", INTERNAL, {"n1": range(8)}),
                running("a", INTERNAL, {"a1": range(8)}, gpu_type="a100"),
            ],
            pending=[
                job("on-a100", INTERNAL, gpus=8, gpu_type="a100"),
                job("on-h100", INTERNAL, 8),
            ],
            quotas={("acme", "h100"): 8, ("acme", "a100"): 8},
            waiting={"on-a100": WaitReason.QUOTA, "on-h100": WaitReason.QUOTA},
            release="h",
            read={"on-h100"},
            starts={"on-h100"},
        ),
        id="a release of h100 capacity does not re-read an a100 group",
    ),
    pytest.param(
        # acme and beta hold all of acme's quota; acme's work ends.
        Case(
            nodes=[node("n1"), node("n2")],
            run=[
                running("a", INTERNAL, {"n1": range(8)}),
                running("b", INTERNAL, {"n2": range(8)}, org="beta"),
            ],
            pending=[job("acme-4", INTERNAL, 4), job("beta-4", INTERNAL, 4, org="beta", order=1)],
            quotas={("acme", "h100"): 8, ("beta", "h100"): 8},
            waiting={"acme-4": WaitReason.QUOTA, "beta-4": WaitReason.QUOTA},
            release="a",
            read={"acme-4"},
            starts={"acme-4"},
        ),
        id="a release of acme's work does not re-read beta's quota",
    ),
    pytest.param(
        # Internal orgs hold all 16 GPUs of quota (gamma may only borrow); 4 of beta's come
        # free. (A start of gamma's own would move what gamma holds: that is re-read.)
        Case(
            nodes=[node("n1"), node("n2")],
            run=[
                running("a", INTERNAL, {"n1": range(8)}),
                running("b1", INTERNAL, {"n2": range(4)}, org="beta"),
                running("b2", INTERNAL, {"n2": range(4, 8)}, org="beta"),
            ],
            pending=[job("needs-4", INTERNAL, 4), job("needs-8", INTERNAL, 8, org="gamma")],
            quotas={("acme", "h100"): 8, ("beta", "h100"): 8, ("gamma", "h100"): 0},
            borrow={("acme", "h100"): 8, ("gamma", "h100"): 8},
            waiting={"needs-8": WaitReason.BORROW_LIMIT, "needs-4": WaitReason.BORROW_LIMIT},
            release="b1",
            read={"needs-4"},
            starts={"needs-4"},
        ),
        id="the cohort frees 4: a group needing 8 is not re-read, one needing 4 starts",
    ),
    pytest.param(
        # External work counts all 8 GPUs of the cap; 4 come free.
        Case(
            nodes=[node("n1"), node("n2")],
            run=[
                running("d1", ON_DEMAND, {"n1": range(4)}),
                running("d2", ON_DEMAND, {"n1": range(4, 8)}),
            ],
            pending=[job("needs-8", ON_DEMAND, 8), job("needs-4", ON_DEMAND, 4, order=1)],
            quotas={},
            cap={"h100": 0.5},
            waiting={"needs-8": WaitReason.SELLABLE_CAP, "needs-4": WaitReason.SELLABLE_CAP},
            release="d1",
            read={"needs-4"},
            starts={"needs-4"},
        ),
        id="the sellable cap frees 4: a group needing 8 is not re-read, one needing 4 starts",
    ),
    pytest.param(
        # globex's reserved work fills its contract of 8; 4 come free.
        Case(
            nodes=[node("n1"), node("n2")],
            run=[
                running("r1", RESERVED, {"n1": range(4)}),
                running("r2", RESERVED, {"n1": range(4, 8)}),
            ],
            pending=[job("needs-8", RESERVED, 8), job("needs-4", RESERVED, 4, order=1)],
            quotas={},
            contracts={("globex", "h100"): 8},
            waiting={"needs-8": WaitReason.CONTRACT, "needs-4": WaitReason.CONTRACT},
            release="r1",
            read={"needs-4"},
            starts={"needs-4"},
        ),
        id="a contract frees 4: a group needing 8 is not re-read, one needing 4 starts",
    ),
    pytest.param(
        # The cohort frees 4: both groups could fit it, but the first one takes it back.
        Case(
            nodes=[node("n1"), node("n2")],
            run=[
                running("a", INTERNAL, {"n1": range(8)}),
                running("b1", INTERNAL, {"n2": range(4)}, org="beta"),
                running("b2", INTERNAL, {"n2": range(4, 8)}, org="beta"),
            ],
            pending=[job("needs-4", INTERNAL, 4), job("needs-2", INTERNAL, 2, order=1)],
            quotas={("acme", "h100"): 8, ("beta", "h100"): 8},
            borrow={("acme", "h100"): 8},
            waiting={"needs-4": WaitReason.BORROW_LIMIT, "needs-2": WaitReason.BORROW_LIMIT},
            release="b1",
            read={"needs-4"},
            starts={"needs-4"},
        ),
        id="holdings back in range by the time a group is reached: not re-read",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_what_a_release_reads_again(case: Case, seen: Seen) -> None:
    base = snapshot(
        case.nodes,
        case.pending,
        case.run,
        quotas=case.quotas,
        borrow=case.borrow,
        cap=case.cap,
        contracts=case.contracts,
    )
    scheduler = Scheduler(base)
    assert waits(scheduler.step(0.0)) == case.waiting
    seen.read.clear()
    scheduler.release(case.release, 10.0)
    result = scheduler.step(10.0)
    assert seen.read & set(case.waiting) == case.read
    assert set(started(result)) == case.starts
    for job_id in case.waiting.keys() - case.starts:
        wait = scheduler.wait_of(job_id)
        assert wait is not None and wait.reason is case.waiting[job_id]


def test_a_group_whose_shape_still_does_not_fit_is_not_decided_again(seen: Seen) -> None:
    # n1: two jobs of 4; n2: one of 8. `gang` (2 × 8) holds the reservation; `eights` wait.
    run = [
        running("r1", INTERNAL, {"n1": range(4)}, runtime=LONG),
        running("r2", INTERNAL, {"n1": range(4, 8)}, runtime=LONG),
        running("r3", INTERNAL, {"n2": range(8)}, runtime=LONG),
    ]
    pending = [
        job("gang", INTERNAL, 8, nodes=2),
        job("eight-1", INTERNAL, 8, order=1),
        job("eight-2", INTERNAL, 8, order=2),
        job("four", INTERNAL, 4, order=3, runtime=60),
    ]
    scheduler = Scheduler(snapshot([node("n1"), node("n2")], pending, run))
    first = scheduler.step(0.0)
    assert waits(first)["eight-1"] is WaitReason.CAPACITY
    seen.decided.clear()
    # 4 GPUs come free on n1: not a block of 8; `four` ends before the planned start.
    scheduler.release("r1", 10.0)
    result = scheduler.step(10.0)
    assert set(started(result)) == {"four"}
    assert "eight-1" not in seen.decided and "gang" in seen.decided
    wait = scheduler.wait_of("eight-1")
    assert wait is not None and wait.reason is WaitReason.CAPACITY
    # 8 come free on n2: the group's shape fits now, it is decided and its first job starts.
    scheduler.release("r3", 20.0)
    assert "eight-1" in started(scheduler.step(20.0))


def test_a_start_later_in_the_pass_re_reads_the_limits_of_groups_decided_before_it() -> None:
    # acme may borrow up to 16; the cohort (16) has 6 left. `wide` (3 × 1 GPU) comes first
    # but finds only 2 nodes with a free GPU; `four` starts and leaves the cohort 2.
    run = [
        running("b", INTERNAL, {"n3": range(8)}, org="beta", runtime=LONG),
        running("a", INTERNAL, {"n1": range(2)}, runtime=LONG),
    ]
    pending = [job("wide", INTERNAL, 1, nodes=3), job("four", INTERNAL, 4, order=1, runtime=60)]
    base = snapshot(
        [node("n1"), node("n2"), node("n3")],
        pending,
        run,
        quotas={("acme", "h100"): 8, ("beta", "h100"): 8},
        borrow={("acme", "h100"): 8},
    )
    scheduler = Scheduler(base)
    result = scheduler.step(0.0)
    assert set(started(result)) == {"four"}
    wait = scheduler.wait_of("wide")
    assert wait is not None and wait.reason is WaitReason.BORROW_LIMIT
