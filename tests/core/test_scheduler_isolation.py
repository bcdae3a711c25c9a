"""External work runs only on nodes that isolate tenants, unless the operator let it in.

A node of a cluster with `isolation: none` and no `external_without_isolation: allow` does not
host external work (`NodeState.hosts_external` False): external jobs are never placed there,
never preempt for GPUs there, and wait `isolation` when only such nodes would fit them; internal
work uses every node. The builders are in test_scheduler_support.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.domain.jobs import Tier
from neocloud.scheduler import NodeState, PendingJob, RunningJob, WaitReason, schedule
from tests.core.test_scheduler_support import (
    EXTERNAL_ORG,
    INTERNAL_ORG,
    job,
    node,
    running,
    snapshot,
    started,
    victims,
    wait_of,
    waits,
)

# Reserved work needs an active contract (which counts against the sellable cap in full).
CONTRACT = {(EXTERNAL_ORG, "h100"): 8}


def closed(name: str, gpus: int = 8, cluster: str = "ray-1") -> NodeState:
    """A node of a cluster that isolates nothing and does not take external work."""
    return node(name, gpus, hosts_external=False, cluster=cluster)


@pytest.mark.parametrize(
    ("nodes", "pending", "run", "starts", "waiting"),
    [
        pytest.param(
            [closed("r1")],
            [job("od", Tier.ON_DEMAND, gpus=4)],
            [],
            {},
            {"od": WaitReason.ISOLATION},
            id="external-waits-when-only-a-closed-node-fits",
        ),
        pytest.param(
            [closed("r1")],
            [job("int", Tier.INTERNAL, gpus=4)],
            [],
            {"int": {"r1": (0, 1, 2, 3)}},
            {},
            id="internal-work-uses-a-closed-node",
        ),
        pytest.param(
            # Best fit would pick r1 (fewest free that fit): the external job goes to n1.
            [closed("r1", 4), node("n1", 8)],
            [job("od", Tier.ON_DEMAND, gpus=4)],
            [],
            {"od": {"n1": (0, 1, 2, 3)}},
            {},
            id="external-goes-to-the-isolating-node-even-against-best-fit",
        ),
        pytest.param(
            [closed("r1"), node("n1", 8)],
            [job("od", Tier.ON_DEMAND, gpus=4)],
            [running("busy", Tier.INTERNAL, {"n1": range(8)})],
            {},
            {"od": WaitReason.ISOLATION},
            id="external-waits-while-the-isolating-node-is-busy",
        ),
        pytest.param(
            [closed("r1"), node("n1", 8)],
            [job("gang", Tier.ON_DEMAND, gpus=8, nodes=2)],
            [],
            {},
            {"gang": WaitReason.ISOLATION},
            id="gang-half-on-a-closed-node-waits",
        ),
        pytest.param(
            [node("n1", 8), node("n2", 8, hosts_external=True, cluster="ray-1")],
            [job("gang", Tier.ON_DEMAND, gpus=8, nodes=2)],
            [],
            {"gang": {"n1": tuple(range(8)), "n2": tuple(range(8))}},
            {},
            id="a-cluster-the-operator-opened-hosts-external-work",
        ),
        pytest.param(
            [closed("r1"), node("n1", 4)],
            [job("od", Tier.ON_DEMAND, gpus=8)],
            [],
            {},
            {"od": WaitReason.ISOLATION},
            id="only-a-closed-node-is-large-enough",
        ),
        pytest.param(
            [closed("r1"), node("n1", 4)],
            [job("od", Tier.ON_DEMAND, gpus=8, nodes=3)],
            [],
            {},
            {"od": WaitReason.UNSATISFIABLE},
            id="unsatisfiable-anywhere-stays-unsatisfiable",
        ),
        pytest.param(
            [closed("r1"), node("n1", 8)],
            [job("int", Tier.INTERNAL, gpus=8), job("spot", Tier.SPOT, gpus=8, order=1)],
            [],
            {"int": {"n1": tuple(range(8))}},
            {"spot": WaitReason.ISOLATION},
            id="internal-work-goes-first-anywhere-external-waits-for-an-isolating-node",
        ),
    ],
)
def test_external_work_only_on_nodes_open_to_it(
    nodes: list[NodeState],
    pending: list[PendingJob],
    run: list[RunningJob],
    starts: dict[str, dict[str, tuple[int, ...]]],
    waiting: dict[str, WaitReason],
) -> None:
    result = schedule(snapshot(nodes, pending, run))
    assert started(result) == starts
    assert waits(result) == waiting


def test_reserved_work_preempts_spot_on_an_isolating_node_not_the_free_closed_one() -> None:
    result = schedule(
        snapshot(
            [closed("r1"), node("n1", 8)],
            [job("res", Tier.RESERVED, gpus=8)],
            [running("spot", Tier.SPOT, {"n1": range(8)}, org="initech")],
            contracts=CONTRACT,
        )
    )
    assert victims(result) == {"spot": "res"}
    assert waits(result) == {"res": WaitReason.PREEMPTING}


@pytest.mark.parametrize(
    ("nodes", "pending", "sentence"),
    [
        pytest.param(
            [closed("r1"), node("n1", 8)],
            job("od", Tier.ON_DEMAND, gpus=4),
            "isolation: no cluster that isolates tenants has 4 free h100; "
            "cluster ray-1 runs external work only if the operator allows it",
            id="free-on-a-closed-node",
        ),
        pytest.param(
            [closed("r1"), closed("r2", cluster="ray-2"), node("n1", 8)],
            job("od", Tier.ON_DEMAND, gpus=8, nodes=2),
            "isolation: no cluster that isolates tenants has 2 nodes with 8 h100 each; "
            "clusters ray-1, ray-2 run external work only if the operator allows it",
            id="a-gang-no-isolating-cluster-could-ever-hold",
        ),
        pytest.param(
            [closed("r1", 8)],
            job("od", Tier.ON_DEMAND, gpus=8),
            "isolation: no cluster that isolates tenants has a node with 8 h100; "
            "cluster ray-1 runs external work only if the operator allows it",
            id="no-isolating-node-of-the-type",
        ),
    ],
)
def test_isolation_sentence(nodes: list[NodeState], pending: PendingJob, sentence: str) -> None:
    run = [running("mine", Tier.INTERNAL, {"n1": range(8)}, started=1)]
    result = schedule(snapshot(nodes, [pending], run if len(nodes) > 1 else []))
    wait = wait_of(result, pending.id)
    assert (wait.reason, wait.message) == (WaitReason.ISOLATION, sentence)
    # An external customer reads it: it names no org and no other job.
    assert INTERNAL_ORG not in wait.message and EXTERNAL_ORG not in wait.message
    assert "mine" not in wait.message


@settings(max_examples=150, deadline=None)
@given(
    layout=st.lists(st.tuples(st.integers(1, 8), st.booleans()), min_size=1, max_size=6),
    shapes=st.lists(
        st.tuples(
            st.sampled_from([Tier.INTERNAL, Tier.ON_DEMAND, Tier.SPOT, Tier.RESERVED]),
            st.integers(1, 8),
            st.integers(1, 3),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_no_external_start_or_victim_placement_on_a_closed_node(
    layout: list[tuple[int, bool]], shapes: list[tuple[Tier, int, int]]
) -> None:
    nodes = [
        node(f"n{i}", gpus, hosts_external=open_, cluster="c" if open_ else "ray-1")
        for i, (gpus, open_) in enumerate(layout)
    ]
    pending = [
        job(f"j{i}", tier, gpus=g, nodes=k, order=i) for i, (tier, g, k) in enumerate(shapes)
    ]
    result = schedule(snapshot(nodes, pending, contracts=CONTRACT))
    shut = {n.name for n in nodes if not n.hosts_external}
    external = {j.id for j in pending if j.tier is not Tier.INTERNAL}
    for start in result.starts:
        if start.job_id in external:
            assert not {slot.node for slot in start.placement} & shut, start
    for wait in result.waits:
        if wait.reason is WaitReason.ISOLATION:
            assert wait.job_id in external
            assert not any(j.id in wait.message.split() for j in pending)
