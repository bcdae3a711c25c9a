"""Each engine kind's option rules, and the fleet file read with them: the core's reader
(`neocloud.domain.fleet_file.parse_fleet`) asks the engines without importing them."""

from __future__ import annotations

from collections.abc import Mapping

from neocloud.domain.engine_options import EngineOptionRules
from neocloud.domain.fleet_file import FleetParse, parse_fleet
from neocloud.engines.local.options import LOCAL_OPTIONS
from neocloud.engines.ray.options import RAY_OPTIONS
from neocloud.engines.slurm.options import SLURM_OPTIONS

OPTION_RULES: Mapping[str, EngineOptionRules] = {
    "local": LOCAL_OPTIONS,
    "slurm": SLURM_OPTIONS,
    "ray": RAY_OPTIONS,
}


def read_fleet(text: str) -> FleetParse:
    """A fleet file's fleet, or every problem in it, each engine's options judged by the engine."""
    return parse_fleet(text, OPTION_RULES)
