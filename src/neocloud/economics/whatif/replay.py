"""What a replayed run hands the what-if: every job's allocations and the figures people feel.

Plain data, filled by the simulator's side (neocloud.sim.whatif.run) and read by the economics
(figures.py): the core never imports the simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier

# An allocation: the virtual seconds (since trace second 0) a job held its GPUs from and until.
Allocation = tuple[float, float]


@dataclass(frozen=True, slots=True)
class ReplayJob:
    """One job that held GPUs in a run, with every allocation it made."""

    id: str
    org: str
    tier: Tier
    gpu_type: str
    gpus: int
    allocations: tuple[Allocation, ...]


@dataclass(frozen=True, slots=True)
class TeamFigures:
    """Internal teams' experience in one run (definitions of docs/simulator.md)."""

    jobs: int
    finished: int
    wait_avg_s: float | None
    wait_p95_s: float | None
    jct_avg_s: float | None
    jct_p95_s: float | None


@dataclass(frozen=True, slots=True)
class ExternalDemand:
    """External demand in one run: what was asked, served, left waiting and turned away."""

    jobs: int
    served: int
    # Submitted but never finished (held back by the cap until the replay ended).
    unserved: int
    # Never submitted: a tier or GPU type the policy does not sell, or reserved without contract.
    turned_away: int
    demand_gpu_hours: float
    served_gpu_hours: float
    turned_away_gpu_hours: float
    spot_preemptions: int
    wait_avg_s: float | None = None
    wait_p95_s: float | None = None


@dataclass(frozen=True, slots=True)
class Replay:
    """One simulated run as the what-if reads it."""

    jobs: tuple[ReplayJob, ...]
    internal: TeamFigures
    external: ExternalDemand
    # Virtual time of the last release of GPUs (0 when nothing ran).
    end_s: float


def instant(origin: datetime, seconds: float) -> datetime:
    """The calendar instant of a virtual time (to the microsecond)."""
    return origin + timedelta(seconds=seconds)


def usage_spans(replay: Replay, origin: datetime, regions: Mapping[str, str]) -> list[UsageSpan]:
    """One usage span per allocation, as the platform would meter it (region by GPU type)."""
    spans: list[UsageSpan] = []
    for job in replay.jobs:
        region = regions.get(job.gpu_type, "")
        for i, (start, end) in enumerate(job.allocations):
            begin, finish = instant(origin, start), instant(origin, end)
            if finish <= begin:
                continue  # an attempt preempted at once holds nothing
            spans.append(
                UsageSpan(
                    id=f"{job.id}#{i}",
                    org=job.org,
                    project=None,
                    job=job.id,
                    gpu_type=job.gpu_type,
                    tier=job.tier,
                    region=region,
                    gpus=job.gpus,
                    start=begin,
                    end=finish,
                )
            )
    return spans
