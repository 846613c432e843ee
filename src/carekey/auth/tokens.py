"""Tamper-evident tokens: ``base64url(json payload) . base64url(HMAC-SHA256)`` under a key
derived from ``CAREKEY_SECRET_KEY`` for one purpose."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carekey.domain.errors import UnauthorizedError


@lru_cache(maxsize=8)
def _mac_key(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"carekey-tokens-v1", info=purpose.encode()
    ).derive(secret.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def invalid_token() -> UnauthorizedError:
    """The one answer to any token that does not open: bad, expired, signed out."""
    return UnauthorizedError(
        "auth.invalid_token",
        "Adgangen er ugyldig eller udløbet; log ind igen",
        "The access token is invalid or expired; sign in again",
    )


def sign_token(payload: dict[str, Any], *, secret: str, purpose: str) -> str:
    """A tamper-evident token carrying ``payload`` for one ``purpose``."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_mac_key(secret, purpose), body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def open_token(token: str, *, secret: str, purpose: str, now: dt.datetime) -> dict[str, Any]:
    """The payload of a token made by ``sign_token`` for ``purpose``, if genuine and unexpired."""
    try:
        body_text, mac_text = token.split(".", 1)
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, UnicodeError) as exc:
        raise invalid_token() from exc
    expected = hmac.new(_mac_key(secret, purpose), body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise invalid_token()
    try:
        payload: dict[str, Any] = json.loads(body)
        expires = int(payload["exp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid_token() from exc
    if now.timestamp() >= expires:
        raise invalid_token()
    return payload
