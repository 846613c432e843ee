"""Server-signed time tokens and the door's clock tolerance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carekey.protocol import cbor
from carekey.protocol.credential import DoorKind, SubjectType, issue_credential, verify_credential
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DeviceKey, IssuerKey, IssuerKeyring, parse_sign1
from carekey.protocol.timetoken import (
    BASE_TOLERANCE,
    MAX_TOLERANCE,
    TimeToken,
    accept_time_token,
    drift_tolerance,
    issue_time_token,
)

ISSUER = IssuerKey.from_seed("101", bytes(range(32)))
FORGER = IssuerKey.from_seed("101", bytes(range(2, 34)))
KEYRING = IssuerKeyring.of([ISSUER.public])
DOOR = b"door-0001"
NONCE = bytes(range(16))
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def accept(data: bytes, **overrides: Any) -> TimeToken:
    args: dict[str, Any] = {
        "keyring": KEYRING,
        "door_id": DOOR,
        "last_token_time": T0 - timedelta(hours=1),
        "door_now": T0,
        "expected_nonce": None,
    }
    args.update(overrides)
    return accept_time_token(data, **args)


def refusal(data: bytes, **overrides: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        accept(data, **overrides)
    return caught.value.code


def test_broadcast_token_sets_the_time() -> None:
    token = accept(issue_time_token(issuer_key=ISSUER, now=T0 + timedelta(seconds=5)))
    assert token.time == T0 + timedelta(seconds=5)
    assert token.door_id is None
    assert token.nonce is None


def test_challenge_token_restores_time_after_power_loss() -> None:
    data = issue_time_token(issuer_key=ISSUER, now=T0, door_id=DOOR, nonce=NONCE)
    assert accept(data, door_now=None, expected_nonce=NONCE).time == T0


def test_broadcast_token_is_not_enough_when_time_is_unknown() -> None:
    data = issue_time_token(issuer_key=ISSUER, now=T0)
    assert refusal(data, door_now=None) == "challenge_required"
    assert accept(data, door_now=None, allow_unchallenged_when_unknown=True).time == T0


def test_token_for_the_wrong_challenge_or_door_is_refused() -> None:
    data = issue_time_token(issuer_key=ISSUER, now=T0, door_id=DOOR, nonce=NONCE)
    assert refusal(data, door_now=None, expected_nonce=bytes(16)) == "wrong_nonce"
    other = issue_time_token(issuer_key=ISSUER, now=T0, door_id=b"door-0002")
    assert refusal(other) == "wrong_door"


def test_forged_token_is_refused() -> None:
    assert refusal(issue_time_token(issuer_key=FORGER, now=T0)) == "unknown_issuer_key"
    genuine = parse_sign1(issue_time_token(issuer_key=ISSUER, now=T0), max_bytes=512)
    later = cbor.loads(genuine.payload)
    assert isinstance(later, dict)
    later[6] += 3600
    tampered = cbor.dumps(
        cbor.Tag(18, [genuine.protected, {}, cbor.dumps(later), genuine.signature])
    )
    assert refusal(tampered) == "bad_signature"


def test_unsigned_token_is_refused() -> None:
    claims = cbor.dumps({1: "101", 6: int(T0.timestamp()), -65538: {}})
    assert refusal(claims) == "malformed"
    empty_signature = cbor.dumps(
        cbor.Tag(18, [cbor.dumps({1: -8, 4: ISSUER.kid}), {}, claims, b""])
    )
    assert refusal(empty_signature) == "bad_signature"
    alg_none = cbor.dumps(cbor.Tag(18, [cbor.dumps({1: 0, 4: ISSUER.kid}), {}, claims, bytes(64)]))
    assert refusal(alg_none) == "unsupported_algorithm"


def test_older_or_replayed_token_is_refused() -> None:
    data = issue_time_token(issuer_key=ISSUER, now=T0)
    assert refusal(data, last_token_time=T0) == "time_token_not_newer"
    assert refusal(data, last_token_time=T0 + timedelta(seconds=1)) == "time_token_not_newer"
    challenge = issue_time_token(issuer_key=ISSUER, now=T0, door_id=DOOR, nonce=NONCE)
    assert refusal(challenge, last_token_time=T0, expected_nonce=NONCE) == "time_token_not_newer"


def test_stale_broadcast_token_cannot_wind_the_clock_back() -> None:
    morning = issue_time_token(issuer_key=ISSUER, now=T0)
    afternoon = T0 + timedelta(hours=5)
    assert (
        refusal(morning, last_token_time=T0 - timedelta(hours=1), door_now=afternoon)
        == "stale_time_token"
    )


def test_drift_tolerance_grows_with_time_since_sync() -> None:
    assert drift_tolerance(None) == BASE_TOLERANCE
    assert drift_tolerance(timedelta(days=-1)) == BASE_TOLERANCE
    assert drift_tolerance(timedelta(days=1)) == BASE_TOLERANCE + timedelta(seconds=1.728)
    assert drift_tolerance(timedelta(days=10_000)) == MAX_TOLERANCE


def test_ninety_days_of_plus_20_ppm_drift() -> None:
    """A door unsynced for 90 days runs 155.5 s fast; the tolerance covers it, and the next
    broadcast token pulls the clock back although it is older than the door's reading."""
    synced = T0
    real_now = synced + timedelta(days=90)
    door_now = synced + timedelta(days=90) * (1 + 20e-6)
    assert door_now - real_now == timedelta(seconds=155.52)
    tolerance = drift_tolerance(door_now - synced)
    assert tolerance >= door_now - real_now

    issuer_device = DeviceKey.from_scalar(5)
    credential = issue_credential(
        issuer_key=ISSUER,
        subject="emp-1",
        subject_type=SubjectType.EMPLOYEE,
        device_key=issuer_device.public,
        kinds=DoorKind.HOME,
        not_before=real_now - timedelta(hours=1),
        expires=real_now + timedelta(seconds=1),  # one real second left
        serial=1,
        denylist_version=1,
        doors=[DOOR],
    )
    args: dict[str, Any] = {"keyring": KEYRING, "door_id": DOOR, "door_kind": DoorKind.HOME}
    assert verify_credential(credential, now=door_now, clock_tolerance=tolerance, **args)
    with pytest.raises(ProtocolError) as caught:
        verify_credential(credential, now=door_now, clock_tolerance=BASE_TOLERANCE, **args)
    assert caught.value.code == "expired"
    # The tolerance is bounded: well past expiry the door still refuses.
    with pytest.raises(ProtocolError) as caught:
        verify_credential(credential, now=door_now + tolerance, clock_tolerance=tolerance, **args)
    assert caught.value.code == "expired"

    token = issue_time_token(issuer_key=ISSUER, now=real_now)
    assert accept(token, last_token_time=synced, door_now=door_now).time == real_now
    too_old = issue_time_token(issuer_key=ISSUER, now=door_now - tolerance - timedelta(seconds=1))
    assert refusal(too_old, last_token_time=synced, door_now=door_now) == "stale_time_token"
