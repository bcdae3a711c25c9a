"""Facts about local processes read from /proc (Linux), standard library only.

The local runner imports this, so it must stay free of third-party and neocloud imports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The few fields of /proc/<pid>/stat the local engine relies on."""

    pid: int
    state: str
    ppid: int
    pgid: int
    # Clock ticks since boot; with the pid it identifies a process even after pid reuse.
    start_time: int

    @property
    def exited(self) -> bool:
        """A zombie (exited, not yet reaped) or dead process is not running anything."""
        return self.state in ("Z", "X", "x")


def read_stat(pid: int) -> ProcStat | None:
    """The process's stat fields, or None if no such process exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces and ')'; everything after the last ')' is
    # fixed-format, starting at field 3.
    rest = raw[raw.rfind(")") + 2 :].split()
    if len(rest) < 20:
        return None
    return ProcStat(
        pid=pid, state=rest[0], ppid=int(rest[1]), pgid=int(rest[2]), start_time=int(rest[19])
    )


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or None if gone."""
    stat = read_stat(pid)
    return None if stat is None else stat.start_time


def is_same_process_alive(pid: int, expected_start_time: int) -> bool:
    """True if `pid` still runs and is the process that started at `expected_start_time`."""
    stat = read_stat(pid)
    return stat is not None and stat.start_time == expected_start_time and not stat.exited


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = read_stat(int(entry))
        if stat is not None and stat.pgid == pgid and not stat.exited:
            members.append(stat.pid)
    return members
