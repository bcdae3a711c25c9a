"""Key secrets: any generated secret authenticates, including ones with '_' in the random part."""

from __future__ import annotations

from neocloud.server.http.auth import KEY_PREFIX, generate_secret, hash_secret


def test_generated_secrets_split_into_prefix_and_secret() -> None:
    # Regression: secrets whose random part contains '_' were once refused as malformed.
    for _ in range(500):
        secret, prefix = generate_secret()
        head, got_prefix, rest = secret.split("_", 2)
        assert head == KEY_PREFIX and got_prefix == prefix and rest
        assert len(hash_secret(secret)) == 64
