"""A Slurm cluster's `engine_options` from the fleet file, read into typed settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from neocloud.engines.base import EngineConfigError
from neocloud.engines.option_values import positive_seconds

ACCOUNTING = ("auto", "on", "off")
# org id = OS user, comma-separated: "org_a=alice,org_b=bob".
_ORG_USERS = re.compile(r"^[A-Za-z0-9_.-]+=[a-z_][a-z0-9_-]*(,[A-Za-z0-9_.-]+=[a-z_][a-z0-9_-]*)*$")
DEFAULT_COMMAND_TIMEOUT_SECONDS = 20.0
DEFAULT_POLL_CACHE_SECONDS = 0.5
DEFAULT_BWRAP = Path("/usr/bin/bwrap")
DEFAULT_GPU_DEVICE_DIR = Path("/dev")


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

        accounting = options.get("accounting", "auto")
        if accounting not in ACCOUNTING:
            raise EngineConfigError(
                f"engine_options.accounting: must be one of {', '.join(ACCOUNTING)}, "
                f"got {accounting!r}"
            )
        paths = {}
        for key in ("state_dir", "bin_dir", "conf", "bwrap", "gpu_device_dir"):
            text = options.get(key)
            if text is not None and not Path(text).is_absolute():
                raise EngineConfigError(f"engine_options.{key}: must be an absolute path")
            paths[key] = Path(text) if text else None
        org_users = options.get("org_users", "")
        if org_users and not _ORG_USERS.match(org_users):
            raise EngineConfigError(
                "engine_options.org_users: must be org=user pairs separated by commas, "
                f"got {org_users!r}"
            )
        create = options.get("create_users", "on")
        if create not in ("on", "off"):
            raise EngineConfigError(
                f"engine_options.create_users: must be on or off, got {create!r}"
            )
        return cls(
            state_dir=paths["state_dir"] or default_state_dir,
            run_as_user=options.get("run_as_user"),
            org_users=dict(pair.split("=", 1) for pair in org_users.split(",") if pair),
            create_users=create == "on",
            sandbox=isolation == "sandbox",
            bwrap=paths["bwrap"] or DEFAULT_BWRAP,
            gpu_device_dir=paths["gpu_device_dir"] or DEFAULT_GPU_DEVICE_DIR,
            bin_dir=paths["bin_dir"],
            conf=paths["conf"],
            partition=options.get("partition"),
            account=options.get("account"),
            accounting=accounting,
            command_timeout_seconds=positive_seconds(
                options, "command_timeout_seconds", DEFAULT_COMMAND_TIMEOUT_SECONDS
            ),
            poll_cache_seconds=positive_seconds(
                options, "poll_cache_seconds", DEFAULT_POLL_CACHE_SECONDS
            ),
        )
