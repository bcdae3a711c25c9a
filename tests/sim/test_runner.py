"""The run entry point: every input validated before anything runs; quotas; limit; notes."""

from __future__ import annotations

import pytest

from neocloud.sim.problems import InputError
from neocloud.sim.runner import InputFile, SimRequest, TraceFormat, prepare, run
from tests.sim.helpers import csv_text, fleet_yaml

TRACE = csv_text(
    "submit_time,duration,num_gpus,org,tier",
    "20,10,1,acme,internal",
    "0,10,1,acme,internal",
    "10,10,1,globex,spot",
    "5,10,1,lab,internal",
)


def request(trace: str = TRACE, **kwargs: object) -> SimRequest:
    return SimRequest(
        trace=InputFile("t.csv", trace),
        fleet=InputFile("fleet.yaml", kwargs.pop("fleet", fleet_yaml())),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def test_without_a_quota_file_every_internal_org_may_use_the_whole_fleet() -> None:
    prepared = prepare(request())
    assert prepared.config.quotas == {("acme", "h100"): 8, ("lab", "h100"): 8}
    assert prepared.quota_source == "whole fleet per internal org"
    assert prepared.notes == () and prepared.rows == 4
    assert prepared.config.contracts == {} and prepared.contract_source is None


def test_a_quota_file_is_the_only_source_and_orgs_it_omits_are_noted() -> None:
    quotas = InputFile("q.csv", csv_text("org,gpu_type,gpus", "acme,h100,4"))
    prepared = prepare(request(quotas=quotas))
    assert prepared.config.quotas == {("acme", "h100"): 4}
    assert prepared.quota_source == "q.csv"
    assert prepared.notes == (
        "1 internal org(s) have no quota for the GPU type they ask for, so their 1 job(s) "
        "never start: lab (1)",
    )
    report = run(request(quotas=quotas))
    assert (report.metrics.total.finished, report.metrics.total.unfinished) == (3, 1)
    assert report.wall_s >= 0


def test_reserved_work_runs_only_under_a_contract() -> None:
    trace = csv_text(
        "submit_time,duration,num_gpus,org,tier",
        "0,10,4,acme,reserved",
        "0,10,4,initech,reserved",
    )
    contracts = InputFile("c.csv", csv_text("org,gpu_type,gpus", "acme,h100,4"))
    prepared = prepare(request(trace, contracts=contracts))
    assert prepared.config.contracts == {("acme", "h100"): 4}
    assert prepared.contract_source == "c.csv"
    assert prepared.notes == (
        "1 reserved org(s) have no contract for the GPU type they ask for, so their 1 job(s) "
        "never start: initech (1)",
    )
    total = run(request(trace, contracts=contracts)).metrics.total
    assert (total.finished, total.unfinished) == (1, 1)


def test_limit_keeps_the_earliest_submissions() -> None:
    prepared = prepare(request(limit=2))
    assert [j.submit_time for j in prepared.jobs] == [0, 5]
    assert prepared.rows == 4


def test_philly_quotas_come_from_the_vc_node_counts() -> None:
    trace = csv_text(
        "timestamp,duration,num_gpus,gpu_time,cluster", "2017-10-03 00:00:00,60,1,60,vc1"
    )
    vc = InputFile("philly_vc_nodes.csv", csv_text("vc,node num", "vc1,1", "vc2,2"))
    fleet = fleet_yaml(nodes=3)
    prepared = prepare(request(trace, fleet=fleet, format=TraceFormat.PHILLY, vc_nodes=vc))
    assert prepared.config.quotas == {("vc1", "h100"): 8, ("vc2", "h100"): 16}
    assert prepared.quota_source == "philly_vc_nodes.csv"
    # Without the VC file, the whole fleet.
    alone = prepare(request(trace, fleet=fleet, format=TraceFormat.PHILLY))
    assert alone.config.quotas == {("vc1", "h100"): 24}


def test_every_problem_of_every_input_is_reported_together() -> None:
    bad_trace = csv_text("submit_time,duration,num_gpus", "0,10,x")
    quotas = InputFile("q.csv", csv_text("org,gpu_type,gpus", "acme,h100,-1"))
    caps = {"h100": "1.5", "b200": "0.5"}
    with pytest.raises(InputError) as raised:
        prepare(request(bad_trace, quotas=quotas, sellable_cap=caps))
    assert [str(p) for p in raised.value.problems] == [
        "--sellable-cap: h100: must be a fraction between 0 and 1 like 0.3 or 30%, got '1.5'",
        "--sellable-cap: b200: not in the fleet (h100)",
        "t.csv:2: num_gpus: must be a positive integer, got 'x'",
        "q.csv:2: gpus: must be a non-negative integer, got '-1'",
    ]


def test_sellable_caps_accept_fractions_and_percentages() -> None:
    prepared = prepare(request(sellable_cap={"h100": "30%"}))
    assert prepared.config.sellable_cap == {"h100": 0.3}


def test_fleet_problems_carry_the_file_line_and_path() -> None:
    fleet = fleet_yaml().replace("gpus: 8", "gpus: -1")
    with pytest.raises(InputError) as raised:
        prepare(request(fleet=fleet))
    (problem,) = raised.value.problems
    assert str(problem) == "fleet.yaml:16: regions[0].clusters[0].nodes[0].gpus: must be > 0"
