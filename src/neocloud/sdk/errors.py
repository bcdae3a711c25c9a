"""The one exception the SDK raises: what went wrong, in the API's own terms."""

from __future__ import annotations

from typing import Any

UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
BAD_RESPONSE = "bad_response"
INVALID_REQUEST = "invalid_request"
INVALID_CONFIG = "invalid_config"


class NeocloudError(Exception):
    """An API error envelope, or a failure to get one (status is None when nothing answered)."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __repr__(self) -> str:
        return (
            f"NeocloudError(status={self.status!r}, code={self.code!r}, message={self.message!r})"
        )
