"""Quota inputs: a quota CSV, Philly's VC node counts, or the whole fleet."""

from __future__ import annotations

from neocloud.sim.problems import InputProblem
from neocloud.sim.quotas import parse_contracts, parse_quotas, parse_vc_nodes, whole_fleet
from tests.sim.helpers import csv_text, shape


def test_a_quota_file() -> None:
    problems: list[InputProblem] = []
    text = csv_text("org,gpu_type,gpus", "acme,h100,16", "initech,h100,0")
    assert parse_quotas(text, "q.csv", shape(), problems) == {
        ("acme", "h100"): 16,
        ("initech", "h100"): 0,
    }
    assert problems == []


def test_bad_quota_rows_name_file_line_and_field() -> None:
    problems: list[InputProblem] = []
    text = csv_text("org,gpu_type,gpus", "acme,h100,x", "acme,b200,8", "a,h100,1", "a,h100,2")
    parse_quotas(text, "q.csv", shape(), problems)
    assert [str(p) for p in problems] == [
        "q.csv:2: gpus: must be a non-negative integer, got 'x'",
        "q.csv:3: gpu_type: 'b200' is not in the fleet (h100)",
        "q.csv:5: org: a second quota for a h100 (first at line 4)",
    ]


def test_a_contract_file_has_the_same_format() -> None:
    problems: list[InputProblem] = []
    text = csv_text("org,gpu_type,gpus", "acme,h100,8", "acme,h100,4")
    assert parse_contracts(text, "c.csv", shape(), problems) == {("acme", "h100"): 8}
    assert [str(p) for p in problems] == [
        "c.csv:3: org: a second contract for acme h100 (first at line 2)"
    ]


def test_philly_vc_nodes_give_nodes_times_gpus_per_node() -> None:
    problems: list[InputProblem] = []
    text = csv_text("vc,node num", "6214e9,64", "ed69ec,8")
    quotas = parse_vc_nodes(text, "vc.csv", shape(), problems)
    assert quotas == {("6214e9", "h100"): 512, ("ed69ec", "h100"): 64}
    assert problems == []
    parse_vc_nodes(csv_text("vc,node num", "a,-1", "b,2", "b,3"), "vc.csv", shape(), problems)
    assert [str(p) for p in problems] == [
        "vc.csv:2: node num: must be a non-negative integer, got '-1'",
        "vc.csv:4: vc: b is listed twice (first at line 3)",
    ]


def test_whole_fleet_gives_every_org_every_gpu() -> None:
    assert whole_fleet(["a", "b"], shape(nodes=2)) == {("a", "h100"): 16, ("b", "h100"): 16}
