"""Idempotency-Key on creating POSTs: the first response is stored and replayed for retries.

A stored response belongs to the key that caused it: it is looked up by (API key id,
Idempotency-Key), and only after the route's permission check has passed, so a replay never
hands a response to a caller who could not have made the request, nor to another key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neocloud.domain.tenancy import Permission
from neocloud.server.auth import Principal
from neocloud.server.clock import utcnow
from neocloud.server.context import AppContext
from neocloud.server.errors import ApiError, conflict, invalid
from neocloud.store.models import IdempotencyRow


def idempotent(
    ctx: AppContext,
    p: Principal,
    key: str | None,
    route: str,
    body: BaseModel,
    response: Response,
    status: int,
    action: Callable[[Session], BaseModel],
    replay_body: bool = True,
    *,
    permission: Permission | Callable[[Principal], None],
) -> Any:
    """Run `action` once per (API key, Idempotency-Key); a retry gets the same response.

    `permission` is the route's own check (a permission, or a function raising 403); it runs
    before anything else, replays included. The stored response is written in the same
    transaction as the action, so either both happen or neither. `replay_body=False` is for
    responses holding a secret (new API keys): a retry then gets 409 naming the created resource
    instead of the secret again.
    """
    if isinstance(permission, Permission):
        p.require(permission)
    else:
        permission(p)
    if key is None:
        with ctx.db.session() as s:
            result = action(s)
        response.status_code = status
        return result
    if not 1 <= len(key) <= 255:
        raise invalid("Idempotency-Key", "must be 1 to 255 characters")
    fingerprint = hashlib.sha256(
        (route + "\n" + json.dumps(jsonable_encoder(body), sort_keys=True)).encode()
    ).hexdigest()
    try:
        with ctx.db.session() as s:
            stored = s.get(IdempotencyRow, (p.key_id, key))
            if stored is None:
                result = action(s)
                encoded = jsonable_encoder(result)
                kept = encoded if replay_body else {"id": encoded.get("id")}
                s.add(
                    IdempotencyRow(
                        scope=p.key_id,
                        key=key,
                        fingerprint=fingerprint,
                        status_code=status,
                        body=json.dumps({"replay": replay_body, "body": kept}),
                        created_at=utcnow(),
                    )
                )
                s.flush()
                response.status_code = status
                return result
    except IntegrityError:
        # A concurrent request with the same key won the race; fall through to replay it.
        pass
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
