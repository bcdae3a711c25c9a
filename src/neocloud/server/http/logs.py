"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """Render a record as JSON with time, level, logger and message (plus the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure_logging() -> None:
    """Send neocloud's logs to stderr as JSON, at NEOCLOUD_LOG_LEVEL (default info)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("neocloud")
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("NEOCLOUD_LOG_LEVEL", "INFO").upper())
    root.propagate = False
