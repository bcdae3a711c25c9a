"""A request body larger than its route allows is answered 413 before anything parses it.

The declared Content-Length is checked first; a body sent without one (chunked) is counted as
it arrives and refused as soon as it passes the limit, so at most the limit is ever held.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neocloud.server.http.context import ServerSettings

# (method, path) → the limit in bytes for that request's body.
LimitFor = Callable[[str, str], int]
FLEET_ROUTES = {("PUT", "/v1/fleet"), ("POST", "/v1/fleet/validate")}


def settings_limits(settings: ServerSettings) -> LimitFor:
    """Body limits from the settings: larger for usage-event batches and fleet files."""

    def limit_for(method: str, path: str) -> int:
        if (method, path) == ("POST", "/v1/usage/events"):
            return settings.max_usage_events_body_bytes
        if (method, path) in FLEET_ROUTES:
            return settings.max_fleet_body_bytes
        return settings.max_body_bytes

    return limit_for


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"request body larger than {limit} bytes",
                "details": {"limit_bytes": limit},
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: buffer each request body up to its limit, or answer 413."""

    def __init__(self, app: ASGIApp, limit_for: LimitFor) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server refuses a malformed length itself
            if too_big:
                await _refuse(send, limit)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
