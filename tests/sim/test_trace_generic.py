"""The generic trace CSV: good rows, defaults, the gang rule, and every bad row reported."""

from __future__ import annotations

import pytest

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.sim.trace import gang_shape
from neocloud.sim.trace_generic import load_generic
from tests.sim.helpers import csv_text, shape

HEADER = "submit_time,duration,num_gpus,gpu_type,org,tier,priority,max_runtime"
A100 = """\
          - name: a-01
            gpu_type: a100
            gpus: 4
            cpus: 32
            memory_gb: 256
            node_model: box
"""


def test_good_rows_become_jobs_in_submit_order() -> None:
    text = csv_text(
        HEADER,
        "30,100,8,h100,acme,internal,production,200",
        "0,50.5,2,,globex,spot,,",
        "30,10,1,a100,globex,on_demand,,",
    )
    load = load_generic(text, "t.csv", shape(nodes=2, extra=A100))
    assert load.ok and load.skipped == {}
    first, second, third = load.jobs
    assert (first.id, first.submit_time, first.duration, first.line) == ("job-3", 0.0, 50.5, 3)
    # Defaults: the fleet's most common GPU type; max runtime = duration (perfect estimate).
    assert (first.gpu_type, first.max_runtime, first.tier) == ("h100", 50.5, Tier.SPOT)
    assert first.org_kind is OrgKind.EXTERNAL and first.priority_class is None
    # Same submit time: file order.
    assert [second.line, third.line] == [2, 4]
    assert second.priority_class is PriorityClass.PRODUCTION
    assert second.max_runtime == 200 and second.org_kind is OrgKind.INTERNAL
    assert (third.gpu_type, third.gpus_per_node, third.nodes) == ("a100", 1, 1)


def test_minimal_columns_default_to_internal_work_of_one_org() -> None:
    load = load_generic(csv_text("submit_time,duration,num_gpus", "0,60,1"), "t.csv", shape())
    (job,) = load.jobs
    assert (job.org, job.tier, job.gpu_type, job.max_runtime) == (
        "default",
        Tier.INTERNAL,
        "h100",
        60,
    )


def test_an_id_column_names_jobs() -> None:
    load = load_generic(
        csv_text("id,submit_time,duration,num_gpus", "train-1,0,60,1"), "t", shape()
    )
    assert load.jobs[0].id == "train-1"


@pytest.mark.parametrize(
    ("num_gpus", "per_node", "expected"),
    [
        (1, 8, (1, 1)),
        (8, 8, (8, 1)),
        (16, 8, (8, 2)),
        (12, 8, (6, 2)),
        (17, 8, (6, 3)),
        (5, 4, (3, 2)),
    ],
)
def test_gang_rule(num_gpus: int, per_node: int, expected: tuple[int, int]) -> None:
    assert gang_shape(num_gpus, per_node) == expected


def test_jobs_bigger_than_a_node_become_gangs() -> None:
    load = load_generic(csv_text("submit_time,duration,num_gpus", "0,60,24"), "t.csv", shape(4))
    (job,) = load.jobs
    assert (job.gpus_per_node, job.nodes, job.gpus) == (8, 3, 24)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("x,100,8,,,,,", "t.csv:2: submit_time: must be a number of seconds >= 0, got 'x'"),
        ("-5,100,8,,,,,", "t.csv:2: submit_time: must be a number of seconds >= 0, got '-5'"),
        ("0,0,8,,,,,", "t.csv:2: duration: must be a number of seconds > 0, got '0'"),
        ("0,inf,8,,,,,", "t.csv:2: duration: must be a number of seconds > 0, got 'inf'"),
        ("0,,8,,,,,", "t.csv:2: duration: must be a number of seconds > 0, got ''"),
        ("0,100,x,,,,,", "t.csv:2: num_gpus: must be a positive integer, got 'x'"),
        ("0,100,0,,,,,", "t.csv:2: num_gpus: must be a positive integer, got '0'"),
        ("0,100,1.5,,,,,", "t.csv:2: num_gpus: must be a positive integer, got '1.5'"),
        ("0,100,1,h200,,,,", "t.csv:2: gpu_type: 'h200' is not in the fleet (h100)"),
        ("0,100,1,,a b,,,", "t.csv:2: org: must be a name"),
        ("0,100,1,,,gold,,", "t.csv:2: tier: must be one of internal, reserved, on_demand, spot"),
        ("0,100,1,,,,urgent,", "t.csv:2: priority: must be one of production, research, batch"),
        ("0,100,1,,acme,spot,batch,", "t.csv:2: priority: priority classes apply to internal"),
        ("0,100,1,,,,,-1", "t.csv:2: max_runtime: must be a number of seconds > 0, got '-1'"),
        ("0,100,9,,,,,", "t.csv:2: num_gpus: 9 GPUs (2 × 5 h100) never fit this fleet"),
        ("0,100,1,,,,", "t.csv:2: has 7 fields, the header has 8"),
    ],
)
def test_a_bad_row_names_file_line_and_field(row: str, expected: str) -> None:
    load = load_generic(csv_text(HEADER, row), "t.csv", shape())
    assert not load.ok and load.jobs == ()
    assert any(str(p).startswith(expected) for p in load.problems), [str(p) for p in load.problems]


