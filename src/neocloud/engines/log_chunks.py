"""Slices of an attempt's output, as every engine's `logs` returns them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from neocloud.engines.base import LogChunk


def check_window(offset: int, limit: int) -> None:
    """Raise ValueError unless offset >= 0 and limit > 0."""
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    if limit <= 0:
        raise ValueError(f"limit must be > 0, got {limit}")


def open_job_file(path: Path) -> int | None:
    """A read-only descriptor of a file a job wrote, or None if it is not a regular file.

    The job owns the directory: the file may be a symbolic link to a secret of the machine or a
    FIFO that would block the reader forever. Neither is followed nor waited on.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        return None  # a symbolic link (ELOOP), or unreadable
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def chunk_of_file(path: Path, offset: int, limit: int, ended: bool) -> LogChunk:
    """Up to `limit` bytes of the file from `offset`; complete once the attempt ended and the
    file is read to its end (a missing file is empty output). Decide `ended` before calling:
    output written before the end is then surely included."""
    try:
        fd = open_job_file(path)
    except FileNotFoundError:
        fd = None
    if fd is None:
        size, data = 0, b""
    else:
        with os.fdopen(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(offset)
            data = f.read(limit)
    next_offset = offset + len(data)
    return LogChunk(data=data, next_offset=next_offset, complete=ended and next_offset >= size)


def chunk_of_bytes(whole: bytes, offset: int, limit: int, ended: bool) -> LogChunk:
    """The same slice of output held whole in memory."""
    data = whole[offset : offset + limit]
    next_offset = offset + len(data)
    return LogChunk(
        data=data, next_offset=next_offset, complete=ended and next_offset >= len(whole)
    )
