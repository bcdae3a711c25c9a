"""Values as the audit log stores them: JSON-safe, secrets replaced, large text fingerprinted."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

REDACTED = "[redacted]"
# Any field so named is a credential or derived from one (api_keys.secret_hash,
# webhook_endpoints.secret, an env var like HF_TOKEN); its value is never copied.
SECRET_NAME = re.compile(r"secret|token|password|passwd|hash|credential|private_key", re.I)
# A job's environment is where customers put their credentials: keep the names, not the values.
VALUES_HIDDEN = frozenset({"env"})
# Longer text (a fleet file) is kept as its length and digest: enough to match it, not to copy it.
MAX_TEXT = 1000


def is_secret(name: str) -> bool:
    """True if a field of this name must never be copied into the log."""
    return bool(SECRET_NAME.search(name))


def safe(name: str, value: Any) -> Any:
    """The value of field `name` as the log keeps it."""
    if is_secret(name):
        return None if value is None else REDACTED
    if name in VALUES_HIDDEN and isinstance(value, dict):
        return {str(k): REDACTED for k in value}
    return plain(value)


def plain(value: Any) -> Any:
    """A JSON-safe copy: decimals and times as strings, mappings redacted by key."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) <= MAX_TEXT:
            return value
        digest = hashlib.sha256(value.encode()).hexdigest()
        return f"<{len(value)} characters, sha256 {digest}>"
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Decimal):
        # One spelling however it was stored: 0.25 sent and 0.250000 read back are the same.
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): safe(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)
