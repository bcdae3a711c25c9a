"""Webhook signing secrets are stored encrypted with the server key, and still sign deliveries."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from neocloud.server.http.secret_box import (
    PREFIX,
    SecretBox,
    SecretUnreadable,
    encrypt_plaintext_webhook_secrets,
    load_or_create_key,
)
from neocloud.server.webhooks.delivery_loop import UNREADABLE_SECRET, WebhookLoop
from neocloud.store.models import WebhookEndpointRow
from tests.api.conftest import Api
from tests.e2e.server import free_port
from tests.webhook_receiver import receiver

HOOK = {"url": "https://hooks.acme.test/n", "event_types": ["invoice.finalized"]}


def _row(api: Api, hook_id: str) -> WebhookEndpointRow:
    with api.ctx.db.session() as s:
        row = s.get(WebhookEndpointRow, hook_id)
        assert row is not None
        s.expunge(row)
        return row


def test_the_secret_is_stored_sealed_and_opens_only_on_its_own_row(api: Api) -> None:
    created = api.new_org("acme").post("/v1/webhooks", json=HOOK).json()
    row = _row(api, created["id"])
    assert row.secret.startswith(PREFIX)
    assert created["secret"] not in row.secret
    assert api.ctx.secrets.open(row.secret, row.id) == created["secret"]
    with pytest.raises(SecretUnreadable):
        api.ctx.secrets.open(row.secret, "whe_another_row")  # copied onto another row
    with pytest.raises(SecretUnreadable):
        SecretBox(b"k" * 32).open(row.secret, row.id)  # another server key


def test_the_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path / "data")
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert load_or_create_key(tmp_path / "data") == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened again


def test_a_configured_key_wins_over_the_file(tmp_path: Path) -> None:
    key = bytes(range(32))
    configured = base64.urlsafe_b64encode(key).decode()
    assert load_or_create_key(tmp_path, configured) == key
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(SystemExit, match="expected 32 bytes"):
        load_or_create_key(tmp_path, base64.urlsafe_b64encode(b"short").decode())


def test_plaintext_secrets_from_before_are_sealed_and_still_sign(api: Api) -> None:
    acme = api.new_org("acme")
    port = free_port()
    api.ctx.settings.outbound_allow = (f"127.0.0.1:{port}",)
    hook = acme.post("/v1/webhooks", json={**HOOK, "url": f"http://127.0.0.1:{port}/h"}).json()
    # As a database from before encryption holds it.
    with api.ctx.db.session() as s:
        s.get(WebhookEndpointRow, hook["id"]).secret = hook["secret"]  # type: ignore[union-attr]
    with api.ctx.db.session() as s:
        assert encrypt_plaintext_webhook_secrets(s, api.ctx.secrets) == 1
        assert encrypt_plaintext_webhook_secrets(s, api.ctx.secrets) == 0  # once only
        stored = s.scalars(select(WebhookEndpointRow.secret)).one()
    assert stored.startswith(PREFIX) and hook["secret"] not in stored
    acme.post(f"/v1/webhooks/{hook['id']}/test")
    loop = WebhookLoop(api.ctx.db, guard=api.ctx.outbound(), secrets=api.ctx.secrets)
    with receiver(port=port) as rx:
        try:
            assert loop.deliver_due() == 1
        finally:
            loop.stop()
    assert len(rx.verified(hook["secret"])) == 1


def test_a_secret_this_server_cannot_open_fails_the_delivery_with_a_clear_error(
    api: Api,
) -> None:
    acme = api.new_org("acme")
    hook = acme.post("/v1/webhooks", json=HOOK).json()
    acme.post(f"/v1/webhooks/{hook['id']}/test")
    stranger = WebhookLoop(api.ctx.db, secrets=SecretBox(b"k" * 32), retry_schedule=())
    try:
        assert stranger.deliver_due() == 1
    finally:
        stranger.stop()
    (d,) = acme.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert d["status"] == "failed" and d["last_error"] == UNREADABLE_SECRET
