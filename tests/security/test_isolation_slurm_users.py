"""Who a Slurm job runs as: its org's own unprivileged user, or the operator's mapping, never
root (the engine refuses before anything reaches sbatch)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neocloud.engines.base import EngineConfigError, EngineError, EngineNode, LaunchSpec
from neocloud.engines.slurm.engine import SlurmEngine
from neocloud.engines.slurm.options import SlurmOptions
from neocloud.engines.tenant_users import TenantUsers
from neocloud.scheduler.model import GpuSlot
from tests.conftest import skip_or_fail
from tests.engines import slurm_harness


def _engine(tmp_path: Path, **options: str) -> SlurmEngine:
    absent = slurm_harness.missing()
    if absent is not None and "not installed" in absent:
        skip_or_fail(absent)
    opts = SlurmOptions.from_engine_options(options, tmp_path / "attempts")
    return SlurmEngine("sec", opts, (EngineNode("n1", "h100", 8),))


def _spec(org: str) -> LaunchSpec:
    return LaunchSpec(
        job_id="job-users",
        attempt=0,
        command=["true"],
        env={},
        working_dir=None,
        placement=(GpuSlot("n1", (0,)),),
        max_runtime_seconds=60,
        grace_seconds=1,
        org_id=org,
        org_kind="external",
    )


def test_options_name_the_users() -> None:
    opts = SlurmOptions.from_engine_options(
        {"org_users": "org_a=alice,org_b=bob", "create_users": "off", "run_as_user": "jobs"},
        Path("/state"),
    )
    assert (opts.org_users, opts.create_users, opts.run_as_user) == (
        {"org_a": "alice", "org_b": "bob"},
        False,
        "jobs",
    )


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"org_users": "org_a"}, "org_users: must be org=user pairs"),
        ({"create_users": "maybe"}, "create_users: must be on or off"),
    ],
)
def test_bad_user_options_are_refused(options: dict[str, str], problem: str) -> None:
    with pytest.raises(EngineConfigError, match=problem):
        SlurmOptions.from_engine_options(options, Path("/state"))


def test_the_operators_mapping_names_the_orgs_user(tmp_path: Path) -> None:
    engine = _engine(tmp_path, org_users="org-mapped=nobody")
    who = engine.run_as(_spec("org-mapped"))
    assert (who.user, who.uid) == ("nobody", 65534)


@pytest.mark.parametrize(
    ("options", "org", "problem"),
    [
        pytest.param({"run_as_user": "root"}, "org-a", "uid or gid 0", id="root-as-run-as-user"),
        pytest.param({"org_users": "org-a=root"}, "org-a", "uid or gid 0", id="org-mapped-to-root"),
        pytest.param(
            {"run_as_user": "no-such-user-xyz"}, "org-a", "no OS user", id="missing-run-as-user"
        ),
        pytest.param(
            {"org_users": "org-a=no-such-user-xyz"}, "org-a", "does not exist", id="missing-user"
        ),
        pytest.param({"create_users": "off"}, "org-never-made", "no OS user", id="not-created"),
        pytest.param({}, "", "an org id is needed", id="no-org"),
    ],
)
def test_no_safe_user_no_job(
    tmp_path: Path, options: dict[str, str], org: str, problem: str
) -> None:
    engine = _engine(tmp_path, **options)
    with pytest.raises(EngineError, match=problem):
        engine.launch(_spec(org))
    # Refused before anything of the attempt was written.
    assert not (tmp_path / "attempts" / "job-users").exists()


def test_each_org_gets_its_own_user(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        skip_or_fail("creating users needs root")
    engine = _engine(tmp_path)
    a, b = engine.run_as(_spec("org-users-a")), engine.run_as(_spec("org-users-b"))
    assert a.uid != b.uid and 0 not in (a.uid, a.gid, b.uid, b.gid)
    assert TenantUsers(create=False).identity("org-users-a") == a
