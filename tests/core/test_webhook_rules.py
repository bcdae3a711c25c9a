"""Webhook signature and retry schedule: the pure rules sender and receiver share."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from neocloud.domain.webhooks import (
    DEFAULT_RETRY_SCHEDULE,
    retry_delay,
    signature,
    signed_headers,
    verify,
    verify_headers,
)

SECRET = "whsec_test_secret"
TS = 1_767_225_600
BODY = b'{"id":"evt_1","type":"webhook.test"}'
# Computed independently: printf '%s' '1767225600.{"id":"evt_1","type":"webhook.test"}' |
#   openssl dgst -sha256 -hmac 'whsec_test_secret'
KNOWN = "v1=8a10d5eaf3b677f5e11200b91e6aa0d79869abe71b6a3e66c54c526b1411934c"


def test_signature_matches_a_known_vector() -> None:
    assert signature(SECRET, TS, BODY) == KNOWN


def test_signature_is_plain_hmac_sha256_of_timestamp_dot_body() -> None:
    mac = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, TS, BODY) == f"v1={mac}"


def test_verify_accepts_the_real_signature_within_tolerance() -> None:
    assert verify(SECRET, str(TS), KNOWN, BODY, now=TS + 299)
    assert verify(SECRET, str(TS), KNOWN, BODY, now=TS - 299)


@pytest.mark.parametrize(
    ("secret", "ts", "sig", "body", "now"),
    [
        ("whsec_other", str(TS), KNOWN, BODY, TS),  # wrong secret
        (SECRET, str(TS), KNOWN, BODY + b" ", TS),  # body changed
        (SECRET, str(TS + 1), KNOWN, BODY, TS),  # timestamp changed
        (SECRET, str(TS), KNOWN, BODY, TS + 301),  # too old: a replay
        (SECRET, "yesterday", KNOWN, BODY, TS),  # not a timestamp
        (SECRET, str(TS), KNOWN.replace("v1=", "v0="), BODY, TS),  # unknown version
    ],
)
def test_verify_refuses_anything_else(
    secret: str, ts: str, sig: str, body: bytes, now: int
) -> None:
    assert not verify(secret, ts, sig, body, now)


def test_verify_accepts_one_of_several_signatures_during_rotation() -> None:
    assert verify(SECRET, str(TS), f"v1=deadbeef {KNOWN}", BODY, now=TS)


def test_headers_round_trip_in_any_letter_case() -> None:
    headers = signed_headers("whd_1", SECRET, TS, BODY)
    assert headers["Neocloud-Webhook-Id"] == "whd_1"
    assert headers["Neocloud-Webhook-Signature"] == KNOWN
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify_headers(SECRET, lower, BODY, now=TS)
    assert not verify_headers(SECRET, {}, BODY, now=TS)


def test_the_default_schedule_backs_off_and_gives_up_after_about_a_day() -> None:
    delays = [retry_delay(n) for n in range(1, len(DEFAULT_RETRY_SCHEDULE) + 1)]
    assert delays[:5] == [5, 30, 120, 600, 3600]
    known = [d for d in delays if d is not None]
    assert len(known) == len(delays) and known == sorted(known)
    total = sum(known)
    assert 20 * 3600 <= total <= 26 * 3600
    assert retry_delay(len(DEFAULT_RETRY_SCHEDULE) + 1) is None


def test_jitter_stays_within_its_fraction() -> None:
    assert retry_delay(2, (10, 100), rand=0.0, jitter=0.2) == pytest.approx(80)
    assert retry_delay(2, (10, 100), rand=0.999999, jitter=0.2) == pytest.approx(120, rel=1e-5)
    assert retry_delay(1, (10, 100), rand=0.5, jitter=0.2) == 10
    with pytest.raises(ValueError):
        retry_delay(0)
