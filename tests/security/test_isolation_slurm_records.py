"""A Slurm job's own start and end records are written as its user, so it could rewrite them to
be billed less: where Slurm's own instant is known, they are held to it."""

from __future__ import annotations

import pytest

from neocloud.engines.slurm.report import END_BEFORE_SLURM, START_AFTER_SLURM, held_to_slurm


@pytest.mark.parametrize(
    ("claimed", "slurm", "before", "after", "held"),
    [
        pytest.param(100.4, 100.0, 1.0, START_AFTER_SLURM, 100.4, id="honest-start-kept"),
        pytest.param(
            3700.0, 100.0, 1.0, START_AFTER_SLURM, 160.0, id="start-forged-late-is-capped"
        ),
        pytest.param(10.0, 100.0, 1.0, START_AFTER_SLURM, 99.0, id="start-before-slurm-raised"),
        pytest.param(199.6, 200.0, END_BEFORE_SLURM, 1.0, 199.6, id="honest-end-kept"),
        pytest.param(101.0, 200.0, END_BEFORE_SLURM, 1.0, 195.0, id="end-forged-early-is-raised"),
        pytest.param(900.0, 200.0, END_BEFORE_SLURM, 1.0, 201.0, id="end-after-slurm-capped"),
        pytest.param(150.0, None, 1.0, 1.0, 150.0, id="only-the-job-knows"),
        pytest.param(None, 200.0, 1.0, 1.0, 200.0, id="only-slurm-knows"),
        pytest.param(None, None, 1.0, 1.0, None, id="nobody-knows"),
    ],
)
def test_a_jobs_own_record_is_held_to_slurms(
    claimed: float | None, slurm: float | None, before: float, after: float, held: float | None
) -> None:
    assert held_to_slurm(claimed, slurm, before, after) == held
