"""Standard Webhooks signatures (https://www.standardwebhooks.com), pure functions, no I/O.

The signed content is ``f"{msg_id}.{timestamp}.{body}"``. Two schemes:

- ``v1``: HMAC-SHA256 under a symmetric secret ``whsec_`` + base64(key), signature
  ``v1,`` + base64(mac); computed by the spec's reference library (``standardwebhooks``);
- ``v1a``: Ed25519 under a secret key ``whsk_`` + base64(32-byte seed), public key ``whpk_`` +
  base64(32 bytes), signature ``v1a,`` + base64(signature); computed with ``cryptography``.

Several signatures are space-separated in one ``webhook-signature`` header (during a rotation
both the old and the new secret sign); a receiver accepts a message if any one verifies.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import secrets as random
from dataclasses import dataclass
from typing import Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from standardwebhooks.webhooks import Webhook

HMAC_PREFIX: Final = "whsec_"
SECRET_KEY_PREFIX: Final = "whsk_"  # noqa: S105 - a prefix, not a secret
PUBLIC_KEY_PREFIX: Final = "whpk_"
TOLERANCE: Final = dt.timedelta(minutes=5)
HMAC_KEY_BYTES: Final = 32

Kind = Literal["hmac", "ed25519"]


class VerificationError(Exception):
    """The message's headers are missing, stale, or no signature matches."""


@dataclass(frozen=True)
class SigningSecret:
    """One active secret of a subscription: ``whsec_…`` (hmac) or ``whsk_…`` (ed25519)."""

    kind: Kind
    secret: str


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, prefix: str) -> bytes:
    if not text.startswith(prefix):
        raise ValueError(f"expected a key starting with {prefix!r}")
    try:
        return base64.b64decode(text[len(prefix) :] + "==", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def new_hmac_secret() -> str:
    """A fresh symmetric secret, ``whsec_`` + base64 of 32 random bytes."""
    return HMAC_PREFIX + _b64(random.token_bytes(HMAC_KEY_BYTES))


def new_ed25519_keypair() -> tuple[str, str]:
    """A fresh Ed25519 pair: (``whsk_…`` secret key, ``whpk_…`` public key)."""
    secret_key = SECRET_KEY_PREFIX + _b64(Ed25519PrivateKey.generate().private_bytes_raw())
    return secret_key, public_key_of(secret_key)


def public_key_of(secret_key: str) -> str:
    """The ``whpk_…`` public key of a ``whsk_…`` secret key."""
    seed = _unb64(secret_key, SECRET_KEY_PREFIX)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return PUBLIC_KEY_PREFIX + _b64(public)


def signed_content(msg_id: str, timestamp: int, body: str) -> bytes:
    """What is signed: ``{id}.{timestamp}.{body}``."""
    return f"{msg_id}.{timestamp}.{body}".encode()


def sign_v1(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,`` + base64(HMAC-SHA256), by the reference library."""
    when = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return Webhook(secret).sign(msg_id=msg_id, timestamp=when, data=body)


def sign_v1a(secret_key: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1a,`` + base64(Ed25519 signature)."""
    seed = _unb64(secret_key, SECRET_KEY_PREFIX)
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(
        signed_content(msg_id, timestamp, body)
    )
    return "v1a," + _b64(signature)


def sign(secret: SigningSecret, msg_id: str, timestamp: int, body: str) -> str:
    """One signature by one secret."""
    if secret.kind == "hmac":
        return sign_v1(secret.secret, msg_id, timestamp, body)
    return sign_v1a(secret.secret, msg_id, timestamp, body)


def signature_header(msg_id: str, timestamp: int, body: str, secrets: list[SigningSecret]) -> str:
    """The ``webhook-signature`` header: one signature per active secret, space-separated."""
    if not secrets:
        raise ValueError("a message needs at least one secret to be signed")
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def headers(msg_id: str, timestamp: int, body: str, secrets: list[SigningSecret]) -> dict[str, str]:
    """Every header of a delivery (with ``content-type``)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(msg_id, timestamp, body, secrets),
        "content-type": "application/json",
    }


def _matches(candidate: str, msg_id: str, timestamp: int, body: str, key: str) -> bool:
    version, _, encoded = candidate.partition(",")
    try:
        given = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return False
    if version == "v1" and key.startswith(HMAC_PREFIX):
        expected = base64.b64decode(sign_v1(key, msg_id, timestamp, body).split(",", 1)[1])
        return hmac.compare_digest(expected, given)
    if version == "v1a" and key.startswith(PUBLIC_KEY_PREFIX):
        public = Ed25519PublicKey.from_public_bytes(_unb64(key, PUBLIC_KEY_PREFIX))
        try:
            public.verify(given, signed_content(msg_id, timestamp, body))
        except InvalidSignature:
            return False
        return True
    return False


def verify(
    body: str | bytes,
    header_values: dict[str, str],
    keys: list[str],
    *,
    now: dt.datetime,
    tolerance: dt.timedelta = TOLERANCE,
) -> str:
    """Check a received message; return its ``webhook-id``.

    ``keys``: the receiver's ``whsec_…`` secrets and/or ``whpk_…`` public keys. Raises
    :class:`VerificationError` on missing headers, a timestamp outside ``tolerance`` of ``now``,
    or no matching signature."""
    text = body if isinstance(body, str) else body.decode()
    lowered = {k.lower(): v for k, v in header_values.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise VerificationError("missing webhook headers")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise VerificationError("invalid webhook-timestamp") from exc
    sent = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    if abs(now - sent) > tolerance:
        raise VerificationError("timestamp outside the tolerance")
    for candidate in signatures.split(" "):
        if any(_matches(candidate, msg_id, timestamp, text, key) for key in keys):
            return msg_id
    raise VerificationError("no matching signature")
