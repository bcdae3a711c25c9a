"""Secrets the server must read back (webhook signing secrets), encrypted at rest with its key.

AES-256-GCM with a random 96-bit nonce per value; the row's id is bound in as associated data,
so a ciphertext copied onto another row does not open. Stored as `enc1:<base64url>`; a value
without the prefix is a plaintext left from before encryption and reads as itself until
`encrypt_plaintext_webhook_secrets` rewrites it (done at every start).

The key is 32 random bytes: from NEOCLOUD_SECRET_KEY (base64) if set, else the file
`<data_dir>/secret.key`, created mode 0600 on first start. Losing it loses the secrets it sealed
(their endpoints must be registered again); whoever can read it and the database can read them.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.store.models import WebhookEndpointRow

PREFIX = "enc1:"
KEY_FILE = "secret.key"
KEY_BYTES = 32
NONCE_BYTES = 12


class SecretUnreadable(Exception):
    """A sealed value does not open with this key (another server key, or tampered)."""


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raise SystemExit(f"{where}: not base64") from None
    if len(key) != KEY_BYTES:
        raise SystemExit(f"{where}: expected {KEY_BYTES} bytes of key, got {len(key)}")
    return key


def load_or_create_key(data_dir: Path, configured: str = "") -> bytes:
    """The server key: the configured one, else `<data_dir>/secret.key` (made 0600 if missing)."""
    if configured:
        return _decode_key(configured, "NEOCLOUD_SECRET_KEY")
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        text = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n"
        try:
            # O_EXCL: two processes starting at once must not each write a different key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(text)
    # Tightened on every start, in case the file was copied in with looser modes.
    path.chmod(0o600)
    return _decode_key(path.read_text(), str(path))


class SecretBox:
    """Seals and opens secrets with the server key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> str:
        """`enc1:` + base64url(nonce ‖ ciphertext ‖ tag), bound to `context` (the row id)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, stored: str, context: str) -> str:
        """The plaintext of a sealed value; a value without the prefix is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        body = stored[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()
            ).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretUnreadable("the secret does not open with this server key") from None


def encrypt_plaintext_webhook_secrets(s: Session, box: SecretBox) -> int:
    """Seal every webhook secret still stored in clear; returns how many were rewritten."""
    rows = s.scalars(
        select(WebhookEndpointRow).where(WebhookEndpointRow.secret.not_like(PREFIX + "%"))
    ).all()
    for row in rows:
        row.secret = box.seal(row.secret, row.id)
    s.flush()
    return len(rows)
