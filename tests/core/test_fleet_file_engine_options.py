"""engine_options in the fleet file: each engine takes the options it knows, as it needs them."""

from __future__ import annotations

import pytest

from neocloud.domain.fleet_file import parse_fleet
from neocloud.server.drain_policy import OnDrain, on_drain

FLEET = """\
node_models:
  - {{name: m, capex_per_node: 1, life_years: 5, power_kw_per_node: 1, pue: 1.2,
     price_per_kwh: 0.1}}
regions:
  - name: r
    clusters:
      - name: c
        engine: {engine}
        engine_options: {options}
        nodes:
          - {{name: n1, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: m}}
"""


def _problems(engine: str, options: str) -> list[str]:
    parsed = parse_fleet(FLEET.format(engine=engine, options=options))
    return [f"{p.path}: {p.message}" for p in parsed.problems]


def test_slurm_options_are_read_as_given() -> None:
    parsed = parse_fleet(
        FLEET.format(
            engine="slurm",
            options="{partition: gpu, conf: /etc/slurm/slurm.conf, accounting: 'off', "
            "bin_dir: /usr/bin, state_dir: /shared/neocloud, command_timeout_seconds: '20'}",
        )
    )

    assert parsed.problems == []
    assert parsed.fleet is not None
    assert parsed.fleet.clusters[0].engine_options["partition"] == "gpu"


@pytest.mark.parametrize(
    ("engine", "options", "problem"),
    [
        (
            "slurm",
            "{partiton: gpu}",
            "regions[0].clusters[0].engine_options: unknown option 'partiton' for engine slurm "
            "(allowed: account, accounting, bin_dir, command_timeout_seconds, conf, create_users, "
            "on_drain, org_users, partition, poll_cache_seconds, run_as_user, state_dir)",
        ),
        (
            "slurm",
            "{accounting: maybe}",
            "regions[0].clusters[0].engine_options.accounting: "
            "must be auto, on or off, got 'maybe'",
        ),
        (
            "slurm",
            "{conf: etc/slurm.conf}",
            "regions[0].clusters[0].engine_options.conf: must be an absolute path to slurm.conf, "
            "got 'etc/slurm.conf'",
        ),
        (
            "ray",
            "{address: 'http://head:8265', on_drain: stop}",
            "regions[0].clusters[0].engine_options.on_drain: must be requeue or finish, got 'stop'",
        ),
        (
            "local",
            "{partition: gpu}",
            "regions[0].clusters[0].engine_options: unknown option 'partition' for engine local "
            "(allowed: none)",
        ),
    ],
)
def test_unknown_options_and_bad_values_are_named(engine: str, options: str, problem: str) -> None:
    assert _problems(engine, options) == [problem]


@pytest.mark.parametrize("engine", ["slurm", "ray"])
def test_on_drain_is_a_choice_of_every_engine_that_can_drain_a_node(engine: str) -> None:
    address = "address: 'http://head:8265', " if engine == "ray" else ""
    parsed = parse_fleet(FLEET.format(engine=engine, options=f"{{{address}on_drain: finish}}"))

    assert parsed.problems == []
    assert parsed.fleet is not None
    assert on_drain(parsed.fleet.clusters[0].engine_options) is OnDrain.FINISH


def test_on_drain_defaults_to_requeue() -> None:
    assert on_drain({}) is OnDrain.REQUEUE
