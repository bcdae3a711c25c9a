"""Sharing a pool's idle cost over the usage that pool served (the OpenCost convention)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

from neocloud.economics.exact import ZERO, split_exactly


class IdleShare(StrEnum):
    """Where the cost of capacity nobody used goes."""

    # Its own line: margins of slices carry only the cost of what they used.
    LINE = "line"
    # Split evenly over the orgs that used the pool, then within an org by GPU-hours used.
    EVEN = "even"
    # In proportion to each slice's used cost.
    WEIGHTED = "weighted"


def share_idle(
    idle_cost: Decimal, users: Sequence[tuple[str, Decimal, Decimal]], how: IdleShare
) -> list[Decimal]:
    """Each user's part of idle_cost; users are (org, used GPU-seconds, used cost), in order.

    The parts add up to idle_cost exactly. LINE shares nothing (all parts 0). WEIGHTED falls
    back to GPU-seconds when every used cost is 0 (free capacity still has idle energy).
    """
    if how is IdleShare.LINE or not users:
        return [ZERO] * len(users)
    if how is IdleShare.WEIGHTED:
        costs = [cost for _, _, cost in users]
        weights = costs if any(c > 0 for c in costs) else [sec for _, sec, _ in users]
        return split_exactly(idle_cost, weights)
    orgs = list(dict.fromkeys(org for org, _, _ in users))
    per_org = dict(zip(orgs, split_exactly(idle_cost, [Decimal(1)] * len(orgs)), strict=True))
    parts = [ZERO] * len(users)
    for org in orgs:
        mine = [i for i, (who, _, _) in enumerate(users) if who == org]
        for i, part in zip(
            mine, split_exactly(per_org[org], [users[i][1] for i in mine]), strict=True
        ):
            parts[i] = part
    return parts
