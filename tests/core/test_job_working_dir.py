"""A job's working_dir stays inside its own directory: one rule for the API and the engines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from neocloud.domain.jobs import JOB_DIR, working_dir_in_job
from neocloud.schemas.jobs import JobCreate


@pytest.mark.parametrize(
    ("given_dir", "inside"),
    [
        (None, ""),
        ("", ""),
        (".", ""),
        ("/job", ""),
        ("/job/", ""),
        ("out", "out"),
        ("./out//logs/", "out/logs"),
        ("/job/out/./logs", "out/logs"),
        ("..data", "..data"),
    ],
)
def test_paths_inside_the_job_dir_are_accepted(given_dir: str | None, inside: str) -> None:
    assert working_dir_in_job(given_dir) == inside


@pytest.mark.parametrize(
    ("given_dir", "reason"),
    [
        ("..", "'..'"),
        ("../other-job", "'..'"),
        ("out/../../etc", "'..'"),
        ("/job/..", "'..'"),
        ("/etc", "under /job"),
        ("/", "under /job"),
        ("/jobs/x", "under /job"),
        ("/root/.ssh", "under /job"),
        ("out\nx", "control characters"),
        ("out\x00", "control characters"),
    ],
)
def test_paths_leaving_the_job_dir_are_refused(given_dir: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        working_dir_in_job(given_dir)


@given(st.text(alphabet=st.sampled_from("ab./\n"), max_size=20))
def test_whatever_is_accepted_resolves_inside_the_job_dir(text: str) -> None:
    try:
        inside = working_dir_in_job(text)
    except ValueError:
        return
    parts = inside.split("/") if inside else []
    assert ".." not in parts and "" not in parts and "." not in parts
    assert not inside.startswith("/")
    assert f"{JOB_DIR}/{inside}".startswith(JOB_DIR + "/")


def _job(working_dir: str) -> dict[str, object]:
    return {
        "command": ["python3", "train.py"],
        "resources": {"gpu_type": "h100", "gpus_per_node": 1},
        "tier": "spot",
        "working_dir": working_dir,
    }


@pytest.mark.parametrize("working_dir", ["../..", "/etc", "/job/../root"])
def test_the_api_refuses_them_naming_the_field(working_dir: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JobCreate.model_validate(_job(working_dir))

    (error,) = caught.value.errors()
    assert error["loc"] == ("working_dir",)


def test_the_api_keeps_an_accepted_working_dir_as_given() -> None:
    assert JobCreate.model_validate(_job("/job/out")).working_dir == "/job/out"
