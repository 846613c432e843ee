"""Server-signed time for doors, and how far a door's clock may be trusted.

A door has no network. Its clock is set only by *time tokens*: the issuer signs the server's UTC
time, optionally bound to one door and to a nonce the door chose; phones carry the tokens.

Wire form: COSE_Sign1 (as credentials) over ``{1: iss, 6: iat (seconds since the epoch, UTC),
-65538: {1: door id (absent = any door), 2: nonce (absent = broadcast form)}}``.

The door's rule (``accept_time_token``):

1. the token is signed by an active issuer key the door trusts, and names this door or any door;
2. it is strictly newer than the last token the door accepted (``time_token_not_newer``), so the
   accepted tokens form an increasing sequence and a replayed token is refused;
3. *challenge form* (carries the nonce the door just sent): fresh by construction, accepted even
   when the door's time is unknown (after power loss) — the only way such a door gets its time
   back, unless ``allow_unchallenged_when_unknown`` is set;
4. *broadcast form* (no nonce, fetched by the phone earlier): accepted only when the door knows
   its time, and the token may set the clock back by at most the drift the door's crystal can
   have accumulated since its last sync (``drift_tolerance``); anything older is
   ``stale_time_token``. Otherwise a replayed morning token could wind an afternoon clock back
   and revive expired credentials.

5. *plausibility*: when the door knows its time, no token may move its clock forward by more than
   ``MAX_CLOCK_STEP`` beyond its drift tolerance (``implausible_time``): one token from a server
   whose clock is wrong by hours or years would otherwise expire every key at the door, for
   good;
6. *correction* (``{3: 1}`` in the body, only together with this door's id and this session's
   nonce): the recovery path when a wrong time was accepted anyway (after a power loss, when
   nothing bounds the first token). It may set the clock and the last token time back; being
   bound to the door's own challenge and signed by the issuer, it cannot be replayed or carried
   to another door.

So a door's clock moves forward, apart from bounded drift corrections and issuer corrections.
The clock tolerance a door applies to credentials grows with the time since its last sync:
``BASE_TOLERANCE`` (transfer delay, server clock error) plus ``DRIFT_PPM`` of the elapsed time.
A ±20 ppm crystal gains about 1.7 s a day: after 90 days unsynced the tolerance is 60 s +
155.5 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from carekey.protocol import cbor
from carekey.protocol.bundle import MAX_DOOR_ID_BYTES
from carekey.protocol.errors import DecodeError, ProtocolError, ValidityError
from carekey.protocol.keys import IssuerKey, IssuerKeyring, open_issuer_signed, sign1
from carekey.protocol.limits import is_time

CLAIM_TIME: Final = -65538
MAX_TIME_TOKEN_BYTES: Final = 512
BASE_TOLERANCE: Final = timedelta(seconds=60)
DRIFT_PPM: Final = 20.0
MAX_TOLERANCE: Final = timedelta(minutes=30)
MIN_NONCE_BYTES: Final = 8
MAX_NONCE_BYTES: Final = 32
MAX_CLOCK_STEP: Final = timedelta(hours=1)
"""How far beyond its drift tolerance one token may move a door's known clock forward."""


def drift_tolerance(
    since_sync: timedelta | None,
    *,
    ppm: float = DRIFT_PPM,
    base: timedelta = BASE_TOLERANCE,
    cap: timedelta = MAX_TOLERANCE,
) -> timedelta:
    """How far a door's clock may be off ``since_sync`` after its last time token.

    ``base + ppm * 1e-6 * since_sync``, capped at ``cap``. ``None`` (never synced) gives ``base``;
    a negative interval counts as zero.
    """
    elapsed = max(since_sync or timedelta(0), timedelta(0))
    return min(base + elapsed * (ppm * 1e-6), cap)


@dataclass(frozen=True, slots=True)
class TimeToken:
    """A verified time token."""

    issuer: str
    time: datetime
    door_id: bytes | None
    nonce: bytes | None
    correction: bool = False


