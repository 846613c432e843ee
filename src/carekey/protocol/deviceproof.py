"""The phone's proof to the server that it holds its enrolled device key.

The server hands out a short-lived challenge; the phone signs, with its P-256 device key,
``context ‖ purpose ‖ 0x00 ‖ phone id ‖ 0x00 ‖ challenge``. The purpose (``login``,
``bundle``) keeps a proof made for one request from being used for another.
"""

from __future__ import annotations

from typing import Final

PROOF_CONTEXT: Final = b"carekey-device-proof-v1\x00"


def proof_message(challenge: str, phone_id: int, purpose: str) -> bytes:
    """The bytes the phone signs for ``purpose`` with the server's ``challenge``."""
    return PROOF_CONTEXT + f"{purpose}\x00{phone_id}\x00{challenge}".encode()
