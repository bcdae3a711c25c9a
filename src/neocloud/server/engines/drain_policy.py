"""What a cluster does with the running work of a node its engine reports drained.

Slurm's own meaning of drain is "take no new work, let what runs finish". The issue's meaning, and
neocloud's default, is the one of a failing node: stop the work now and requeue or fail it per the
job's policy, its usage ending when the drain was seen. The choice is per cluster, in the fleet
file's `engine_options.on_drain`; it lives in the control plane, so every engine kind gets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class OnDrain(StrEnum):
    """A cluster's answer to a drained node under running jobs."""

    # Stop the node's jobs (with their grace), then requeue or fail each per requeue_on_preemption.
    REQUEUE = "requeue"
    # Let them run to their end (Slurm's meaning of drain); the node only takes no new work.
    FINISH = "finish"


DEFAULT = OnDrain.REQUEUE
OPTION = "on_drain"


def on_drain(engine_options: Mapping[str, str]) -> OnDrain:
    """The cluster's policy from its engine_options (validated by the fleet file)."""
    return OnDrain(engine_options.get(OPTION, DEFAULT.value))
