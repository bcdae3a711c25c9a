"""The engine protocol's values: handles that survive a database, specs that reject nonsense."""

from __future__ import annotations

import pytest

from neocloud.engines.base import (
    ADOPT_AFTER_RESTART,
    GANGS,
    LOGS,
    Engine,
    EngineError,
    EngineHandle,
    EngineNode,
    EngineState,
    EngineStatus,
    LaunchSpec,
    NodeHealth,
)
from neocloud.engines.local.engine import LocalEngine
from neocloud.scheduler.model import GpuSlot


def test_handle_round_trips_through_its_string_form() -> None:
    handle = EngineHandle("local", "job-1/3")

    assert handle.to_str() == "local:job-1/3"
    assert EngineHandle.from_str(handle.to_str()) == handle


def test_handle_id_may_contain_colons() -> None:
    handle = EngineHandle("slurm", "cluster:12345")

    assert EngineHandle.from_str(handle.to_str()) == handle


@pytest.mark.parametrize("text", ["no-separator", ":id-without-engine", "local:"])
def test_malformed_handle_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        EngineHandle.from_str(text)


def _spec(**overrides: object) -> LaunchSpec:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "attempt": 0,
        "command": ["true"],
        "env": {},
        "working_dir": None,
        "placement": (GpuSlot("n1", (0,)),),
        "max_runtime_seconds": 60,
        "grace_seconds": 30,
    }
    fields.update(overrides)
    return LaunchSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"job_id": ""}, "job_id"),
        ({"attempt": -1}, "attempt"),
        ({"command": []}, "command"),
        ({"placement": ()}, "placement"),
        ({"placement": (GpuSlot("n1", (0,)), GpuSlot("n1", (1,)))}, "placement"),
        ({"max_runtime_seconds": 0}, "max_runtime_seconds"),
        ({"grace_seconds": -1}, "grace_seconds"),
    ],
)
def test_launch_spec_names_the_bad_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _spec(**overrides)


def test_reason_code_is_the_part_before_the_detail() -> None:
    status = EngineStatus(EngineState.EXITED, reason="launch_failed: working dir /x does not exist")

    assert status.reason_code == "launch_failed"
    assert EngineStatus(EngineState.RUNNING).reason_code is None


def test_only_exited_and_lost_are_terminal() -> None:
    assert {s for s in EngineState if s.terminal} == {EngineState.EXITED, EngineState.LOST}


def test_local_engine_implements_the_protocol(engine) -> None:
    assert isinstance(engine, Engine)
    assert engine.name == "local"
    assert {ADOPT_AFTER_RESTART, LOGS, GANGS} <= engine.capabilities


def test_local_inventory_lists_the_declared_nodes_as_up(engine) -> None:
    nodes = engine.inventory()

    assert [(n.name, n.gpu_type, n.gpus, n.state) for n in nodes] == [
        ("n1", "h100", 8, NodeHealth.UP),
        ("n2", "h100", 8, NodeHealth.UP),
    ]


def test_local_engine_refuses_duplicate_node_names(tmp_path) -> None:
    with pytest.raises(ValueError, match="unique"):
        LocalEngine(tmp_path, [EngineNode("n1", "h100", 8), EngineNode("n1", "a100", 8)])


def test_local_engine_refuses_handles_of_other_engines(engine) -> None:
    with pytest.raises(EngineError, match="slurm"):
        engine.poll(EngineHandle("slurm", "123"))


@pytest.mark.parametrize("ident", ["../../etc/0", "job-1/x", "job-1"])
def test_local_engine_refuses_malformed_handle_ids(engine, ident: str) -> None:
    with pytest.raises(EngineError):
        engine.poll(EngineHandle("local", ident))
