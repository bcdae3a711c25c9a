"""Identifiers: a readable prefix and a time-ordered body, so cursors can page by id."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    """A new id like `job_0190b3c2d4e5f6a7b8c9d0e1` that sorts by creation time."""
    # 48 bits of milliseconds then 48 random bits, hex: lexical order is creation order.
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{os.urandom(6).hex()}"
