"""What Slurm reports of a job (its times, exit and GPUs), read into the engine protocol's terms.

The job's own start and end records are written as its user, so it could rewrite them to be
billed less: where Slurm's own instant is known, they are held to it (`held_to_slurm`).
"""

from __future__ import annotations

from typing import Any

from neocloud.domain.attempts import MAX_RUNTIME_EXCEEDED
from neocloud.engines.slurm.attempt import AttemptFacts
from neocloud.engines.slurm.parse import expand_hostlist, gpu_gres
from neocloud.scheduler.model import GpuSlot

# A job Slurm runs whose command has not stamped its start after this long is taken as started
# when its script did (the attempt directory may not be shared with the nodes as it should).
COMMAND_START_SECONDS = 60.0
# A command starts at most this long after Slurm started the job (srun's launch), and the
# recorded end lies within this of Slurm's end (whole seconds, stamped once the script exited).
START_AFTER_SLURM = COMMAND_START_SECONDS
END_BEFORE_SLURM = 5.0


def held_to_slurm(
    claimed: float | None, slurm: float | None, before: float, after: float
) -> float | None:
    """The job's own record of an instant, held within [slurm - before, slurm + after] when
    Slurm's own instant is known (the job could have rewritten its record); either one alone
    when only it is known."""
    if claimed is None or slurm is None:
        return claimed if claimed is not None else slurm
    return min(max(claimed, slurm - before), slurm + after)


def epoch(value: object) -> float | None:
    """A Slurm time (epoch seconds, int or text) or None when unset (0, 'Unknown', 'None')."""
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    if isinstance(value, str) and value.isdigit():
        return float(value) if int(value) > 0 else None
    return None


def end_reason(state: str, facts: AttemptFacts) -> str | None:
    """Why an attempt ended, as a reason code the control plane knows."""
    if facts.kill is not None:
        return facts.kill.reason
    if state == "TIMEOUT":
        return f"{MAX_RUNTIME_EXCEEDED}: Slurm's time limit"
    if state == "CANCELLED":
        return "cancelled_in_engine: cancelled in Slurm, not through neocloud"
    if state in ("COMPLETED", "FAILED"):
        return None
    return f"slurm_{state.lower()}: Slurm ended the job with {state}"


def placement_of(job: dict[str, Any]) -> tuple[GpuSlot, ...] | None:
    """The GPU indices Slurm gave a running job on each node, when it says."""
    nodes = expand_hostlist(str(job.get("nodes") or ""))
    details = job.get("gres_detail") or []
    if not nodes or len(details) != len(nodes):
        return None
    slots = []
    for node, detail in zip(nodes, details, strict=True):
        gres = gpu_gres(str(detail))
        if not gres or gres[0][2] is None:
            return None
        slots.append(GpuSlot(node, tuple(sorted(gres[0][2]))))
    return tuple(slots)
