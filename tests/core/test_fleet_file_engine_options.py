"""engine_options in the fleet file: each engine takes the options it knows, as it needs them."""

from __future__ import annotations

import pytest

from neocloud.domain.fleet_file import parse_fleet
from neocloud.engines.local.network import LocalNetwork
from neocloud.engines.options import OPTION_RULES
from neocloud.server.engines.drain_policy import OnDrain, on_drain
from neocloud.server.engines.factory import local_networks

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
    parsed = parse_fleet(FLEET.format(engine=engine, options=options), OPTION_RULES)
    return [f"{p.path}: {p.message}" for p in parsed.problems]


def test_slurm_options_are_read_as_given() -> None:
    parsed = parse_fleet(
        FLEET.format(
            engine="slurm",
            options="{partition: gpu, conf: /etc/slurm/slurm.conf, accounting: 'off', "
            "bin_dir: /usr/bin, state_dir: /shared/neocloud, command_timeout_seconds: '20'}",
        ),
        OPTION_RULES,
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
            "(allowed: account, accounting, bin_dir, bwrap, command_timeout_seconds, conf, "
            "create_users, gpu_device_dir, on_drain, org_users, partition, poll_cache_seconds, "
            "run_as_user, state_dir)",
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
            "(allowed: external_network, internal_network)",
        ),
        (
            "local",
            "{external_network: open}",
            "regions[0].clusters[0].engine_options.external_network: must be none or host, "
            "got 'open'",
        ),
        (
            "local",
            "{internal_network: isolated}",
            "regions[0].clusters[0].engine_options.internal_network: must be none or host, "
            "got 'isolated'",
        ),
        (
            "local",
            "{external_network: HOST}",
            "regions[0].clusters[0].engine_options.external_network: must be none or host, "
            "got 'HOST'",
        ),
        (
            "slurm",
            "{external_network: none}",
            "regions[0].clusters[0].engine_options: unknown option 'external_network' for engine "
            "slurm (allowed: account, accounting, bin_dir, bwrap, command_timeout_seconds, conf, "
            "create_users, gpu_device_dir, on_drain, org_users, partition, poll_cache_seconds, "
            "run_as_user, state_dir)",
        ),
    ],
)
def test_unknown_options_and_bad_values_are_named(engine: str, options: str, problem: str) -> None:
    assert _problems(engine, options) == [problem]


@pytest.mark.parametrize("engine", ["slurm", "ray"])
def test_on_drain_is_a_choice_of_every_engine_that_can_drain_a_node(engine: str) -> None:
    address = "address: 'http://head:8265', " if engine == "ray" else ""
    parsed = parse_fleet(
        FLEET.format(engine=engine, options=f"{{{address}on_drain: finish}}"), OPTION_RULES
    )

    assert parsed.problems == []
    assert parsed.fleet is not None
    assert on_drain(parsed.fleet.clusters[0].engine_options) is OnDrain.FINISH


def test_on_drain_defaults_to_requeue() -> None:
    assert on_drain({}) is OnDrain.REQUEUE


@pytest.mark.parametrize(
    ("options", "external_shares_host", "internal_shares_host"),
    [
        pytest.param("{}", False, True, id="default-external-own-internal-host"),
        pytest.param("{external_network: none}", False, True, id="external-none"),
        pytest.param("{external_network: host}", True, True, id="external-host"),
        pytest.param("{internal_network: none}", False, False, id="internal-none"),
        pytest.param(
            "{external_network: host, internal_network: none}", True, False, id="both-swapped"
        ),
    ],
)
def test_the_local_sandbox_network_is_chosen_per_cluster_and_kind_of_org(
    options: str, external_shares_host: bool, internal_shares_host: bool
) -> None:
    parsed = parse_fleet(FLEET.format(engine="local", options=options), OPTION_RULES)

    assert parsed.problems == []
    networks = local_networks(parsed.fleet)
    assert set(networks) == {"n1"}
    assert networks["n1"].shares_host("external") is external_shares_host
    assert networks["n1"].shares_host("internal") is internal_shares_host


def test_a_kind_of_org_other_than_internal_gets_the_external_choice() -> None:
    assert LocalNetwork(external="none", internal="host").shares_host("") is False
    assert LocalNetwork(external="none", internal="host").shares_host("Internal") is False


@pytest.mark.parametrize("key", ["external_network", "internal_network"])
def test_a_network_choice_on_a_cluster_without_a_sandbox_is_refused(key: str) -> None:
    text = FLEET.format(engine="local", options=f"{{{key}: none}}").replace(
        "        engine_options:", "        isolation: none\n        engine_options:"
    )
    parsed = parse_fleet(text, OPTION_RULES)

    assert [f"{p.path}: {p.message}" for p in parsed.problems] == [
        f"regions[0].clusters[0].engine_options.{key}: chooses the sandbox's network, but this "
        "cluster has isolation: none, whose jobs share the machine's network: remove it, or "
        "drop isolation: none"
    ]
    assert parsed.fleet is None
