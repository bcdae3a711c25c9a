"""webhook secrets sealed: room for an encrypted signing secret

Webhook signing secrets are stored encrypted with the server key (`enc1:` + base64 of nonce,
ciphertext and tag, about 110 characters), wider than the 100 the plaintext needed. The
plaintext secrets already stored are sealed by the server at its next start, which holds the key
(see neocloud.server.http.secret_box); a migration cannot, as it has no key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=100), type_=sa.String(length=300)
        )


def downgrade() -> None:
    # Only for a database without sealed secrets: PostgreSQL refuses to cut them to 100, and
    # a server from before this revision could not open them anyway.
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=300), type_=sa.String(length=100)
        )
