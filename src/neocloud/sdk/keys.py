"""API keys: created with a secret shown once, listed without it, revoked for good."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from neocloud.domain.tenancy import Role
from neocloud.schemas.common import Page
from neocloud.schemas.tenancy import ApiKey, ApiKeyCreated, KeyCreate, KeyRotate, KeyRotated
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build, segment


class Keys(Resource):
    """API keys (`/v1/keys`)."""

    def create(
        self,
        org: str,
        name: str,
        *,
        role: Role | str | None = None,
        project: str | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> ApiKeyCreated:
        """Create a key; the returned `secret` is the only time it can be seen."""
        body = build(
            KeyCreate, org=org, name=name, role=role, project=project, expires_at=expires_at
        )
        return self._t.call(
            "POST", "/v1/keys", ApiKeyCreated, body=body, idempotency_key=idempotency_key
        )

    def list(
        self, *, org: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page[ApiKey]:
        """One page of keys (of one org, if given)."""
        return self._t.call(
            "GET",
            "/v1/keys",
            Page[ApiKey],
            params={"org": org, "cursor": cursor, "limit": limit},
        )

    def iter(self, *, org: str | None = None, page_size: int | None = None) -> Iterator[ApiKey]:
        """Every key the caller can see (of one org, if given)."""
        return follow_pages(lambda c: self.list(org=org, cursor=c, limit=page_size))

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key; it stops working at once."""
        return self._t.call("POST", f"/v1/keys/{segment(key_id)}/revoke", ApiKey)

    def rotate(
        self, key_id: str, *, grace_seconds: int = 0, idempotency_key: str | None = None
    ) -> KeyRotated:
        """Mint a key like this one and retire it (now, or after the grace period).

        The returned `secret` is the new key's, shown this once; `replaced` is the old key.
        """
        return self._t.call(
            "POST",
            f"/v1/keys/{segment(key_id)}/rotate",
            KeyRotated,
            body=build(KeyRotate, grace_seconds=grace_seconds),
            idempotency_key=idempotency_key,
        )
