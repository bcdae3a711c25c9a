"""A Slurm cluster's `engine_options` from the fleet file, read into typed settings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from neocloud.domain.engine_options import OptionProblem
from neocloud.domain.fleet import Isolation
from neocloud.engines.option_rules import (
    ON_DRAIN,
    EngineOptions,
    OptionRule,
    absolute_path,
    choice,
    seconds,
)

DEFAULT_COMMAND_TIMEOUT_SECONDS = 20.0
DEFAULT_POLL_CACHE_SECONDS = 0.5
DEFAULT_BWRAP = Path("/usr/bin/bwrap")
DEFAULT_GPU_DEVICE_DIR = Path("/dev")
_SLURM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PATHS = ("state_dir", "bin_dir", "conf", "bwrap", "gpu_device_dir")


def _isolation_rules(options: Mapping[str, str], isolation: Isolation) -> Sequence[OptionProblem]:
    """What the fleet file refuses of the users jobs run as. The engine itself refuses, at
    launch, any user whose uid or gid is 0 whatever its name."""
    problems = []
    if options.get("run_as_user") == "root":
        problems.append(
            OptionProblem("engine_options.run_as_user", "must be an unprivileged user, never root")
        )
    if isolation in (Isolation.USER, Isolation.SANDBOX) and "run_as_user" in options:
        problems.append(
            OptionProblem(
                "isolation",
                "engine_options.run_as_user runs every org's jobs as one user, which keeps no "
                "org from another: declare isolation: none, or drop run_as_user so that each "
                "org gets its own user",
            )
        )
    return problems


SLURM_OPTIONS = EngineOptions(
    "slurm",
    {
        "bin_dir": absolute_path(),
        "conf": absolute_path("an absolute path to slurm.conf"),
        "partition": OptionRule(_SLURM_NAME, "a partition name"),
        "account": OptionRule(_SLURM_NAME, "an account name"),
        "accounting": choice("auto", "on", "off"),
        "state_dir": absolute_path(),
        "command_timeout_seconds": seconds("20"),
        "poll_cache_seconds": seconds("0.5"),
        "run_as_user": OptionRule(re.compile(r"^[a-z_][a-z0-9_-]{0,31}$"), "an OS user name"),
        # org id = OS user, comma-separated: "org_a=alice,org_b=bob".
        "org_users": OptionRule(
            re.compile(r"^[A-Za-z0-9_.-]+=[a-z_][a-z0-9_-]*(,[A-Za-z0-9_.-]+=[a-z_][a-z0-9_-]*)*$"),
            "org=user pairs separated by commas, e.g. 'org_a=alice,org_b=bob'",
        ),
        "create_users": choice("on", "off"),
        "bwrap": absolute_path("an absolute path to bwrap on the compute nodes"),
        "gpu_device_dir": absolute_path("an absolute path, e.g. '/dev'"),
        **ON_DRAIN,
    },
    _isolation_rules,
)


@dataclass(frozen=True, slots=True)
class SlurmOptions:
    """How to reach one Slurm cluster and where to keep the files of its attempts."""

    # Where the attempt files live (batch script, output, start/exit facts). Compute nodes write
    # there, so on a real cluster it must be a filesystem they share with the control plane.
    state_dir: Path
    # Directory of sbatch, squeue, … (None: found on the PATH).
    bin_dir: Path | None = None
    # slurm.conf to use (None: the client's default, or SLURM_CONF of the control plane).
    conf: Path | None = None
    partition: str | None = None
    account: str | None = None
    # Whether finished-job facts may be read from `sacct` (auto: use it when it answers).
    accounting: str = "auto"
    command_timeout_seconds: float = DEFAULT_COMMAND_TIMEOUT_SECONDS
    # How long one `squeue --json` listing serves the polls of every attempt.
    poll_cache_seconds: float = DEFAULT_POLL_CACHE_SECONDS
    # Who jobs run as (never root): one fixed user for every org (isolation: none), else each
    # org's own user: named here (org id → user), or made on demand (`create_users`).
    run_as_user: str | None = None
    org_users: Mapping[str, str] = field(default_factory=dict)
    create_users: bool = True
    # Whether each rank runs in a bubblewrap sandbox on its compute node (`isolation: sandbox`),
    # with bwrap at `bwrap` there and the GPUs' device files (nvidia<index>) in `gpu_device_dir`.
    sandbox: bool = False
    bwrap: Path = DEFAULT_BWRAP
    gpu_device_dir: Path = DEFAULT_GPU_DEVICE_DIR

    @classmethod
    def from_engine_options(
        cls, options: Mapping[str, str], default_state_dir: Path, isolation: str = "user"
    ) -> SlurmOptions:
        """Read `engine_options` (and the cluster's isolation level); a bad value raises
        EngineConfigError naming the option."""
        SLURM_OPTIONS.check(options)
        paths = {key: Path(options[key]) if key in options else None for key in _PATHS}
        org_users = options.get("org_users", "")
        return cls(
            state_dir=paths["state_dir"] or default_state_dir,
            run_as_user=options.get("run_as_user"),
            org_users=dict(pair.split("=", 1) for pair in org_users.split(",") if pair),
            create_users=options.get("create_users", "on") == "on",
            sandbox=isolation == "sandbox",
            bwrap=paths["bwrap"] or DEFAULT_BWRAP,
            gpu_device_dir=paths["gpu_device_dir"] or DEFAULT_GPU_DEVICE_DIR,
            bin_dir=paths["bin_dir"],
            conf=paths["conf"],
            partition=options.get("partition"),
            account=options.get("account"),
            accounting=options.get("accounting", "auto"),
            command_timeout_seconds=float(
                options.get("command_timeout_seconds", DEFAULT_COMMAND_TIMEOUT_SECONDS)
            ),
            poll_cache_seconds=float(options.get("poll_cache_seconds", DEFAULT_POLL_CACHE_SECONDS)),
        )
