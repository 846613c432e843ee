"""The door transaction state machines, without firmware or transport."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from carekey.protocol.credential import DoorKind, SubjectType, issue_credential
from carekey.protocol.errors import ProtocolError
from carekey.protocol.framing import PROTOCOL_VERSION, MessageType, encode_message
from carekey.protocol.keys import DeviceKey, DoorKey, IssuerKey
from carekey.protocol.session import (
    Alert,
    Command,
    DoorSession,
    DoorStatus,
    PhoneSession,
    Response,
    SessionError,
    SessionState,
    StatusFlag,
    describe,
    encode_alert,
)

DOOR_ID = b"home-0001"
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
STATUS = DoorStatus(StatusFlag.TIME_KNOWN, 87, 4, 12)


@pytest.fixture(scope="module")
def issuer() -> IssuerKey:
    return IssuerKey.generate("101")


@pytest.fixture(scope="module")
def device() -> DeviceKey:
    return DeviceKey.generate()


@pytest.fixture(scope="module")
def door_key() -> DoorKey:
    return DoorKey.generate()


@pytest.fixture(scope="module")
def credential(issuer: IssuerKey, device: DeviceKey) -> bytes:
    return issue_credential(
        issuer_key=issuer,
        subject="worker-1",
        subject_type=SubjectType.EMPLOYEE,
        device_key=device.public,
        kinds=[DoorKind.HOME],
        not_before=NOW,
        expires=NOW + dt.timedelta(hours=8),
        serial=1,
        denylist_version=0,
        doors=[DOOR_ID],
    )


def make_phone(door_key: DoorKey, device: DeviceKey, credential: bytes) -> PhoneSession:
    return PhoneSession(
        door_id=DOOR_ID,
        door_public_key=door_key.public,
        device_key=device,
        credential=credential,
        counter=7,
    )


def handshake(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> tuple[PhoneSession, DoorSession]:
    phone = make_phone(door_key, device, credential)
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    assert phone.receive_door_hello(door.receive_hello(phone.hello(), STATUS)) == STATUS
    return phone, door


def test_two_round_trips_open_the_door(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone, door = handshake(door_key, device, credential)
    request = door.receive_request(phone.request(Command.UNLOCK, {"note": "visit"}))
    assert request.first
    assert request.command is Command.UNLOCK
    assert request.args == {"note": "visit"}
    assert request.credential == credential
    assert request.counter == 7
    door.verify_possession(device.public)
    assert door.request_ref == phone.request_ref
    reply = door.respond(Response(data={"state": "unlocked"}, receipt=b"receipt"))
    response = phone.receive_response(reply)
    assert response.ok
    assert response.data == {"state": "unlocked"}
    assert response.receipt == b"receipt"
    assert phone.state is door.state is SessionState.ESTABLISHED


def test_later_requests_in_the_session_need_no_new_signature(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone, door = handshake(door_key, device, credential)
    door.receive_request(phone.request(Command.UNLOCK))
    door.verify_possession(device.public)
    phone.receive_response(door.respond(Response()))
    second = door.receive_request(phone.request(Command.STATUS, time_token=b"token"))
    assert not second.first
    assert second.credential is None
    assert second.time_token == b"token"
    assert phone.receive_response(door.respond(Response(data={"state": "locked"}))).ok


def test_the_door_hello_tells_the_phone_what_the_door_needs(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone = make_phone(door_key, device, credential)
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    status = phone.receive_door_hello(door.receive_hello(phone.hello(), DoorStatus()))
    assert not status.time_known
    assert status.wants_time
    assert phone.door_nonce == door.nonce
    assert len(door.nonce) == 16


def test_handshake_messages_are_small(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone = make_phone(door_key, device, credential)
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    hello = phone.hello()
    door_hello = door.receive_hello(hello, STATUS)
    phone.receive_door_hello(door_hello)
    request = phone.request(Command.UNLOCK)
    assert len(hello) == 34
    assert len(door_hello) == 2 + 1 + len(DOOR_ID) + 32 + 16 + 10 + 64
    assert len(request) < len(credential) + 120


def test_fresh_nonce_and_ephemeral_key_per_session(door_key: DoorKey) -> None:
    nonces = {DoorSession(door_id=DOOR_ID, door_key=door_key).nonce for _ in range(500)}
    assert len(nonces) == 500


def test_a_fake_lock_learns_nothing(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    fake = DoorSession(door_id=DOOR_ID, door_key=DoorKey.generate())
    phone = make_phone(door_key, device, credential)
    hello = phone.hello()
    assert credential not in hello
    with pytest.raises(SessionError) as caught:
        phone.receive_door_hello(fake.receive_hello(hello, STATUS))
    assert caught.value.code == "door_auth_failed"
    assert phone.state is SessionState.CLOSED
    with pytest.raises(SessionError, match="unexpected_message"):
        phone.request(Command.UNLOCK)
    alert = phone.abort("door_auth_failed")
    assert credential not in alert


def test_a_different_door_answering_is_refused(device: DeviceKey, credential: bytes) -> None:
    other_key = DoorKey.generate()
    other = DoorSession(door_id=b"home-0002", door_key=other_key)
    phone = PhoneSession(
        door_id=DOOR_ID,
        door_public_key=other_key.public,
        device_key=device,
        credential=credential,
        counter=1,
    )
    with pytest.raises(SessionError, match="door_auth_failed"):
        phone.receive_door_hello(other.receive_hello(phone.hello(), STATUS))


def test_swapped_ephemeral_keys_are_detected_by_the_phone(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    # A man in the middle puts his own key into CLIENT_HELLO ...
    phone = make_phone(door_key, device, credential)
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    phone.hello()
    mitm_hello = encode_message(
        MessageType.CLIENT_HELLO, X25519PrivateKey.generate().public_key().public_bytes_raw()
    )
    with pytest.raises(SessionError, match="door_auth_failed"):
        phone.receive_door_hello(door.receive_hello(mitm_hello, STATUS))
    # ... or into DOOR_HELLO.
    phone = make_phone(door_key, device, credential)
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    door_hello = bytearray(door.receive_hello(phone.hello(), STATUS))
    offset = 2 + 1 + len(DOOR_ID)
    door_hello[offset : offset + 32] = X25519PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(SessionError, match="door_auth_failed"):
        phone.receive_door_hello(bytes(door_hello))


def test_low_order_ephemeral_key_is_refused(door_key: DoorKey) -> None:
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    with pytest.raises(SessionError, match="weak_key"):
        door.receive_hello(encode_message(MessageType.CLIENT_HELLO, bytes(32)), STATUS)
    assert door.state is SessionState.CLOSED


def test_a_stolen_credential_without_the_device_key_fails_possession(
    door_key: DoorKey, credential: bytes
) -> None:
    thief = DeviceKey.generate()
    owner_public = DeviceKey.generate().public  # the key the credential would name
    phone, door = handshake(door_key, thief, credential)
    door.receive_request(phone.request(Command.UNLOCK))
    with pytest.raises(ProtocolError, match="bad_signature"):
        door.verify_possession(owner_public)
    assert not door.authenticated
    with pytest.raises(SessionError, match="unexpected_message"):
        door.respond(Response())
    refusal = phone.receive_response(door.respond(Response("bad_signature")))
    assert not refusal.ok
    assert refusal.error().code == "bad_signature"
    assert door.state is phone.state is SessionState.CLOSED


def test_replayed_and_reordered_records_are_refused(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone, door = handshake(door_key, device, credential)
    first = phone.request(Command.UNLOCK)
    door.receive_request(first)
    door.verify_possession(device.public)
    phone.receive_response(door.respond(Response()))
    with pytest.raises(SessionError, match="replayed_record"):
        door.receive_request(first)
    assert door.state is SessionState.CLOSED


def test_a_record_from_another_session_is_refused(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone, door = handshake(door_key, device, credential)
    recorded = phone.request(Command.UNLOCK)
    door.receive_request(recorded)
    _, second_door = handshake(door_key, device, credential)
    with pytest.raises(SessionError, match="bad_record"):
        second_door.receive_request(recorded)


@pytest.mark.parametrize("position", [2, 3, 4, 20, -1])
def test_a_flipped_bit_in_a_record_is_refused(
    door_key: DoorKey, device: DeviceKey, credential: bytes, position: int
) -> None:
    phone, door = handshake(door_key, device, credential)
    record = bytearray(phone.request(Command.UNLOCK))
    record[position] ^= 0x01
    with pytest.raises(ProtocolError) as caught:
        door.receive_request(bytes(record))
    assert caught.value.code in {"bad_record", "replayed_record", "unknown_message_type"}


def test_first_request_must_be_signed_and_carry_the_credential(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone, door = handshake(door_key, device, credential)
    phone._first_sent = True  # a modified app that skips the credential and signature
    with pytest.raises(ProtocolError, match="malformed"):
        door.receive_request(phone.request(Command.UNLOCK))


def test_messages_out_of_turn_are_refused(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    with pytest.raises(SessionError, match="unexpected_message"):
        door.receive_request(encode_message(MessageType.RECORD, bytes(40)))
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    with pytest.raises(SessionError, match="unexpected_message"):
        door.receive_hello(encode_message(MessageType.RECORD, bytes(40)), STATUS)
    with pytest.raises(ProtocolError, match="malformed"):
        DoorSession(door_id=DOOR_ID, door_key=door_key).receive_hello(
            encode_message(MessageType.CLIENT_HELLO, bytes(31)), STATUS
        )


def test_a_downgraded_hello_is_refused(door_key: DoorKey) -> None:
    door = DoorSession(door_id=DOOR_ID, door_key=door_key)
    downgraded = bytes((PROTOCOL_VERSION - 1, MessageType.CLIENT_HELLO)) + bytes(range(32))
    with pytest.raises(ProtocolError, match="version_unsupported"):
        door.receive_hello(downgraded, STATUS)


def test_a_door_alert_reaches_the_phone_as_its_code(
    door_key: DoorKey, device: DeviceKey, credential: bytes
) -> None:
    phone = make_phone(door_key, device, credential)
    phone.hello()
    with pytest.raises(SessionError) as caught:
        phone.receive_door_hello(encode_alert(Alert("rate_limited", 30)))
    assert caught.value.code == "rate_limited"
    assert "Vent lidt" in caught.value.message_da


def test_every_code_has_danish_text() -> None:
    for code in ("door_auth_failed", "not_admin", "expired", "version_unsupported", "jammed"):
        danish, english = describe(code)
        assert danish != "Protokolfejl."
        assert english
