"""A real HTTP receiver for webhook tests: a threaded http.server on 127.0.0.1, port 0."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from neocloud.domain.webhooks import ID_HEADER, verify_headers


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def delivery_id(self) -> str:
        """The Neocloud-Webhook-Id header."""
        return self.headers[ID_HEADER.lower()]


@dataclass
class Receiver:
    """Answers each POST with the next status of `statuses` (200 once they run out)."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        """Record a request and pick its status."""
        with self._lock:
            status = self.statuses.pop(0) if self.statuses else 200
            self.received.append(Received(headers, body, time.monotonic(), status))
            return status

    def verified(self, secret: str) -> list[Received]:
        """The requests whose signature checks out with `secret` right now."""
        return [r for r in self.received if verify_headers(secret, r.headers, r.body, time.time())]


@contextmanager
def receiver(statuses: list[int] | None = None, port: int = 0) -> Iterator[Receiver]:
    """A receiver listening until the block ends (on `port`, or any free one)."""
    state = Receiver(statuses=list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = state.answer(headers, body)
            payload = b"ok" if status < 300 else b"receiver says no"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def wait_until(check: object, timeout: float = 15, every: float = 0.02, what: str = "") -> object:
    """Poll `check()` until it returns something truthy; fail naming `what` at the deadline."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}: last={last!r}")
