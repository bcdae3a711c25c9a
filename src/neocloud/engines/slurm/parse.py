"""Reading Slurm's own notations: host lists, GRES strings with indices, node and job states."""

from __future__ import annotations

import re

from neocloud.engines.base import NodeHealth

# Job states (squeue/sacct) in which the job holds or will hold resources.
WAITING = frozenset(
    {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD"}
)
ACTIVE = frozenset({"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT"})
# Ended because the machine under the job failed, not because of the job.
NODE_FAILURES = frozenset({"NODE_FAIL", "BOOT_FAIL"})

_GRES_ITEM = re.compile(
    r"^(?P<name>[^:()]+)(?::(?P<type>[^:()]+))?:(?P<count>\d+)(?P<rest>\(.*\))?$"
)
_BRACKETS = re.compile(r"(?P<prefix>[^\[\]]*)\[(?P<ranges>[^\]]+)\](?P<suffix>[^\[\]]*)")
_IDX = re.compile(r"IDX:([0-9,\-]+)")


def expand_hostlist(text: str) -> list[str]:
    """`n[1-3],gpu-[01,05]` → `n1 n2 n3 gpu-01 gpu-05` (Slurm's compressed host lists)."""
    names: list[str] = []
    for part in _split_top(text.strip()):
        match = _BRACKETS.fullmatch(part)
        if match is None:
            if part:
                names.append(part)
            continue
        for item in match["ranges"].split(","):
            first, _, last = item.partition("-")
            if not last:
                names.append(f"{match['prefix']}{first}{match['suffix']}")
                continue
            width = len(first)
            for i in range(int(first), int(last) + 1):
                names.append(f"{match['prefix']}{i:0{width}d}{match['suffix']}")
    return names


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def expand_indices(text: str) -> tuple[int, ...]:
    """`0-2,5` → (0, 1, 2, 5)."""
    out: list[int] = []
    for item in text.split(","):
        first, _, last = item.partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return tuple(out)


def gpu_gres(text: str, name: str = "gpu") -> list[tuple[str | None, int, tuple[int, ...] | None]]:
    """The GPU entries of a GRES string: (type, count, indices when given).

    `gpu:h100:8(S:0-1),shard:4` → [("h100", 8, None)];
    `gpu:h100:2(IDX:0-1)` → [("h100", 2, (0, 1))].
    """
    out: list[tuple[str | None, int, tuple[int, ...] | None]] = []
    for item in _split_gres(text):
        m = _GRES_ITEM.match(item.strip())
        if m is None or m["name"] != name:
            continue
        rest = m["rest"] or ""
        idx = _IDX.search(rest)
        indices = expand_indices(idx.group(1)) if idx else None
        out.append((m["type"], int(m["count"]), indices))
    return out


def _split_gres(text: str) -> list[str]:
    """Split a GRES list on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text or "":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return parts


def node_health(state: str, flags: list[str]) -> NodeHealth:
    """A node's health from sinfo's base state and flags (`idle`+DRAIN → drain, `down` → down)."""
    base = state.lower()
    marks = {f.upper() for f in flags}
    if base in ("down", "unknown", "future", "error") or marks & {"NOT_RESPONDING", "FAIL"}:
        return NodeHealth.DOWN
    if "DRAIN" in marks or base in ("drain", "drained", "draining", "maint"):
        return NodeHealth.DRAIN
    if marks & {"POWERED_DOWN", "POWERING_DOWN", "REBOOT_REQUESTED", "REBOOT_ISSUED"}:
        return NodeHealth.DRAIN
    return NodeHealth.UP


def split_wait_status(status: int) -> tuple[int | None, int | None]:
    """(exit code, signal) from the wait status Slurm reports as `exit_code`."""
    if status & 0x7F:
        return None, status & 0x7F
    return status >> 8, None
