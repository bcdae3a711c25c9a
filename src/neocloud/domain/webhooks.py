"""Webhook rules shared by sender and receiver: the signature scheme and the retry schedule.

Pure: no clock, no network. The server signs with `sign`; a receiver (or the SDK's helper)
checks with `verify`, passing its own clock reading.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
ID_HEADER = "Neocloud-Webhook-Id"
TIMESTAMP_HEADER = "Neocloud-Webhook-Timestamp"
SIGNATURE_HEADER = "Neocloud-Webhook-Signature"
# How far a receiver should accept a timestamp from its own clock: old enough for slow networks,
# short enough that a captured request cannot be replayed for long.
DEFAULT_TOLERANCE_SECONDS = 300

# Seconds to wait after the 1st, 2nd, … failed attempt; after the last one the delivery fails.
# 5 s, 30 s, 2 min, 10 min, 1 h, 6 h, 6 h, 10 h: nine attempts over about 23 hours.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 30, 120, 600, 3600, 21_600, 21_600, 36_000)
# ± this fraction of each delay, so endpoints that failed together are not retried together.
DEFAULT_JITTER = 0.1


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`, keyed with the whole secret string."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    signature_header: str,
    body: bytes,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True if the signature header carries a valid `v1` signature and the timestamp is fresh."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance_seconds:
        return False
    expected = signature(secret, ts, body)
    # Several space-separated signatures may come while a secret is being rotated.
    return any(hmac.compare_digest(expected, part) for part in signature_header.split())


def signed_headers(delivery_id: str, secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt."""
    return {
        ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify_headers(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """`verify` reading the timestamp and signature from request headers (any letter case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts = lower.get(TIMESTAMP_HEADER.lower())
    sig = lower.get(SIGNATURE_HEADER.lower())
    if ts is None or sig is None:
        return False
    return verify(secret, ts, sig, body, now, tolerance_seconds)


def retry_delay(
    failed_attempts: int,
    schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
    rand: float = 0.5,
    jitter: float = DEFAULT_JITTER,
) -> float | None:
    """Seconds before the next attempt after `failed_attempts` failures, or None to give up.

    `rand` in [0, 1) picks the jitter: 0.5 is the schedule exactly, 0 and 1 its edges.
    """
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts from 1")
    if failed_attempts > len(schedule):
        return None
    return schedule[failed_attempts - 1] * (1 + jitter * (2 * rand - 1))
