"""Sealing of secrets at rest (issuer private keys, TOTP secrets) under the server's secret key.

AES-256-GCM with a key derived by HKDF-SHA256 from ``CAREKEY_SECRET_KEY``; the purpose string is
bound as associated data, so a sealed issuer key cannot be unsealed as a TOTP secret. Format:
``version (1 byte) || nonce (12 bytes) || ciphertext+tag``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carekey.domain.errors import DomainError

_VERSION = b"\x01"


def _kek(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"carekey-keyvault-v1", info=b"kek"
    ).derive(secret.encode())


def seal(plaintext: bytes, *, secret: str, purpose: str, nonce: bytes | None = None) -> bytes:
    """Encrypt ``plaintext`` for storage. ``nonce`` is only for reproducible synthetic data."""
    nonce = nonce if nonce is not None else os.urandom(12)
    if len(nonce) != 12:
        raise ValueError("nonce must be 12 bytes")
    return _VERSION + nonce + AESGCM(_kek(secret)).encrypt(nonce, plaintext, purpose.encode())


def unseal(sealed: bytes, *, secret: str, purpose: str) -> bytes:
    """Decrypt what ``seal`` produced; a wrong secret, purpose or any altered byte is refused."""
    if len(sealed) < 1 + 12 + 16 or sealed[:1] != _VERSION:
        raise DomainError(
            "keyvault.malformed", "Forseglet nøgle er ugyldig", "Sealed key is invalid"
        )
    try:
        return AESGCM(_kek(secret)).decrypt(sealed[1:13], sealed[13:], purpose.encode())
    except InvalidTag as exc:
        raise DomainError(
            "keyvault.wrong_secret",
            "Nøglen kan ikke åbnes: forkert CAREKEY_SECRET_KEY eller ændrede data",
            "The key cannot be unsealed: wrong CAREKEY_SECRET_KEY or altered data",
        ) from exc
