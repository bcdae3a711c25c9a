"""The sandbox a local attempt's ranks run in: bubblewrap (`bwrap`), as the org's own OS user.

Inside, a rank sees its attempt's own directory read-write at `/job` (domain.jobs.JOB_DIR), a
private `/tmp` and `/dev/shm`, the system's programs and libraries read-only (`/usr` and the
few files of `/etc` programs need), a `/proc` of its own PID namespace (its own processes only),
and of the GPUs only the device files of those it was given. It never sees the control plane's
data directory, other attempts, or other processes; it cannot create user namespaces of its own.
Unless it is given the machine's network (`host_network`, see `local.network`), it also has a
network namespace of its own, with only its own loopback: nothing on the machine's addresses
(the control plane's database or API on 127.0.0.1 included) and nothing beyond answers it.

When the control plane runs as root, each rank runs as its org's unprivileged user
(`tenant_users`): the runner starts, as root, `unshare --mount` (a mount namespace for this
rank only) with a shell that bind-mounts the attempt's directory onto `MOUNT_POINT` (the engine
state directory is not traversable by job users, so bwrap could not reach it by path), then
`setpriv` drops to the org's uid and gid with no supplementary groups and no new privileges,
and `bwrap` builds the sandbox. Without root, bwrap alone runs the rank as the control plane's
own user: its namespaces still hide the machine, but the rank shares the server's uid (weaker).

The root-run helpers get a minimal environment and no argument from the job before `--`; the
job's environment reaches only the sandboxed command, through `--args` on a memory file (not the
command line, which every local user can read).

The runner imports this module: standard library (and the pure domain.jobs) only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neocloud.domain.jobs import JOB_DIR

# An empty root-owned directory, world-traversable, onto which each root-mode rank's own mount
# namespace binds its attempt's directory (no other namespace ever sees a mount there).
MOUNT_POINT = Path("/run/neocloud/sandbox-job")
# Per-GPU device files are /dev/nvidia<index>; these are shared by every GPU and needed by CUDA.
GPU_DEVICE_PREFIX = "nvidia"
GPU_CONTROL_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")
# Top-level system directories, shown read-only (or as the symlinks they are, on merged /usr).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys")
# What programs read from /etc: the loader, users and groups (names for uids), name resolution,
# time zone, TLS roots, Debian's alternatives. Nothing else of the machine's configuration.
ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "host.conf",
    "resolv.conf",
    "gai.conf",
    "localtime",
    "timezone",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "alternatives",
    "mime.types",
)
# What the helpers that run as root before the drop see of the environment.
HELPER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# The base environment of a sandboxed rank (the job's own env and NEOCLOUD_* come on top).
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
# Mounts the attempt's directory on $2 and runs the rest; "$@" is never interpreted.
_MOUNT_AND_EXEC = 'mount --bind -- "$1" "$2" && shift 2 && exec "$@"'


def find_program(name: str) -> str | None:
    """The absolute path of a system program (also looked for in the sbin directories)."""
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{HELPER_PATH}")


def gpu_device_files(device_dir: Path, gpu_indices: Sequence[int]) -> list[str]:
    """The device files an attempt with these GPUs may open: its own, and the shared ones."""
    names = [f"{GPU_DEVICE_PREFIX}{i}" for i in gpu_indices] + list(GPU_CONTROL_DEVICES)
    return [str(device_dir / n) for n in names if os.path.exists(device_dir / n)]


@dataclass(frozen=True, slots=True)
class Sandbox:
    """How to run one rank sandboxed; stored in spec.json, turned into a command by the runner."""

    bwrap: str
    # The attempt's own directory on this machine, shown to the job at /job.
    work_dir: str
    # The job's working directory relative to /job (domain.jobs.working_dir_in_job).
    working_dir: str
    # Device files (paths on this machine) shown at /dev/<name>.
    devices: tuple[str, ...] = ()
    # The org's user; None: run as the control plane's own user (it is not root).
    uid: int | None = None
    gid: int | None = None
    setpriv: str | None = None
    unshare: str | None = None
    mount_point: str = str(MOUNT_POINT)
    # Share the machine's network namespace; False (also when absent from an older spec.json):
    # a namespace of its own, with only its own loopback.
    host_network: bool = False

    def __post_init__(self) -> None:
        if (self.uid is None) != (self.gid is None):
            raise ValueError("uid and gid go together")
        if self.uid is not None and (self.setpriv is None or self.unshare is None):
            raise ValueError("running as another user needs setpriv and unshare")
        if self.uid == 0 or self.gid == 0:
            raise ValueError("a sandboxed rank never runs as root")

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON values."""
        return {
            "bwrap": self.bwrap,
            "work_dir": self.work_dir,
            "working_dir": self.working_dir,
            "devices": list(self.devices),
            "uid": self.uid,
            "gid": self.gid,
            "setpriv": self.setpriv,
            "unshare": self.unshare,
            "mount_point": self.mount_point,
            "host_network": self.host_network,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sandbox:
        """Read what `to_json` wrote."""
        return cls(**{**data, "devices": tuple(data["devices"])})

    def command(self, program: Sequence[str], args_fd: int) -> list[str]:
        """The command line that runs `program` sandboxed; `args_fd` holds `environment_args`."""
        source = self.work_dir if self.uid is None else self.mount_point
        bwrap = bwrap_command(
            self.bwrap,
            job_source=source,
            working_dir=self.working_dir,
            host_network=self.host_network,
            device_args=_device_binds(self.devices),
            program=program,
            args_fd=args_fd,
        )
        if self.uid is None:
            return bwrap
        assert self.setpriv is not None and self.unshare is not None
        drop = [
            self.setpriv,
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--no-new-privs",
            "--",
        ]
        return [
            self.unshare,
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            _MOUNT_AND_EXEC,
            "sh",
            self.work_dir,
            self.mount_point,
            *drop,
            *bwrap,
        ]


def bwrap_command(
    bwrap: str,
    *,
    job_source: str,
    working_dir: str,
    host_network: bool,
    device_args: Sequence[str],
    program: Sequence[str],
    args_fd: int | None = None,
    same_machine: bool = True,
) -> list[str]:
    """The bwrap command line that runs `program` in a sandbox (the one rule for every engine):
    `job_source` at /job, `device_args` (bwrap's `--dev-bind`s, or an `--args` giving them)
    after /dev is made, and bwrap's own arguments first from `args_fd` if given. Unless it runs
    on this machine (`same_machine`), system directories are bound as whatever they are there."""
    return [
        bwrap,
        *(["--args", str(args_fd)] if args_fd is not None else []),
        "--unshare-user",
        "--disable-userns",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        *([] if host_network else ["--unshare-net"]),
        "--die-with-parent",
        *_system_mounts(same_machine),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/dev/shm",
        "--tmpfs",
        "/tmp",
        *device_args,
        "--bind",
        job_source,
        JOB_DIR,
        *_working_dir_args(working_dir),
        # The sandbox's own root (a tmpfs holding the mount points) is not for writing.
        "--remount-ro",
        "/",
        "--",
        *program,
    ]


def setenv_args(env: Mapping[str, str]) -> bytes:
    """bwrap arguments (NUL-separated, for `--args`) that set each variable of `env`."""
    args: list[str] = []
    for key, value in env.items():
        args += ["--setenv", key, value]
    return b"".join(a.encode("utf-8", "surrogateescape") + b"\0" for a in args)


def environment_args(env: Mapping[str, str]) -> bytes:
    """bwrap's `--args` content giving the sandboxed command exactly `env` (NUL-separated)."""
    return b"--clearenv\0" + setenv_args(env)


def probe_command(setpriv: str | None, bwrap: str, own_network: bool = True) -> list[str]:
    """A command that succeeds iff sandboxes can be made here (as an unprivileged user if root),
    with a network namespace of their own if `own_network`."""
    check = [
        bwrap,
        "--unshare-user",
        "--disable-userns",
        "--unshare-pid",
        "--unshare-ipc",
        *(["--unshare-net"] if own_network else []),
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--",
        "true",
    ]
    if setpriv is None:
        return check
    # 65534 is "nobody" by convention; it need not exist for the kernel.
    return [
        setpriv,
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--no-new-privs",
        "--",
        *check,
    ]


def helper_env() -> dict[str, str]:
    """The environment of the helpers (unshare, sh, setpriv, bwrap): nothing of the job's."""
    return {"PATH": HELPER_PATH, "LANG": "C.UTF-8"}


def _system_mounts(same_machine: bool = True) -> list[str]:
    """Read-only system directories (symlinks kept as symlinks when they are this machine's)
    and the chosen /etc files."""
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if not same_machine:
            # Another machine's /bin may be a directory or a link into /usr: bind what it is.
            args += ["--ro-bind-try", path, path]
        elif os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _device_binds(devices: Sequence[str]) -> list[str]:
    """Each device file at /dev/<its name>, usable as a device."""
    args: list[str] = []
    for path in devices:
        args += ["--dev-bind", path, f"/dev/{os.path.basename(path)}"]
    return args


def _working_dir_args(working_dir: str) -> list[str]:
    """Make the working directory (inside the sandbox, as the job's user) and start there."""
    if not working_dir:
        return ["--chdir", JOB_DIR]
    inside = f"{JOB_DIR}/{working_dir}"
    return ["--dir", inside, "--chdir", inside]
