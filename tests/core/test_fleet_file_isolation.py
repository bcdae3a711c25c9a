"""What each cluster isolates, as the fleet file declares it: `isolation` (default per engine)
and the operator's `external_without_isolation` opt-in for a cluster that isolates nothing."""

from __future__ import annotations

import pytest

from neocloud.domain.fleet import Isolation
from neocloud.domain.fleet_file import parse_fleet
from neocloud.engines.options import OPTION_RULES

FLEET = """\
node_models:
  - {{name: m, capex_per_node: 1, life_years: 5, power_kw_per_node: 1, pue: 1.2,
     price_per_kwh: 0.1}}
regions:
  - name: r
    clusters:
      - name: c
        engine: {engine}
{extra}        nodes:
          - {{name: n1, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: m}}
"""
WHERE = "regions[0].clusters[0]"


def _parse(engine: str, *lines: str) -> tuple[list[str], tuple[Isolation, bool] | None]:
    extra = "".join(f"        {line}\n" for line in lines)
    parsed = parse_fleet(FLEET.format(engine=engine, extra=extra), OPTION_RULES)
    problems = [f"{p.path}: {p.message}" for p in parsed.problems]
    if parsed.fleet is None:
        return problems, None
    (cluster,) = parsed.fleet.clusters
    return problems, (cluster.isolates, cluster.hosts_external)


@pytest.mark.parametrize(
    ("engine", "lines", "isolates", "hosts_external"),
    [
        pytest.param("local", (), Isolation.SANDBOX, True, id="local-default-sandbox"),
        pytest.param("slurm", (), Isolation.USER, True, id="slurm-default-user"),
        pytest.param("ray", (), Isolation.NONE, False, id="ray-default-none-refuses-external"),
        pytest.param("local", ("isolation: none",), Isolation.NONE, False, id="local-none"),
        pytest.param("slurm", ("isolation: none",), Isolation.NONE, False, id="slurm-none"),
        pytest.param("slurm", ("isolation: sandbox",), Isolation.SANDBOX, True, id="slurm-sandbox"),
        pytest.param(
            "ray",
            ("isolation: none", "external_without_isolation: allow"),
            Isolation.NONE,
            True,
            id="ray-opted-in",
        ),
        pytest.param(
            "ray", ("external_without_isolation: refuse",), Isolation.NONE, False, id="ray-refuse"
        ),
        pytest.param(
            "slurm",
            ("isolation: none", "engine_options: {run_as_user: jobs}"),
            Isolation.NONE,
            False,
            id="slurm-one-run-as-user",
        ),
    ],
)
def test_declared_or_default_isolation(
    engine: str, lines: tuple[str, ...], isolates: Isolation, hosts_external: bool
) -> None:
    assert _parse(engine, *lines) == ([], (isolates, hosts_external))


@pytest.mark.parametrize(
    ("engine", "lines", "problem"),
    [
        pytest.param(
            "slurm",
            ("isolation: sandbox", "engine_options: {run_as_user: jobs}"),
            f"{WHERE}.isolation: engine_options.run_as_user runs every org's jobs as one user, "
            "which keeps no org from another: declare isolation: none, or drop run_as_user so "
            "that each org gets its own user",
            id="one-run-as-user-is-no-sandbox-either",
        ),
        pytest.param(
            "slurm",
            ("isolation: sandbox", "engine_options: {gpu_device_dir: dev}"),
            f"{WHERE}.engine_options.gpu_device_dir: must be an absolute path, e.g. '/dev', "
            "got 'dev'",
            id="sandbox-device-dir-is-absolute",
        ),
        pytest.param(
            "ray",
            ("isolation: user",),
            f"{WHERE}.isolation: engine ray cannot give user: Ray runs every job as the Ray "
            "worker's own user: declare none, and set external_without_isolation: allow only if "
            "external orgs may share it",
            id="user-on-ray",
        ),
        pytest.param(
            "local",
            ("isolation: user",),
            f"{WHERE}.isolation: engine local cannot give user: the local engine gives sandbox "
            "(each org's own user and namespaces) or none",
            id="user-on-local",
        ),
        pytest.param(
            "local",
            ("isolation: strong",),
            f"{WHERE}.isolation: must be one of sandbox, user, none, got 'strong'",
            id="unknown-level",
        ),
        pytest.param(
            "local",
            ("isolation: 1",),
            f"{WHERE}.isolation: must be one of sandbox, user, none, got a number",
            id="not-a-string",
        ),
        pytest.param(
            "ray",
            ("external_without_isolation: yes",),
            f"{WHERE}.external_without_isolation: must be allow or refuse, got a boolean",
            id="opt-in-is-a-word-not-a-boolean",
        ),
        pytest.param(
            "slurm",
            ("external_without_isolation: allow",),
            f"{WHERE}.external_without_isolation: applies only to a cluster with isolation: none "
            "(this one has user, which external orgs may use already): remove it",
            id="opt-in-on-an-isolating-cluster",
        ),
        pytest.param(
            "slurm",
            ("engine_options: {run_as_user: jobs}",),
            f"{WHERE}.isolation: engine_options.run_as_user runs every org's jobs as one user, "
            "which keeps no org from another: declare isolation: none, or drop run_as_user so "
            "that each org gets its own user",
            id="one-run-as-user-is-not-user-isolation",
        ),
        pytest.param(
            "slurm",
            ("isolation: none", "engine_options: {run_as_user: root!}"),
            f"{WHERE}.engine_options.run_as_user: must be an OS user name, got 'root!'",
            id="run-as-user-name",
        ),
        pytest.param(
            "slurm",
            ("isolation: none", "engine_options: {run_as_user: root}"),
            f"{WHERE}.engine_options.run_as_user: must be an unprivileged user, never root",
            id="never-root",
        ),
        pytest.param(
            "slurm",
            ("engine_options: {org_users: 'org_a=alice,org_b'}",),
            f"{WHERE}.engine_options.org_users: must be org=user pairs separated by commas, "
            "e.g. 'org_a=alice,org_b=bob', got 'org_a=alice,org_b'",
            id="org-users-pairs",
        ),
    ],
)
def test_isolation_problems_name_the_key_and_the_fix(
    engine: str, lines: tuple[str, ...], problem: str
) -> None:
    problems, fleet = _parse(engine, *lines)
    assert (problems, fleet) == ([problem], None)


def test_problems_carry_the_line_of_the_key() -> None:
    parsed = parse_fleet(
        FLEET.format(engine="ray", extra="        isolation: sandbox\n"), OPTION_RULES
    )
    assert [p.line for p in parsed.problems] == [9]


def test_the_demo_fleet_isolates_with_the_local_sandbox() -> None:
    from importlib.resources import files

    text = files("neocloud.demo").joinpath("fleet.yaml").read_text()
    fleet = parse_fleet(text, OPTION_RULES).fleet
    assert fleet is not None
    assert {(c.isolates, c.hosts_external) for c in fleet.clusters} == {(Isolation.SANDBOX, True)}
