"""The door's decision on a credential, including the attack cases of issue 3."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekey.protocol import cbor
from carekey.protocol.credential import (
    CLAIM_CAREKEY,
    Credential,
    DoorKind,
    Right,
    SubjectType,
    decode_credential,
    issue_credential,
    verify_credential,
)
from carekey.protocol.denylist import DenylistEntry, DenylistState, issue_denylist_snapshot
from carekey.protocol.errors import IssueError, ProtocolError
from carekey.protocol.keys import DeviceKey, IssuerKey, IssuerKeyring, parse_sign1, sign1
from carekey.protocol.windows import TimeWindow

ISSUER = IssuerKey.from_seed("101", bytes(range(32)))
OTHER_ISSUER = IssuerKey.from_seed("101", bytes(range(1, 33)))
KEYRING = IssuerKeyring.of([ISSUER.public])
DEVICE = DeviceKey.from_scalar(0xC0FFEE)
DOOR = uuid.UUID(int=1).bytes
OTHER_DOOR = uuid.UUID(int=2).bytes
START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
END = START + timedelta(hours=8)
NO_SLACK = timedelta(0)


def issue(**overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "issuer_key": ISSUER,
        "subject": "emp-4711",
        "subject_type": SubjectType.EMPLOYEE,
        "device_key": DEVICE.public,
        "kinds": DoorKind.HOME,
        "not_before": START,
        "expires": END,
        "serial": 10,
        "denylist_version": 3,
        "doors": [DOOR],
    }
    args.update(overrides)
    return issue_credential(**args)


def verify(data: bytes, **overrides: Any) -> Credential:
    args: dict[str, Any] = {
        "keyring": KEYRING,
        "door_id": DOOR,
        "door_kind": DoorKind.HOME,
        "now": START + timedelta(hours=1),
        "clock_tolerance": NO_SLACK,
    }
    args.update(overrides)
    return verify_credential(data, **args)


def refusal(data: bytes, **overrides: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        verify(data, **overrides)
    return caught.value.code


def resign(data: bytes, change: Any, key: IssuerKey = ISSUER) -> bytes:
    """Decode the claims, let ``change`` edit them, and sign them again (an issuer bug)."""
    claims = cbor.loads(parse_sign1(data, max_bytes=1024).payload)
    assert isinstance(claims, dict)
    change(claims)
    return sign1(cbor.dumps(claims), key.signer)


def test_happy_path_returns_the_claims() -> None:
    credential = verify(issue(credential_id=bytes(16)))
    assert credential.credential_id == bytes(16)
    assert credential.subject == "emp-4711"
    assert credential.issuer == "101"
    assert credential.issuer_kid == ISSUER.kid
    assert credential.device_key == DEVICE.public
    assert credential.kinds == {DoorKind.HOME}
    assert (credential.not_before, credential.expires) == (START, END)
    assert (credential.serial, credential.denylist_version) == (10, 3)


def test_single_door_credential_fits_300_bytes_even_with_windows() -> None:
    windows = [TimeWindow.of(d, "07:00", "09:30") for d in range(7)]
    windows += [TimeWindow.of(d, "17:00", "18:00") for d in range(5)]
    data = issue(
        subject=str(uuid.uuid4()),
        kinds=[DoorKind.HOME, DoorKind.ENTRANCE],
        windows=windows,
        time_zone="Europe/Copenhagen",
        serial=2**40,
        denylist_version=2**40,
    )
    assert len(data) <= 300
    assert len(issue()) <= 240


def test_every_single_byte_flip_is_refused() -> None:
    data = issue()
    for position in range(len(data)):
        for mask in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= mask
            with pytest.raises(ProtocolError):
                verify(bytes(tampered))


def test_truncated_or_extended_credential_is_refused() -> None:
    data = issue()
    for cut in range(len(data)):
        with pytest.raises(ProtocolError):
            verify(data[:cut])
    assert refusal(data + b"\x00") == "malformed"


def test_unknown_issuer_key_is_refused() -> None:
    assert refusal(issue(issuer_key=OTHER_ISSUER)) == "unknown_issuer_key"


def test_key_rotation_retires_the_old_key() -> None:
    old_credential = issue()
    new_credential = issue(issuer_key=OTHER_ISSUER)
    during = KEYRING.with_active(OTHER_ISSUER.public)
    assert verify(old_credential, keyring=during)
    assert verify(new_credential, keyring=during)
    after = during.with_retired(ISSUER.kid)
    assert verify(new_credential, keyring=after)
    assert refusal(old_credential, keyring=after) == "retired_issuer_key"
    with pytest.raises(ProtocolError) as caught:
        after.with_active(ISSUER.public)
    assert caught.value.code == "retired_issuer_key"


def test_issuer_claim_must_match_the_key() -> None:
    def change(claims: dict[Any, Any]) -> None:
        claims[1] = "751"

    assert refusal(resign(issue(), change)) == "wrong_issuer"


def test_signature_by_another_key_under_a_trusted_kid_is_refused() -> None:
    forged = sign1(parse_sign1(issue(), max_bytes=1024).payload, OTHER_ISSUER.signer)
    message = parse_sign1(forged, max_bytes=1024)
    swapped = cbor.dumps(
        cbor.Tag(18, [cbor.dumps({1: -8, 4: ISSUER.kid}), {}, message.payload, message.signature])
    )
    assert refusal(swapped) == "bad_signature"


def test_other_algorithms_and_unprotected_kid_are_refused() -> None:
    message = parse_sign1(issue(), max_bytes=1024)
    es256 = cbor.dumps(
        cbor.Tag(18, [cbor.dumps({1: -7, 4: ISSUER.kid}), {}, message.payload, message.signature])
    )
    assert refusal(es256) == "unsupported_algorithm"
    unprotected = cbor.dumps(
        cbor.Tag(18, [cbor.dumps({1: -8}), {4: ISSUER.kid}, message.payload, message.signature])
    )
    assert refusal(unprotected) == "malformed"
    unsigned = cbor.dumps(cbor.Tag(18, [b"", {}, message.payload, b""]))
    assert refusal(unsigned) == "malformed"


def test_credential_for_another_door_is_refused() -> None:
    assert refusal(issue(doors=[OTHER_DOOR])) == "wrong_door"


def test_bundle_and_group_credentials_name_their_doors() -> None:
    group = b"stairwell-7"
    bundle = issue(doors=[OTHER_DOOR, DOOR], kinds=[DoorKind.HOME, DoorKind.ENTRANCE])
    assert verify(bundle).doors == (OTHER_DOOR, DOOR)
    assert verify(bundle, door_id=OTHER_DOOR, door_kind=DoorKind.ENTRANCE)
    grouped = issue(doors=[], door_groups=[group], kinds=DoorKind.ENTRANCE)
    assert verify(grouped, door_kind=DoorKind.ENTRANCE, door_groups=[group])
    assert refusal(grouped, door_kind=DoorKind.ENTRANCE) == "wrong_door"
    with pytest.raises(IssueError):
        issue(doors=[uuid.uuid4().bytes for _ in range(9)])


@pytest.mark.parametrize(
    ("offset", "tolerance", "code"),
    [
        (timedelta(0), NO_SLACK, None),  # exactly not-before: valid
        (-timedelta(microseconds=1), NO_SLACK, "not_yet_valid"),
        (-timedelta(seconds=60), timedelta(seconds=60), None),
        (-timedelta(seconds=60, microseconds=1), timedelta(seconds=60), "not_yet_valid"),
    ],
)
def test_not_before_boundary(offset: timedelta, tolerance: timedelta, code: str | None) -> None:
    data, now = issue(), START + offset
    if code is None:
        assert verify(data, now=now, clock_tolerance=tolerance)
    else:
        assert refusal(data, now=now, clock_tolerance=tolerance) == code


@pytest.mark.parametrize(
    ("offset", "tolerance", "code"),
    [
        (-timedelta(microseconds=1), NO_SLACK, None),
        (timedelta(0), NO_SLACK, "expired"),  # exactly expiry: refused
        (timedelta(seconds=59, microseconds=999_999), timedelta(seconds=60), None),
        (timedelta(seconds=60), timedelta(seconds=60), "expired"),
    ],
)
def test_expiry_boundary(offset: timedelta, tolerance: timedelta, code: str | None) -> None:
    data, now = issue(), END + offset
    if code is None:
        assert verify(data, now=now, clock_tolerance=tolerance)
    else:
        assert refusal(data, now=now, clock_tolerance=tolerance) == code


def test_time_unknown_refuses_every_credential() -> None:
    assert refusal(issue(), now=None) == "time_unknown"


def test_validity_longer_than_nine_hours_is_refused_at_issue_and_at_the_door() -> None:
    assert verify(issue(expires=START + timedelta(hours=9)))
    with pytest.raises(IssueError) as caught:
        issue(expires=START + timedelta(hours=9, seconds=1))
    assert caught.value.code == "validity_too_long"

    def stretch(claims: dict[Any, Any]) -> None:
        claims[4] = claims[5] + 9 * 3600 + 1

    assert refusal(resign(issue(), stretch)) == "validity_too_long"


def test_partner_credential_for_a_home_door_cannot_be_issued() -> None:
    with pytest.raises(IssueError) as caught:
        issue(subject_type=SubjectType.PARTNER, kinds=[DoorKind.HOME, DoorKind.ENTRANCE])
    assert caught.value.code == "partner_home_door"


def test_partner_or_entrance_credential_never_opens_a_home_lock() -> None:
    partner = issue(subject_type=SubjectType.PARTNER, kinds=[DoorKind.ENTRANCE, DoorKind.GATE])
    assert verify(partner, door_kind=DoorKind.ENTRANCE)
    assert refusal(partner, door_kind=DoorKind.HOME) == "wrong_kind"
    entrance = issue(kinds=DoorKind.ENTRANCE)
    assert refusal(entrance, door_kind=DoorKind.HOME) == "wrong_kind"
    home_only = issue(kinds=DoorKind.HOME)
    assert refusal(home_only, door_kind=DoorKind.GATE) == "wrong_kind"

    def grant_home(claims: dict[Any, Any]) -> None:
        claims[CLAIM_CAREKEY][3] = 7  # an issuer bug: partner with every kind

    forged_scope = resign(partner, grant_home)
    assert refusal(forged_scope, door_kind=DoorKind.HOME) == "wrong_kind"
    assert refusal(forged_scope, door_kind=DoorKind.ENTRANCE) == "wrong_kind"


def test_denylisted_credential_phone_and_subject_are_refused() -> None:
    data = issue(credential_id=b"\x01" * 16)
    for entry in (
        DenylistEntry.for_credential(b"\x01" * 16, END),
        DenylistEntry.for_device(DEVICE.public, END),
        DenylistEntry.for_subject("emp-4711", END),
    ):
        update = issue_denylist_snapshot(issuer_key=ISSUER, version=4, entries=[entry], now=START)
        state = DenylistState().apply(update, keyring=KEYRING)
        assert refusal(data, denylist=state) == "denylisted"
    assert verify(data, denylist=DenylistState())


def test_older_serial_after_a_newer_one_is_refused() -> None:
    assert verify(issue(serial=10), last_serial=10)
    assert refusal(issue(serial=9), last_serial=10) == "old_serial"


def test_unknown_claims_are_refused() -> None:
    def add_claim(claims: dict[Any, Any]) -> None:
        claims[CLAIM_CAREKEY][10] = 1

    assert refusal(resign(issue(), add_claim)) == "malformed"

    def add_top(claims: dict[Any, Any]) -> None:
        claims[3] = "aud"

    assert refusal(resign(issue(), add_top)) == "malformed"


def test_oversized_credential_is_refused_before_any_work() -> None:
    assert refusal(b"\xd2" + b"\x00" * 5000) == "oversized"


def test_decode_credential_skips_door_policy_for_phone_and_server() -> None:
    credential = decode_credential(issue(doors=[OTHER_DOOR]), keyring=KEYRING)
    assert credential.doors == (OTHER_DOOR,)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_with_a_code(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        verify(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.binary(min_size=1, max_size=8))
def test_splicing_random_bytes_into_a_credential_is_refused(position: int, junk: bytes) -> None:
    data = issue()
    at = position % len(data)
    tampered = data[:at] + junk + data[at + len(junk) :]
    if tampered == data:
        return
    with pytest.raises(ProtocolError):
        verify(tampered)


def test_proof_of_possession_key_from_the_credential_checks_the_phone() -> None:
    credential = verify(issue())
    challenge = b"nonce|door|unlock"
    signature = DEVICE.sign(challenge)
    credential.device_key.verify(signature, challenge)
    thief = DeviceKey.generate()
    with pytest.raises(ProtocolError) as caught:
        credential.device_key.verify(thief.sign(challenge), challenge)
    assert caught.value.code == "bad_signature"
    with pytest.raises(ProtocolError):
        credential.device_key.verify(bytes(64), challenge)


def test_rights_claim_round_trips_and_is_checked() -> None:
    assert verify(issue()).rights == frozenset()
    installer = verify(issue(rights=[Right.INSTALLER]))
    assert installer.rights == {Right.INSTALLER}
    both = decode_credential(issue(rights=[Right.ADMIN, Right.INSTALLER]), keyring=KEYRING)
    assert both.rights == {Right.ADMIN, Right.INSTALLER}
    claims = cbor.loads(parse_sign1(issue(rights=[Right.ADMIN]), max_bytes=1024).payload)
    assert isinstance(claims, dict)
    assert claims[CLAIM_CAREKEY][9] == 1
    plain = cbor.loads(parse_sign1(issue(), max_bytes=1024).payload)
    assert isinstance(plain, dict)
    assert 9 not in plain[CLAIM_CAREKEY]

    for bits in (0, 4, -1):

        def set_rights(claims: dict[Any, Any], bits: int = bits) -> None:
            claims[CLAIM_CAREKEY][9] = bits

        assert refusal(resign(issue(), set_rights)) == "malformed"
