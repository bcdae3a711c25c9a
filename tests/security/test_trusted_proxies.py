"""The client address (audit log, failed-authentication throttle) is the TCP peer unless the
operator names the reverse proxies whose X-Forwarded-For is believed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from neocloud.server.embedded import serving_options
from neocloud.server.http.context import ServerSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(settings: ServerSettings) -> Iterator[str]:
    """A real uvicorn server with neocloud's serving options, answering its client's address."""
    app = FastAPI()

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, str | None]:
        return {"client": request.client.host if request.client else None}

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, **serving_options(settings))
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [
        ((), "127.0.0.1"),  # by default a forged header is ignored
        (("10.9.9.9",), "127.0.0.1"),  # a header from a peer that is not a named proxy too
        (("127.0.0.1",), "203.0.113.9"),  # the named proxy's word is taken
    ],
)
def test_forwarded_for_is_believed_only_from_named_proxies(
    tmp_path: Path, trusted: tuple[str, ...], seen: str
) -> None:
    settings = ServerSettings(database_url="sqlite://", data_dir=tmp_path, trusted_proxies=trusted)
    with _serving(settings) as url:
        r = httpx.get(f"{url}/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.json() == {"client": seen}