def issue_time_token(
    *,
    issuer_key: IssuerKey,
    now: datetime,
    door_id: bytes | None = None,
    nonce: bytes | None = None,
    correction: bool = False,
) -> bytes:
    """Sign the server time ``now`` (truncated to seconds) for ``door_id`` (None: any door).

    Pass the door's ``nonce`` for the challenge form, which a door accepts even when it has lost
    its time.
    """
    if now.tzinfo is None:
        raise ProtocolError("invalid_argument", "now must be timezone-aware")
    body: dict[int, object] = {}
    if door_id is not None:
        if not 0 < len(door_id) <= MAX_DOOR_ID_BYTES:
            raise ProtocolError("invalid_argument", "door id is 1-32 bytes")
        body[1] = door_id
    if nonce is not None:
        if not MIN_NONCE_BYTES <= len(nonce) <= MAX_NONCE_BYTES:
            raise ProtocolError("invalid_argument", "nonce is 8-32 bytes")
        body[2] = nonce
    if correction:
        if door_id is None or nonce is None:
            raise ProtocolError("invalid_argument", "a correction names the door and its nonce")
        body[3] = 1
    iat = int(now.timestamp())
    if not is_time(iat):
        raise ProtocolError("invalid_argument", "now must be in 1970-9999")
    claims = {1: issuer_key.issuer, 6: iat, CLAIM_TIME: body}
    return sign1(cbor.dumps(claims), issuer_key.signer)


def decode_time_token(data: bytes, *, keyring: IssuerKeyring) -> TimeToken:
    """Verify the signature and structure of a time token (no freshness rule)."""
    issuer, payload = open_issuer_signed(data, keyring=keyring, max_bytes=MAX_TIME_TOKEN_BYTES)
    claims = cbor.loads(payload, max_bytes=MAX_TIME_TOKEN_BYTES, max_depth=2, max_items=16)
    if not isinstance(claims, dict) or set(claims) != {1, 6, CLAIM_TIME}:
        raise DecodeError("malformed", "time token claims")
    iat, body = claims[6], claims[CLAIM_TIME]
    if claims[1] != issuer:
        raise ProtocolError("wrong_issuer")
    if not is_time(iat):
        raise DecodeError("malformed", "iat")
    assert isinstance(iat, int)
    if not isinstance(body, dict) or not set(body) <= {1, 2, 3}:
        raise DecodeError("malformed", "time token body")
    door_id, nonce = body.get(1), body.get(2)
    correction = 3 in body
    if correction and (
        body[3] != 1 or isinstance(body[3], bool) or door_id is None or nonce is None
    ):
        raise DecodeError("malformed", "a correction names the door and its nonce")
    if door_id is not None and (
        not isinstance(door_id, bytes) or not 0 < len(door_id) <= MAX_DOOR_ID_BYTES
    ):
        raise DecodeError("malformed", "door id")
    if nonce is not None and (
        not isinstance(nonce, bytes) or not MIN_NONCE_BYTES <= len(nonce) <= MAX_NONCE_BYTES
    ):
        raise DecodeError("malformed", "nonce")
    return TimeToken(issuer, datetime.fromtimestamp(iat, UTC), door_id, nonce, correction)


def accept_time_token(
    data: bytes,
    *,
    keyring: IssuerKeyring,
    door_id: bytes,
    last_token_time: datetime | None,
    door_now: datetime | None,
    expected_nonce: bytes | None = None,
    allow_unchallenged_when_unknown: bool = False,
) -> TimeToken:
    """The door's decision on a time token (see the module docstring for the rule).

    ``last_token_time`` is the time of the last token the door accepted (kept across power loss),
    ``door_now`` the door's clock or None if unknown, ``expected_nonce`` the nonce the door sent
    in this session, if any. On success the door sets its clock and ``last_token_time`` to
    ``token.time``. Refusals: signature/issuer codes, ``wrong_door``, ``wrong_nonce``,
    ``time_token_not_newer``, ``challenge_required``, ``stale_time_token``.
    """
    token = decode_time_token(data, keyring=keyring)
    if token.door_id is not None and token.door_id != door_id:
        raise ValidityError("wrong_door")
    if token.nonce is not None and token.nonce != expected_nonce:
        raise ValidityError("wrong_nonce")
    if token.correction:
        return token  # this door, this session, the issuer: it may set the clock back
    if last_token_time is not None and token.time <= last_token_time:
        raise ValidityError("time_token_not_newer")
    if door_now is not None:
        since = door_now - last_token_time if last_token_time is not None else None
        if token.time > door_now + drift_tolerance(since) + MAX_CLOCK_STEP:
            raise ValidityError("implausible_time", f"{token.time.isoformat()}")
    if token.nonce is not None:
        return token
    if door_now is None:
        if allow_unchallenged_when_unknown:
            return token
        raise ValidityError("challenge_required")
    since = door_now - last_token_time if last_token_time is not None else None
    if token.time < door_now - drift_tolerance(since):
        raise ValidityError("stale_time_token")
    return token
