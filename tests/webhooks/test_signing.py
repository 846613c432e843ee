"""Standard Webhooks signatures: the spec's reference vector, our v1 verified by the reference
library itself, v1a (Ed25519) verified with cryptography, and a rotation's two signatures."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from carekey.webhooks import signing
from carekey.webhooks.signing import SigningSecret, VerificationError

# The reference vector of the standard-webhooks libraries' own tests (python, javascript, …).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
VECTOR_NOW = dt.datetime.fromtimestamp(VECTOR_TS, tz=dt.UTC)


def test_the_reference_vector() -> None:
    assert signing.sign_v1(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS)}
    headers["webhook-signature"] = VECTOR_SIG
    assert signing.verify(VECTOR_BODY, headers, [VECTOR_SECRET], now=VECTOR_NOW) == VECTOR_ID


def test_our_v1_verifies_with_the_reference_library() -> None:
    secret = signing.new_hmac_secret()
    assert secret.startswith("whsec_")
    body = json.dumps({"type": "door.opened", "data": {"serial": "ENT-000123"}})
    now = int(dt.datetime.now(dt.UTC).timestamp())
    headers = signing.headers("msg_abc", now, body, [SigningSecret("hmac", secret)])
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_hmac_secret()).verify(body, headers)


def test_v1a_verifies_with_cryptography() -> None:
    secret_key, public_key = signing.new_ed25519_keypair()
    assert secret_key.startswith("whsk_")
    assert public_key.startswith("whpk_")
    assert signing.public_key_of(secret_key) == public_key
    sig = signing.sign_v1a(secret_key, "msg_1", VECTOR_TS, VECTOR_BODY)
    version, encoded = sig.split(",")
    assert version == "v1a"
    raw_public = base64.b64decode(public_key.removeprefix("whpk_"))
    Ed25519PublicKey.from_public_bytes(raw_public).verify(
        base64.b64decode(encoded), f"msg_1.{VECTOR_TS}.{VECTOR_BODY}".encode()
    )
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(VECTOR_TS), "webhook-signature": sig}
    assert signing.verify(VECTOR_BODY, headers, [public_key], now=VECTOR_NOW) == "msg_1"
    _other_secret, other_public = signing.new_ed25519_keypair()
    with pytest.raises(VerificationError):
        signing.verify(VECTOR_BODY, headers, [other_public], now=VECTOR_NOW)


def test_a_rotation_sends_two_signatures_each_verifies() -> None:
    old, new = signing.new_hmac_secret(), signing.new_hmac_secret()
    header = signing.signature_header(
        "msg_2", VECTOR_TS, VECTOR_BODY, [SigningSecret("hmac", old), SigningSecret("hmac", new)]
    )
    parts = header.split(" ")
    assert len(parts) == 2
    assert all(p.startswith("v1,") for p in parts)
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(VECTOR_TS)}
    headers["webhook-signature"] = header
    for key in (old, new):
        assert signing.verify(VECTOR_BODY, headers, [key], now=VECTOR_NOW) == "msg_2"
    # The reference library accepts it with either secret too (it ignores what it cannot read).
    real_now = int(dt.datetime.now(dt.UTC).timestamp())
    live = signing.headers(
        "msg_3",
        real_now,
        VECTOR_BODY,
        [
            SigningSecret("hmac", old),
            SigningSecret("ed25519", signing.new_ed25519_keypair()[0]),
            SigningSecret("hmac", new),
        ],
    )
    for key in (old, new):
        Webhook(key).verify(VECTOR_BODY, live, json_parse=False)


def test_verify_refuses_stale_tampered_and_incomplete() -> None:
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS)}
    headers["webhook-signature"] = VECTOR_SIG
    late = VECTOR_NOW + dt.timedelta(minutes=5, seconds=1)
    with pytest.raises(VerificationError, match="tolerance"):
        signing.verify(VECTOR_BODY, headers, [VECTOR_SECRET], now=late)
    with pytest.raises(VerificationError, match="tolerance"):
        signing.verify(
            VECTOR_BODY, headers, [VECTOR_SECRET], now=VECTOR_NOW - dt.timedelta(minutes=6)
        )
    assert signing.verify(VECTOR_BODY, headers, [VECTOR_SECRET], now=late - dt.timedelta(seconds=2))
    with pytest.raises(VerificationError, match="no matching"):
        signing.verify(VECTOR_BODY + " ", headers, [VECTOR_SECRET], now=VECTOR_NOW)
    with pytest.raises(VerificationError, match="missing"):
        signing.verify(VECTOR_BODY, {"webhook-id": VECTOR_ID}, [VECTOR_SECRET], now=VECTOR_NOW)
    bad_ts = {**headers, "webhook-timestamp": "soon"}
    with pytest.raises(VerificationError, match="invalid"):
        signing.verify(VECTOR_BODY, bad_ts, [VECTOR_SECRET], now=VECTOR_NOW)
    garbage = {**headers, "webhook-signature": "v1,@@@ v9,abc"}
    with pytest.raises(VerificationError):
        signing.verify(VECTOR_BODY, garbage, [VECTOR_SECRET], now=VECTOR_NOW)
    with pytest.raises(ValueError, match="at least one secret"):
        signing.signature_header("m", 1, "{}", [])
    with pytest.raises(ValueError, match="whsk_"):
        signing.public_key_of("whsec_abc")
