"""The GPU types the fleet has: one check shared by quotas, caps, prices and contracts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neocloud.server.http.errors import invalid
from neocloud.store.models import NodeRow


def require_gpu_type(s: Session, gpu_type: str, field: str = "gpu_type") -> int:
    """GPUs of a type on the fleet's current nodes; 422 naming `field` when there are none."""
    gpus = s.scalar(
        select(func.coalesce(func.sum(NodeRow.gpus), 0)).where(
            NodeRow.gpu_type == gpu_type, NodeRow.retired.is_(False)
        )
    )
    if not gpus:
        raise invalid(field, f"unknown GPU type {gpu_type!r}: no node in the fleet has it")
    return int(gpus)
