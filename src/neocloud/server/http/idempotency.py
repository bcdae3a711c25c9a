"""Idempotency-Key on creating POSTs: the first response is stored and replayed for retries.

A stored response belongs to the key that caused it: it is looked up by (API key id,
Idempotency-Key), and only after the route's permission check has passed, so a replay never
hands a response to a caller who could not have made the request, nor to another key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neocloud.domain.tenancy import Permission
from neocloud.server.http.auth import Principal
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import AppContext, Caller, Ctx, ProjectCaller
from neocloud.server.http.errors import ApiError, conflict, invalid
from neocloud.store.models import IdempotencyRow


def _fingerprint(route: str, body: BaseModel) -> str:
    """What a retry must repeat: the route and the body, canonically encoded."""
    return hashlib.sha256(
        (route + "\n" + json.dumps(jsonable_encoder(body), sort_keys=True)).encode()
    ).hexdigest()


def _replay(ctx: AppContext, p: Principal, key: str, fingerprint: str) -> Any:
    """The stored response of an earlier request with this key (409/422 when it cannot be)."""
    with ctx.db.session() as s:
        stored = s.get(IdempotencyRow, (p.key_id, key))
        if stored is None:
            raise ApiError(
                409, "conflict", "a request with this Idempotency-Key is in flight; retry"
            )
        if stored.fingerprint != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "Idempotency-Key was already used with a different request",
                {"field": "Idempotency-Key"},
            )
        saved = json.loads(stored.body)
        if not saved["replay"]:
            raise conflict(
                "already created with this Idempotency-Key; its secret was shown only once",
                {"id": saved["body"]["id"]},
            )
        return JSONResponse(
            status_code=stored.status_code,
            content=saved["body"],
            headers={"Idempotent-Replayed": "true"},
        )


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retries with the same key get the same response"),
]


@dataclass(frozen=True)
class Creation:
    """A creating POST: who asks, the request's Idempotency-Key and route, and the clock reading.

    Routes take one (`Create` or `ProjectCreate`) and call `run` instead of threading the context,
    principal, key, route, status and response through by hand.
    """

    ctx: AppContext
    caller: Principal
    key: str | None
    route: str
    status: int
    response: Response
    now: datetime

    def run(
        self,
        body: BaseModel,
        action: Callable[[Session], BaseModel],
        *,
        permission: Permission | Callable[[Principal], None],
        replay_body: bool = True,
    ) -> Any:
        """Run `action` once per (API key, Idempotency-Key); a retry gets the same response.

        `permission` is the route's own check (a permission, or a function raising 403); it runs
        before anything else, replays included. The stored response is written in the same
        transaction as the action, so either both happen or neither. `replay_body=False` is for
        responses holding a secret (new API keys): a retry then gets 409 naming the created
        resource instead of the secret again.
        """
        if isinstance(permission, Permission):
            self.caller.require(permission)
        else:
            permission(self.caller)
        if self.key is None:
            with self.ctx.db.session() as s:
                result = action(s)
            self.response.status_code = self.status
            return result
        if not 1 <= len(self.key) <= 255:
            raise invalid("Idempotency-Key", "must be 1 to 255 characters")
        fingerprint = _fingerprint(self.route, body)
        try:
            with self.ctx.db.session() as s:
                stored = s.get(IdempotencyRow, (self.caller.key_id, self.key))
                if stored is None:
                    result = action(s)
                    encoded = jsonable_encoder(result)
                    kept = encoded if replay_body else {"id": encoded.get("id")}
                    s.add(
                        IdempotencyRow(
                            scope=self.caller.key_id,
                            key=self.key,
                            fingerprint=fingerprint,
                            status_code=self.status,
                            body=json.dumps({"replay": replay_body, "body": kept}),
                            created_at=self.now,
                        )
                    )
                    s.flush()
                    self.response.status_code = self.status
                    return result
        except IntegrityError:
            # A concurrent request with the same key won the race; fall through to replay it.
            pass
        return _replay(self.ctx, self.caller, self.key, fingerprint)


def _creation(
    request: Request, response: Response, ctx: AppContext, p: Principal, key: str | None
) -> Creation:
    """The creation of this request; the route's declared status is the one stored."""
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    path = f"{request.method} {request.url.path}"
    return Creation(ctx, p, key, path, status, response, utcnow())


def org_creation(
    request: Request, response: Response, ctx: Ctx, p: Caller, key: IdempotencyKeyHeader = None
) -> Creation:
    """Dependency: a creation by an org-wide key (project-scoped keys get 403)."""
    return _creation(request, response, ctx, p, key)


def project_creation(
    request: Request,
    response: Response,
    ctx: Ctx,
    p: ProjectCaller,
    key: IdempotencyKeyHeader = None,
) -> Creation:
    """Dependency: a creation by any key; the route confines project-scoped keys itself."""
    return _creation(request, response, ctx, p, key)


Create = Annotated[Creation, Depends(org_creation)]
ProjectCreate = Annotated[Creation, Depends(project_creation)]
