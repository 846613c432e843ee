"""The contracts between the key app's parts, so each can be built and tested on its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from carekey.protocol.keys import DevicePublicKey


class DeviceSigner(Protocol):
    """The phone's device key as secure hardware exposes it: it signs and agrees keys, but the
    private key itself never leaves. ``carekey.link.driver.PhoneDriver`` uses ``sign`` and
    ``public``."""

    @property
    def public(self) -> DevicePublicKey: ...

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256 / SHA-256 signature, raw r‖s (64 bytes)."""
        ...

    def agree(self, peer_public_point: bytes) -> bytes:
        """ECDH with the device key and an uncompressed or compressed P-256 point: 32 bytes."""
        ...


@dataclass(frozen=True)
class WalletStatus:
    """What the app may show without the personal code."""

    present: bool  # keys are stored
    keys_valid_until: dt.datetime | None
    wrong_codes: int  # wrong personal codes since the last right one
    wrong_code_limit: int


@dataclass(frozen=True)
class OutboxItem:
    """One thing waiting to reach the server."""

    id: int
    kind: str  # "receipt", "door_events" or "app_event"
    payload: dict[str, Any]
    created_at: dt.datetime
    attempts: int
