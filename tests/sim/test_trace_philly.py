"""The Philly-derived trace: timestamps to offsets, VCs to orgs, skips counted, bad rows named."""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter

import pytest

from neocloud.domain.jobs import Tier
from neocloud.sim.trace_philly import SKIP_NO_GPUS, SKIP_ZERO_DURATION, load_philly
from tests.sim.helpers import PHILLY_TRACE, csv_text, shape

HEADER = "timestamp,duration,num_gpus,gpu_time,cluster"


def test_rows_become_internal_jobs_of_their_virtual_cluster() -> None:
    text = csv_text(
        HEADER,
        "2017-10-09 07:01:55,66.0,1,66.0,11cb48",
        "2017-10-09 06:13:03,2951.0,16,47216.0,6214e9",
    )
    load = load_philly(text, "philly.csv", shape(nodes=4))
    assert load.ok
    first, second = load.jobs
    # submit_time counts from the earliest timestamp in the file, whatever the row order.
    assert (first.id, first.submit_time, first.org, first.tier) == (
        "job-3",
        0,
        "6214e9",
        Tier.INTERNAL,
    )
    assert (first.gpus_per_node, first.nodes, first.max_runtime) == (8, 2, 2951.0)
    assert second.submit_time == 48 * 60 + 52
    assert (second.org, second.gpu_type, second.duration) == ("11cb48", "h100", 66.0)


def test_cpu_only_and_zero_duration_rows_are_skipped_and_counted() -> None:
    text = csv_text(
        HEADER,
        "2017-10-09 07:01:55,66.0,0,0.0,a",
        "2017-10-09 07:01:56,0.0,1,0.0,a",
        "2017-10-09 07:01:57,0.0,2,0.0,a",
        "2017-10-09 07:01:58,5.0,1,5.0,a",
    )
    load = load_philly(text, "philly.csv", shape())
    assert load.ok and [j.line for j in load.jobs] == [5]
    assert load.skipped == {SKIP_NO_GPUS: 1, SKIP_ZERO_DURATION: 2}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("yesterday,1,1,1,a", "p.csv:2: timestamp: must be a date and time like"),
        ("2017-10-09 07:01:55,-1,1,1,a", "p.csv:2: duration: must be a number of seconds >= 0"),
        ("2017-10-09 07:01:55,1,-2,1,a", "p.csv:2: num_gpus: must be a non-negative integer"),
        ("2017-10-09 07:01:55,1,1,1,", "p.csv:2: cluster: must be a name"),
        ("2017-10-09 07:01:55,1,64,64,a", "p.csv:2: num_gpus: 64 GPUs (8 × 8 h100) never fit"),
    ],
)
def test_a_bad_row_names_file_line_and_field(row: str, expected: str) -> None:
    load = load_philly(csv_text(HEADER, row), "p.csv", shape())
    assert load.jobs == ()
    assert any(str(p).startswith(expected) for p in load.problems), [str(p) for p in load.problems]


def test_a_missing_column_is_a_problem() -> None:
    load = load_philly(csv_text("timestamp,duration,num_gpus", "x,1,1"), "p.csv", shape())
    assert [str(p) for p in load.problems] == ["p.csv:1: cluster: missing required column"]


def test_the_first_rows_of_the_real_file() -> None:
    with PHILLY_TRACE.open(encoding="utf-8") as f:
        text = "".join(itertools.islice(f, 2001))
    load = load_philly(text, PHILLY_TRACE.name, shape(nodes=352))
    assert load.ok and load.skipped == {}
    assert len(load.jobs) == 2000
    assert min(j.submit_time for j in load.jobs) == 0
    assert all(j.tier is Tier.INTERNAL and j.duration > 0 for j in load.jobs)
    # Read independently: every row is one job of its cluster, with its size and duration.
    rows = list(csv.DictReader(io.StringIO(text)))
    assert Counter(j.org for j in load.jobs) == Counter(r["cluster"] for r in rows)
    by_line = {j.line: j for j in load.jobs}
    for line, row in enumerate(rows, start=2):
        job = by_line[line]
        assert (job.num_gpus, job.duration) == (int(row["num_gpus"]), float(row["duration"]))
        # Philly's sizes divide into whole 8-GPU nodes once a job outgrows one node.
        assert job.gpus == job.num_gpus and job.gpus_per_node <= 8
