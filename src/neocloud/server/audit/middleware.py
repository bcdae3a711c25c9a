"""Opens the audit scope of every request, and records the refused and failed changing calls.

A refused call's own transaction has rolled back (or never began), so its entry is written in a
transaction of its own once the answer is known: status, error code, and whoever the key was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from neocloud.server.http.audit_scope import CHANGING_METHODS, AuditScope, enter, leave
from neocloud.server.http.clock import utcnow
from neocloud.store.db import Database
from neocloud.store.ids import new_id
from neocloud.store.models import AuditRow

log = logging.getLogger(__name__)
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]
# Enough of an error body to read its code; error envelopes are far smaller.
_MAX_ERROR_BODY = 64 * 1024
# 429s answer floods (failed authentication): the limiter counts them, one entry each would
# let a flood write to the log as fast as it can send.
_NOT_RECORDED = frozenset({429})


def _client(scope: MutableMapping[str, Any]) -> str | None:
    client = scope.get("client")
    return str(client[0])[:64] if client else None


def _error_code(body: bytes) -> str | None:
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(code)[:63] if code is not None else None


class AuditMiddleware:
    """ASGI middleware: audit scope per request, and an entry for each refused changing call."""

    def __init__(self, app: App, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        audit = AuditScope(
            method=str(scope["method"]).upper(),
            path=str(scope.get("path", "")),
            client=_client(scope),
            asgi_scope=scope,
        )
        status = 0
        body = bytearray()

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif (
                message["type"] == "http.response.body"
                and status >= 400
                and len(body) < _MAX_ERROR_BODY
            ):
                body.extend(message.get("body", b""))
            await send(message)

        token = enter(audit)
        try:
            await self.app(scope, receive, watch)
        except Exception:
            leave(token)
            await self._record_refusal(audit, 500, "internal_error")
            raise
        leave(token)
        if status >= 400:
            await self._record_refusal(audit, status, _error_code(bytes(body)))

    async def _record_refusal(self, audit: AuditScope, status: int, code: str | None) -> None:
        if audit.method not in CHANGING_METHODS or status in _NOT_RECORDED:
            return
        row = refusal_entry(audit, status, code)
        await anyio.to_thread.run_sync(self._write, row)

    def _write(self, row: AuditRow) -> None:
        # The answer is already sent: a failed write is logged, it cannot change the answer.
        try:
            with self.db.session() as s:
                s.add(row)
        except Exception:
            log.exception("could not record the refused call %s %s", row.action, row.status)


def refusal_entry(audit: AuditScope, status: int, code: str | None) -> AuditRow:
    """The entry of a changing call answered with an error (nothing it tried was committed)."""
    p = audit.principal
    return AuditRow(
        id=new_id("aud"),
        at=utcnow(),
        # A refusal belongs to the caller's org (a probe of another org is not that org's news);
        # without a valid key it is the operator's to read.
        org_id=p.org_id if p is not None and not p.is_operator else None,
        key_id=p.key_id if p is not None else None,
        actor_org_id=p.org_id if p is not None else None,
        role=p.role.value if p is not None else None,
        client=audit.client,
        action=audit.action[:250],
        path=audit.path[:2000],
        target=None,
        outcome="failed" if status >= 500 else "refused",
        status=status,
        error_code=code,
        changes=[],
    )
