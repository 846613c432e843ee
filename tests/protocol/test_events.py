"""The door's signed, hash-chained event log and the server's continuity check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carekey.protocol import cbor
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import (
    ChainAnchor,
    EventChain,
    EventKind,
    SignedEvent,
    decode_event,
    verify_chain,
    verify_receipt,
)
from carekey.protocol.keys import DoorKey, parse_sign1, sign1

DOOR_KEY = DoorKey.from_seed(bytes(range(32, 64)))
OTHER_DOOR_KEY = DoorKey.from_seed(bytes(range(33, 65)))
DOOR = b"door-0001"
T0 = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
KINDS = [
    EventKind.TIME_SET,
    EventKind.UNLOCKED,
    EventKind.AUTO_RELOCKED,
    EventKind.REFUSED,
    EventKind.MANUAL_TURN,
    EventKind.LOW_BATTERY,
]


def log(n: int = 6, start: EventChain | None = None) -> tuple[list[SignedEvent], EventChain]:
    chain = start or EventChain(DOOR)
    events = []
    for i in range(n):
        signed, chain = chain.append(
            DOOR_KEY,
            kind=KINDS[i % len(KINDS)],
            time=T0 + timedelta(minutes=i),
            credential_id=bytes(16) if i % 2 else None,
            subject="emp-1" if i % 2 else None,
            reason="expired" if KINDS[i % len(KINDS)] is EventKind.REFUSED else None,
            ref=bytes([i]) * 16,
        )
        events.append(signed)
    return events, chain


def check(raws: list[bytes], anchor: ChainAnchor | None = None):  # type: ignore[no-untyped-def]
    return verify_chain(raws, door_key=DOOR_KEY.public, door_id=DOOR, anchor=anchor)


def test_intact_log_verifies_and_continues_across_uploads() -> None:
    events, chain = log(6)
    first = check([e.raw for e in events[:4]])
    assert first.ok
    assert [e.seq for e in first.events] == [1, 2, 3, 4]
    second = check([e.raw for e in events[4:]], anchor=first.anchor)
    assert second.ok
    assert second.anchor == ChainAnchor(6, chain.last_hash)


def test_duplicates_are_harmless() -> None:
    events, _ = log(4)
    raws = [e.raw for e in events]
    report = check(raws + raws[1:3])
    assert report.ok
    assert report.duplicates == (2, 3)
    assert len(report.events) == 4
    first = check(raws[:3])
    again = check(raws, anchor=first.anchor)  # re-upload of already verified events
    assert again.ok
    assert again.duplicates == (1, 2, 3)


def test_deleted_event_is_a_gap() -> None:
    events, _ = log(6)
    raws = [e.raw for e in events]
    report = check(raws[:2] + raws[3:])
    assert not report.ok
    assert report.gaps == ((3, 3),)
    assert check(raws[1:]).gaps == ((1, 1),)
    first = check(raws[:2])
    assert check(raws[4:], anchor=first.anchor).gaps == ((3, 4),)


def test_edited_event_fails_its_signature() -> None:
    events, _ = log(4)
    message = parse_sign1(events[1].raw, max_bytes=512)
    body = cbor.loads(message.payload)
    assert isinstance(body, list)
    body[3] = int(EventKind.MANUAL_TURN)  # an unlock rewritten as the citizen's own key
    edited = cbor.dumps(cbor.Tag(18, [message.protected, {}, cbor.dumps(body), message.signature]))
    report = check([events[0].raw, edited, events[2].raw, events[3].raw])
    assert not report.ok
    assert report.bad_signatures == (1,)
    assert report.gaps == ((2, 2),)


def test_every_byte_flip_in_an_event_is_detected() -> None:
    events, _ = log(3)
    raw = events[1].raw
    for position in range(len(raw)):
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        report = check([events[0].raw, bytes(flipped), events[2].raw])
        assert not report.ok


def test_reordered_upload_is_reported() -> None:
    events, _ = log(4)
    raws = [e.raw for e in events]
    report = check([raws[0], raws[2], raws[1], raws[3]])
    assert report.reordered
    assert not report.ok
    assert [e.seq for e in report.events] == [1, 2, 3, 4]


def test_resigned_chain_with_swapped_events_breaks_the_links() -> None:
    """Even with the door key (a compromised door), swapping content breaks the hash chain."""
    events, _ = log(3)
    bodies: list[list[object]] = []
    for event in events:
        body = cbor.loads(parse_sign1(event.raw, max_bytes=512).payload)
        assert isinstance(body, list)
        bodies.append(body)
    swapped = [bodies[0], bodies[2], bodies[1]]
    swapped[1][1], swapped[2][1] = 2, 3
    raws = [sign1(cbor.dumps(b), DOOR_KEY.signer) for b in swapped]
    report = check(raws)
    assert report.broken_links == (2, 3)
    assert not report.ok


def test_conflicting_events_under_one_seq_are_reported() -> None:
    events, _ = log(2)
    body = cbor.loads(parse_sign1(events[1].raw, max_bytes=512).payload)
    assert isinstance(body, list)
    body[3] = int(EventKind.LOCKED)
    twin = sign1(cbor.dumps(body), DOOR_KEY.signer)
    report = check([events[0].raw, events[1].raw, twin])
    assert report.conflicts == (2,)
    assert not report.ok


def test_events_of_another_door_or_key_and_garbage_are_reported() -> None:
    events, _ = log(2)
    foreign, _ = EventChain(b"door-0002").append(DOOR_KEY, kind=EventKind.LOCKED, time=T0)
    other_key, _ = EventChain(DOOR).append(OTHER_DOOR_KEY, kind=EventKind.LOCKED, time=T0)
    report = check([events[0].raw, events[1].raw, foreign.raw, other_key.raw, b"\xff" * 3])
    assert report.wrong_door == (2,)
    assert report.bad_signatures == (3,)
    assert report.malformed == (4,)
    assert [e.seq for e in report.events] == [1, 2]


def test_receipt_binds_door_and_request() -> None:
    events, _ = log(2)
    receipt = events[1]
    event = verify_receipt(receipt.raw, door_key=DOOR_KEY.public, door_id=DOOR, ref=bytes([1]) * 16)
    assert event.kind is EventKind.UNLOCKED
    with pytest.raises(ProtocolError) as caught:
        verify_receipt(receipt.raw, door_key=DOOR_KEY.public, door_id=DOOR, ref=bytes(16))
    assert caught.value.code == "wrong_nonce"
    with pytest.raises(ProtocolError) as caught:
        verify_receipt(receipt.raw, door_key=OTHER_DOOR_KEY.public, door_id=DOOR, ref=None)
    assert caught.value.code == "bad_signature"


def test_event_without_time_after_power_loss_round_trips() -> None:
    signed, _ = EventChain(DOOR).append(DOOR_KEY, kind=EventKind.POWER_RESTORED, time=None)
    assert decode_event(signed.raw, door_key=DOOR_KEY.public).event == signed.event