def test_every_bad_row_is_reported_and_no_job_is_loaded() -> None:
    text = csv_text(HEADER, "0,100,1,,,,,", "x,100,1,,,,,", "0,100,1,,,,,", "0,y,z,,,,,")
    load = load_generic(text, "t.csv", shape())
    assert load.jobs == ()
    assert [str(p).split(": ")[0:2] for p in load.problems] == [
        ["t.csv:3", "submit_time"],
        ["t.csv:5", "duration"],
        ["t.csv:5", "num_gpus"],
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("submit_time,duration", "t.csv:1: num_gpus: missing required column"),
        ("submit_time,duration,num_gpu", "t.csv:1: num_gpu: unknown column"),
        ("submit_time,duration,num_gpus,org,org", "t.csv:1: org: column appears twice"),
    ],
)
def test_header_problems(header: str, expected: str) -> None:
    load = load_generic(csv_text(header, "0,1,1"), "t.csv", shape())
    assert any(str(p).startswith(expected) for p in load.problems), [str(p) for p in load.problems]


def test_an_empty_file_is_a_problem() -> None:
    load = load_generic("", "t.csv", shape())
    assert [str(p) for p in load.problems] == [
        "t.csv:1: the file is empty (a header row is needed)"
    ]


def test_duplicate_ids_and_an_org_in_two_kinds_are_problems() -> None:
    text = csv_text(
        "id,submit_time,duration,num_gpus,org,tier",
        "a,0,1,1,acme,internal",
        "a,0,1,1,acme,spot",
    )
    problems = [str(p) for p in load_generic(text, "t.csv", shape()).problems]
    assert problems == [
        "t.csv:3: id: duplicate id 'a' (first at line 2)",
        "t.csv:3: tier: org 'acme' is internal (line 2), this row is spot",
    ]


def test_a_byte_order_mark_is_not_part_of_the_header() -> None:
    load = load_generic("\ufeff" + csv_text("submit_time,duration,num_gpus", "0,1,1"), "t", shape())
    assert load.ok and len(load.jobs) == 1


def test_blank_lines_are_skipped_and_line_numbers_stay_true() -> None:
    text = csv_text("submit_time,duration,num_gpus", "", "0,1,1", "", "0,1,x")
    problems = [str(p) for p in load_generic(text, "t.csv", shape()).problems]
    assert problems == ["t.csv:5: num_gpus: must be a positive integer, got 'x'"]


def test_a_row_may_carry_a_retry_policy_whose_defaults_are_the_apis() -> None:
    header = "id,submit_time,duration,num_gpus,tier,requeue_on_preemption,max_attempts"
    text = csv_text(header, "a,0,60,1,spot,,", "b,0,60,1,spot,false,3", "c,0,60,1,spot,TRUE,1")
    a, b, c = load_generic(text, "t.csv", shape()).jobs
    assert (a.requeue_on_preemption, a.max_attempts) == (True, None)
    assert (b.requeue_on_preemption, b.max_attempts) == (False, 3)
    assert (c.requeue_on_preemption, c.max_attempts) == (True, 1)


def test_a_bad_retry_policy_is_reported_per_field() -> None:
    text = csv_text(
        "submit_time,duration,num_gpus,requeue_on_preemption,max_attempts", "0,60,1,no,0"
    )
    load = load_generic(text, "t.csv", shape())
    assert load.jobs == ()
    assert [(p.line, p.field, p.message) for p in load.problems] == [
        (2, "requeue_on_preemption", "must be true or false, got 'no'"),
        (2, "max_attempts", "must be a positive integer, got '0'"),
    ]
