"""The proof of freshness: a short-lived, server-signed sign of life bound to one phone.

A door decides offline, so a blocked phone's keys would keep opening until the door learns the
block from some other phone's denylist, or until the keys expire (≤ 9 hours). The proof of
freshness bounds that offline trust: with every heartbeat (and every login or bundle) the server
signs that, at ``iat``, this phone's device key was in good standing and the municipality's
denylist was at ``denylist_version``; the proof expires at ``exp``, a municipality policy (default
55 minutes, never more than :data:`MAX_FRESHNESS_LIFETIME`). A door opens for a phone only
together with a proof for the same device key that is live by the door's own clock (widened by the
door's clock tolerance). Once a phone or its employee is blocked, the server stops renewing it, so
every door, online or not, refuses that phone at the latest ``exp`` + tolerance after its last
check-in.

Wire form: COSE_Sign1 (as credentials) over ``{1: iss, 4: exp, 6: iat, -65541: {1: device key id
(16 bytes, ``DevicePublicKey.key_id``), 2: denylist version (uint < 2**32)}}``; ``iat`` and
``exp`` are below 253402300800 (year 10000).

The denylist version lets a door see that it is behind the list the phone has seen: such a door
requires the phone to bring the piece of that list that covers the door's own withdrawal entry
(see :mod:`carekey.protocol.denylist`), so a citizen's removal reaches the door with the first
phone that checked in after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from carekey.protocol import cbor
from carekey.protocol.errors import DecodeError, ProtocolError, ValidityError
from carekey.protocol.keys import IssuerKey, IssuerKeyring, open_issuer_signed, sign1
from carekey.protocol.limits import DENYLIST_VERSION_LIMIT, TIME_LIMIT

CLAIM_FRESHNESS: Final = -65541
MAX_FRESHNESS_BYTES: Final = 256
MAX_FRESHNESS_LIFETIME: Final = timedelta(hours=2)
"""The longest proof any door accepts, whatever a server's policy says."""
DEFAULT_FRESHNESS_LIFETIME: Final = timedelta(minutes=55)
"""The default policy: with a door's base clock tolerance of 60 s, a blocked phone opens nothing
later than 56 minutes after its last check-in (see docs/threat-model.md for the trade-off)."""
DEVICE_KEY_ID_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class Freshness:
    """A verified proof of freshness."""

    issuer: str
    device_key_id: bytes
    issued_at: datetime
    expires: datetime
    denylist_version: int


def issue_freshness(
    *,
    issuer_key: IssuerKey,
    device_key_id: bytes,
    denylist_version: int,
    now: datetime,
    lifetime: timedelta = DEFAULT_FRESHNESS_LIFETIME,
) -> bytes:
    """Sign a proof of freshness for the phone with ``device_key_id``, valid from ``now``."""
    if now.tzinfo is None:
        raise ProtocolError("invalid_argument", "now must be timezone-aware")
    if len(device_key_id) != DEVICE_KEY_ID_BYTES:
        raise ProtocolError("invalid_argument", "device key ids are 16 bytes")
    if not timedelta(seconds=1) <= lifetime <= MAX_FRESHNESS_LIFETIME:
        raise ProtocolError("freshness_too_long", f"lifetime {lifetime}")
    if not 0 <= denylist_version < DENYLIST_VERSION_LIMIT:
        raise ProtocolError("invalid_argument", "denylist version")
    iat = int(now.timestamp())
    if not 0 <= iat < iat + int(lifetime.total_seconds()) < TIME_LIMIT:
        raise ProtocolError("invalid_argument", "now must be in 1970-9999")
    claims = {
        1: issuer_key.issuer,
        4: iat + int(lifetime.total_seconds()),
        6: iat,
        CLAIM_FRESHNESS: {1: device_key_id, 2: denylist_version},
    }
    return sign1(cbor.dumps(claims), issuer_key.signer)


def _uint(value: object, what: str, limit: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < limit:
        raise DecodeError("malformed", what)
    return value


def decode_freshness(data: bytes, *, keyring: IssuerKeyring) -> Freshness:
    """Verify the signature and structure of a proof (no time rule)."""
    issuer, payload = open_issuer_signed(data, keyring=keyring, max_bytes=MAX_FRESHNESS_BYTES)
    claims = cbor.loads(payload, max_bytes=MAX_FRESHNESS_BYTES, max_depth=2, max_items=16)
    if not isinstance(claims, dict) or set(claims) != {1, 4, 6, CLAIM_FRESHNESS}:
        raise DecodeError("malformed", "freshness claims")
    if claims[1] != issuer:
        raise ProtocolError("wrong_issuer")
    iat = _uint(claims[6], "iat", TIME_LIMIT)
    exp = _uint(claims[4], "exp", TIME_LIMIT)
    body = claims[CLAIM_FRESHNESS]
    if not isinstance(body, dict) or set(body) != {1, 2}:
        raise DecodeError("malformed", "freshness body")
    key_id = body[1]
    if not isinstance(key_id, bytes) or len(key_id) != DEVICE_KEY_ID_BYTES:
        raise DecodeError("malformed", "device key id")
    version = _uint(body[2], "denylist version", DENYLIST_VERSION_LIMIT)
    if not iat < exp:
        raise DecodeError("malformed", "exp must be after iat")
    if timedelta(seconds=exp - iat) > MAX_FRESHNESS_LIFETIME:
        raise ValidityError("freshness_too_long", f"{exp - iat} s")
    return Freshness(
        issuer=issuer,
        device_key_id=key_id,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires=datetime.fromtimestamp(exp, UTC),
        denylist_version=version,
    )


def verify_freshness(
    data: bytes | None,
    *,
    keyring: IssuerKeyring,
    device_key_id: bytes,
    now: datetime | None,
    clock_tolerance: timedelta,
) -> Freshness:
    """The door's rule: a proof for this phone's device key, live at the door's ``now``.

    Refusals: ``freshness_missing``, signature/issuer codes, ``malformed``,
    ``freshness_too_long``, ``freshness_wrong_phone``, ``time_unknown``,
    ``freshness_not_yet_valid`` (``now < iat − tolerance``) and ``freshness_expired``
    (``now ≥ exp + tolerance``).
    """
    if data is None:
        raise ValidityError("freshness_missing")
    proof = decode_freshness(data, keyring=keyring)
    if proof.device_key_id != device_key_id:
        raise ValidityError("freshness_wrong_phone")
    if now is None:
        raise ValidityError("time_unknown")
    if now < proof.issued_at - clock_tolerance:
        raise ValidityError("freshness_not_yet_valid")
    if now - clock_tolerance >= proof.expires:  # not ``expires + tolerance``: year 9999
        raise ValidityError("freshness_expired", f"expired {proof.expires.isoformat()}")
    return proof
