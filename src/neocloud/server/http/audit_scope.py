"""The calling request, as the audit log sees it: method, route, client address, principal."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from neocloud.server.http.auth import Principal

# Methods whose refusals are recorded; any method's committed changes are recorded.
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class AuditScope:
    """One request. Mutable and shared: the auth dependency and the endpoint run in copies of
    the middleware's context, so they fill in this object rather than set variables of their own.
    """

    method: str
    path: str
    client: str | None
    asgi_scope: MutableMapping[str, Any]
    principal: Principal | None = None
    # Core (non-ORM) INSERT/UPDATE/DELETE seen per connection, until its transaction commits.
    statements: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # True while the ORM flushes: its statements are recorded from the objects, not the SQL.
    flushing: bool = False

    @property
    def route(self) -> str:
        """The route's template (`/v1/orgs/{org}`), or the raw path when none matched."""
        route = self.asgi_scope.get("route")
        template = getattr(route, "path", None)
        return template if isinstance(template, str) else self.path

    @property
    def action(self) -> str:
        """`METHOD /route/{template}`: what kind of call this was."""
        return f"{self.method} {self.route}"

    @property
    def success_status(self) -> int:
        """The status the matched route answers on success."""
        status = getattr(self.asgi_scope.get("route"), "status_code", None)
        return status if isinstance(status, int) else 200


_current: ContextVar[AuditScope | None] = ContextVar("neocloud_audit_scope", default=None)


def current() -> AuditScope | None:
    """The request being served in this context, if any (loops have none)."""
    return _current.get()


def enter(scope: AuditScope) -> object:
    """Make `scope` the current request; returns the token for `leave`."""
    return _current.set(scope)


def leave(token: object) -> None:
    """Forget the current request."""
    _current.reset(token)  # type: ignore[arg-type]


def set_principal(principal: Principal) -> None:
    """Record who is calling, once the key is authenticated."""
    scope = _current.get()
    if scope is not None:
        scope.principal = principal
