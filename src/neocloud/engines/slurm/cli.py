"""Running Slurm's client commands, and telling "unreachable" from "refused" from "misconfigured".

The control plane integrates through the CLI (pyslurm does not build against 22.05, and
slurmrestd refuses to run as root). Every command runs with a timeout; what its failure means
decides what the control plane does next: an unreachable controller is retried with backoff and
never makes a job lost, a refusal fails that one operation, a configuration problem is reported
with its fix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from neocloud.engines.base import EngineConfigError, EngineError, EngineUnavailable
from neocloud.engines.slurm.options import SlurmOptions

# The commands the engine runs from the control-plane host.
COMMANDS = ("sbatch", "squeue", "scancel", "sinfo", "sacct")
INSTALL_HINT = (
    "install Slurm's client commands on the control-plane host (Debian: apt-get install "
    "slurm-client) or set engine_options.bin_dir to the directory that holds them"
)
# Words in a command's error output that mean the controller could not be reached.
_UNREACHABLE = (
    "unable to contact slurm controller",
    "connection refused",
    "connect failure",
    "socket timed out",
    "zero bytes were transmitted",
    "unable to establish",
    "communication connection failure",
    "slurm_receive_msg",
    "munge",
    "authentication",
    "slurmctld",
)
# ... and words that mean the client has no usable configuration.
_MISCONFIGURED = (
    "could not establish a configuration source",
    "fetch_config",
    "unable to process configuration file",
    "can't open",
    "parse error",
)


class SlurmCli:
    """Runs one cluster's Slurm commands with its slurm.conf and a timeout."""

    def __init__(self, options: SlurmOptions) -> None:
        self.options = options
        self.env = dict(os.environ)
        if options.conf is not None:
            self.env["SLURM_CONF"] = str(options.conf)
        # Times print as epoch seconds wherever the fixed formats are used (sacct).
        self.env["SLURM_TIME_FORMAT"] = "%s"

    def path(self, command: str) -> str:
        """The program to run for a Slurm command (bin_dir's, else the PATH's)."""
        if self.options.bin_dir is not None:
            return str(self.options.bin_dir / command)
        return command

    def missing_commands(self) -> list[str]:
        """The commands the engine needs that cannot be found."""
        out = []
        for command in COMMANDS:
            program = self.path(command)
            if self.options.bin_dir is not None:
                if not os.access(program, os.X_OK):
                    out.append(command)
            elif shutil.which(program, path=self.env.get("PATH")) is None:
                out.append(command)
        return out

    def check_setup(self) -> None:
        """Raise EngineConfigError if a command or the configured slurm.conf is missing."""
        missing = self.missing_commands()
        if missing:
            where = f"in {self.options.bin_dir}" if self.options.bin_dir else "on the PATH"
            raise EngineConfigError(f"{', '.join(missing)} not found {where}: {INSTALL_HINT}")
        conf = self.options.conf
        if conf is not None and not Path(conf).is_file():
            raise EngineConfigError(
                f"slurm.conf not found at {conf}: set engine_options.conf to the cluster's "
                "slurm.conf (often /etc/slurm/slurm.conf) or remove it to use the client default"
            )

    def run(self, command: str, *args: str) -> str:
        """Run a command and return its stdout; failures raise the matching EngineError."""
        argv = [self.path(command), *args]
        timeout = self.options.command_timeout_seconds
        try:
            done = subprocess.run(
                argv,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise EngineConfigError(f"{argv[0]} not found: {INSTALL_HINT}") from None
        except PermissionError:
            raise EngineConfigError(f"{argv[0]} is not executable: {INSTALL_HINT}") from None
        except subprocess.TimeoutExpired:
            raise EngineUnavailable(
                f"{command} did not answer within {timeout:g} s (is slurmctld up and reachable?)"
            ) from None
        if done.returncode != 0:
            raise classify(command, done.stderr or done.stdout)
        return done.stdout

    def run_json(self, command: str, *args: str) -> dict[str, Any]:
        """Run a command with `--json`; errors it reports inside the document raise too.

        squeue and sinfo of 22.05 exit 0 with an empty list and an `errors` entry when the
        controller is down: read as is, every job would look gone.
        """
        out = self.run(command, "--json", *args)
        try:
            document = json.loads(out)
        except json.JSONDecodeError:
            raise EngineError(f"{command} --json printed something that is not JSON") from None
        if not isinstance(document, dict):
            raise EngineError(f"{command} --json printed {type(document).__name__}, not an object")
        errors = document.get("errors") or []
        if errors:
            text = "; ".join(
                str(e.get("description") or e.get("error") or e) if isinstance(e, dict) else str(e)
                for e in errors
            )
            raise EngineUnavailable(f"{command} could not read the cluster's state: {text}")
        return document


def classify(command: str, stderr: str) -> EngineError:
    """The EngineError a failed command's error output stands for."""
    text = " ".join(stderr.split())[:500] or "no error output"
    lowered = text.lower()
    if any(word in lowered for word in _MISCONFIGURED):
        return EngineConfigError(
            f"{command}: {text} (set engine_options.conf to the cluster's slurm.conf)"
        )
    if any(word in lowered for word in _UNREACHABLE):
        return EngineUnavailable(f"{command}: {text}")
    return EngineError(f"{command}: {text}")
