"""Each engine kind's option rules, which the callers of the fleet file reader pass in
(`neocloud.domain.fleet_file.parse_fleet`): the core asks the engines without importing them."""

from __future__ import annotations

from collections.abc import Mapping

from neocloud.domain.engine_options import EngineOptionRules
from neocloud.engines.local.options import LOCAL_OPTIONS
from neocloud.engines.ray.options import RAY_OPTIONS
from neocloud.engines.slurm.options import SLURM_OPTIONS

OPTION_RULES: Mapping[str, EngineOptionRules] = {
    "local": LOCAL_OPTIONS,
    "slurm": SLURM_OPTIONS,
    "ray": RAY_OPTIONS,
}
