"""Failed authentications are rate-limited per client address and per key prefix.

Each address and each key prefix has a token bucket of `limit` failures that refills over
`window_seconds`; a failure takes a token. Once an address's bucket is empty, every request from
it is answered 429 before its key is even looked at, until a token is back (`Retry-After` says
when). A key prefix's empty bucket turns that prefix's failures into 429s, but its holder's right
key still works: a key's 256 random bits are what protect it, and a stranger guessing at its
prefix must not lock its owner out. Successful requests take no token.

The buckets live in this process's memory: each server process counts on its own, and a restart
forgets them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from neocloud.server.http.auth import KEY_PREFIX
from neocloud.server.http.errors import ApiError

log = logging.getLogger("neocloud.auth")
# Bound on remembered buckets, so a flood from many addresses cannot grow memory without end.
MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class AuthThrottle:
    """Token buckets of failed authentications, keyed by client address and by key prefix."""

    def __init__(
        self,
        limit: int = 20,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, limit)
        self.rate = self.limit / window_seconds  # tokens per second
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _level(self, name: str, now: float) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            return _Bucket(float(self.limit), now)
        bucket.tokens = min(self.limit, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        return bucket

    def _wait(self, bucket: _Bucket) -> int:
        """Whole seconds until the bucket holds a token again (0 if it holds one)."""
        if bucket.tokens >= 1:
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def blocked(self, address: str) -> int:
        """Seconds the address must wait before it may try a key again; 0 if it may now."""
        with self._lock:
            if f"addr:{address}" not in self._buckets:
                return 0
            return self._wait(self._level(f"addr:{address}", self.clock()))

    def failed(self, address: str, prefix: str | None) -> int:
        """Count one failure; returns the seconds to wait if a limit is now exhausted, else 0."""
        now = self.clock()
        names = [f"addr:{address}"] + ([f"prefix:{prefix}"] if prefix else [])
        wait = 0
        with self._lock:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            for name in names:
                bucket = self._level(name, now)
                # A failure after the bucket ran dry is answered 429 and does not dig deeper.
                exhausted = bucket.tokens < 1
                bucket.tokens = max(0.0, bucket.tokens - 1)
                self._buckets[name] = bucket
                if exhausted:
                    wait = max(wait, self._wait(bucket))
        return wait

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they are as good as new); if none, the oldest half."""
        full = [n for n, b in self._buckets.items() if self._level(n, now).tokens >= self.limit]
        for name in full:
            del self._buckets[name]
        if len(self._buckets) >= MAX_BUCKETS:
            oldest = sorted(self._buckets, key=lambda n: self._buckets[n].at)
            for name in oldest[: len(oldest) // 2]:
                del self._buckets[name]


def too_many(wait: int) -> ApiError:
    """429 in the error envelope, with an honest Retry-After."""
    return ApiError(
        429,
        "rate_limited",
        f"too many failed authentications; retry after {wait} s",
        {"retry_after_seconds": wait},
        headers={"Retry-After": str(wait)},
    )


def key_prefix(authorization: str | None) -> str | None:
    """The lookup prefix of a presented `nck_<prefix>_…` key, if it has that shape."""
    secret = (authorization or "").partition(" ")[2].strip()
    parts = secret.split("_", 2)
    if len(parts) == 3 and parts[0] == KEY_PREFIX and parts[1]:
        return parts[1][:32]
    return None


def check_address(throttle: AuthThrottle, address: str) -> None:
    """Raise 429 if this address has used up its failed authentications."""
    wait = throttle.blocked(address)
    if wait:
        raise too_many(wait)


def failure(
    throttle: AuthThrottle, address: str, authorization: str | None, error: ApiError
) -> ApiError:
    """Count a failed authentication and log it; the error to answer (429 once over a limit)."""
    prefix = key_prefix(authorization)
    wait = throttle.failed(address, prefix)
    log.warning(
        "authentication failed from %s (key prefix %s): %s%s",
        address,
        prefix or "-",
        error.message,
        f"; throttled for {wait} s" if wait else "",
    )
    return too_many(wait) if wait else error
