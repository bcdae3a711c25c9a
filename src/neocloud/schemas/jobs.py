"""Jobs, their events and logs on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from neocloud.domain import job_limits
from neocloud.domain.jobs import (
    DEFAULT_GRACE_SECONDS,
    JobState,
    PriorityClass,
    Tier,
    working_dir_in_job,
)
from neocloud.schemas.common import StrictModel
from neocloud.schemas.strict import Name

MAX_RUNTIME_LIMIT = 30 * 24 * 3600


class ResourcesIn(StrictModel):
    """GPUs a job needs: whole GPUs of one type, per node, on this many nodes."""

    gpu_type: Name = Field(min_length=1, max_length=32)
    gpus_per_node: int = Field(ge=1, le=64)
    nodes: int = Field(default=1, ge=1, le=1024)


class JobCreate(StrictModel):
    """Submit a job."""

    name: Name | None = Field(default=None, max_length=200)
    command: list[str] = Field(min_length=1, max_length=job_limits.MAX_ARGS)
    env: dict[str, str] = Field(
        default_factory=dict,
        max_length=job_limits.MAX_ENV_ENTRIES,
        description=f"at most {job_limits.MAX_ENV_ENTRIES} variables; command and env together"
        f" at most {job_limits.MAX_SPEC_BYTES} bytes",
    )
    working_dir: str | None = Field(
        default=None,
        max_length=4096,
        description="relative to the job's own directory, or an absolute path under /job; no '..'",
    )
    resources: ResourcesIn
    tier: Tier
    priority_class: PriorityClass | None = None
    max_runtime_seconds: int = Field(default=3600, ge=1, le=MAX_RUNTIME_LIMIT)
    grace_seconds: int = Field(default=DEFAULT_GRACE_SECONDS, ge=0, le=3600)
    requeue_on_preemption: bool = True
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="attempts in all, the first included, after preemptions and node failures"
        " (null: no limit)",
    )
    project: Name | None = Field(default=None, max_length=128, description="project id or name")
    org: Name | None = Field(
        default=None, max_length=128, description="operator only: submit on behalf of an org"
    )

    @field_validator("working_dir")
    @classmethod
    def _inside_the_job_dir(cls, value: str | None) -> str | None:
        working_dir_in_job(value)
        return value

    @model_validator(mode="after")
    def _priority_only_internal(self) -> JobCreate:
        if self.priority_class is not None and self.tier is not Tier.INTERNAL:
            raise ValueError("priority_class applies only to tier internal")
        return self


class Allocation(BaseModel):
    """GPUs a job held on one node, from start to end."""

    id: str
    node: str
    gpu_indices: list[int]
    started_at: datetime | None
    ended_at: datetime | None


class Job(BaseModel):
    """A job and where it stands."""

    id: str
    org_id: str
    project_id: str | None
    name: str | None
    command: list[str]
    env: dict[str, str]
    working_dir: str | None
    gpu_type: str
    gpus_per_node: int
    nodes: int
    tier: Tier
    priority_class: PriorityClass | None
    max_runtime_seconds: int
    grace_seconds: int
    requeue_on_preemption: bool
    max_attempts: int | None = None
    state: JobState
    reason: str | None
    message: str | None
    exit_code: int | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    allocations: list[Allocation] = Field(default_factory=list)


class JobEvent(BaseModel):
    """One recorded transition of a job."""

    seq: int
    at: datetime
    from_state: JobState | None
    to_state: JobState
    reason: str
    message: str | None
    details: dict[str, str] = Field(default_factory=dict)


class JobLogs(BaseModel):
    """A chunk of a job's combined output; pass `next_offset` to continue."""

    job_id: str
    offset: int
    next_offset: int
    data: str
    complete: bool
