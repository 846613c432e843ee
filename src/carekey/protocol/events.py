"""The lock's event log: numbered, hash-chained, each event signed by the door's own key.

Every event is a COSE_Sign1 signed by the door key (EdDSA, ``kid`` = door key id) over the CBOR
array::

    [door_id, seq, time, kind, prev_hash, credential_id, subject, reason, ref]

``seq`` counts from 1 without gaps and survives power loss; ``time`` is seconds since the epoch
(UTC) or null when the door did not know the time; ``kind`` is an ``EventKind`` code;
``prev_hash`` is SHA-256 of the previous event's payload (32 zero bytes before event 1);
``credential_id``, ``subject``, ``reason`` (a ``ProtocolError`` code for refusals) and ``ref``
(the session reference the phone supplied, so a receipt is bound to its request) may be null.

The signed event for an operation doubles as the phone's *receipt*: the phone keeps it and
uploads it, so the server can notice when a door's own upload lacks an event a phone holds.

``verify_chain`` checks an upload on the server and reports, instead of raising: events that do
not decode or verify, events of another door, duplicates (harmless: the same event uploaded
twice), conflicting events under one ``seq``, gaps in ``seq``, broken links (an event whose
``prev_hash`` does not match the event before it) and whether the upload was out of order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Final

from carekey.protocol import cbor
from carekey.protocol.errors import DecodeError, ProtocolError, SignatureError, ValidityError
from carekey.protocol.keys import DoorKey, DoorPublicKey, parse_sign1, sign1

GENESIS_HASH: Final = bytes(32)
MAX_EVENT_BYTES: Final = 512
MAX_TEXT_BYTES: Final = 64


class EventKind(IntEnum):
    """What happened at the door. Codes are stable wire values."""

    UNLOCKED = 1
    LOCKED = 2
    REFUSED = 3
    MANUAL_TURN = 4
    JAMMED = 5
    LOW_BATTERY = 6
    POWER_LOSS = 7
    TIME_SET = 8
    DENYLIST_UPDATED = 9
    CONFIG_CHANGED = 10
    LOG_OVERFLOW = 11
    RELAY_PULSE = 12
    POWER_RESTORED = 13
    AUTO_RELOCKED = 14
    RATE_LIMITED = 15
    FORCED_OPEN = 16
    """Alarm: the door sensor saw the door open while the bolt was locked (Matter DoorLock
    alarm code DoorForcedOpen)."""
    DOOR_AJAR = 17
    """Alarm: the door has stood open longer than ``DoorConfig.ajar_after_s`` (DoorAjar)."""
    DOOR_CLOSED = 18
    """The door sensor saw the door close again: a forced-open or ajar alarm is over."""
    DECOMMISSIONED = 19
    """An installer took the door out of service (DECOMMISSION): the last event it signs
    before it forgets its issuer keys; the receipt of the command."""


_SMALL_HEADS: Final = tuple(
    tuple(bytes(((major << 5) | value,)) for value in range(24)) for major in range(8)
)


def _head(major: int, value: int) -> bytes:
    """A CBOR head in its shortest form (same bytes as ``cbor``'s encoder)."""
    if value < 24:
        return _SMALL_HEADS[major][value]
    if value < 0x100:
        return bytes(((major << 5) | 24, value))
    if value < 0x10000:
        return bytes(((major << 5) | 25,)) + value.to_bytes(2, "big")
    if value < 0x100000000:
        return bytes(((major << 5) | 26,)) + value.to_bytes(4, "big")
    if value < 0x10000000000000000:
        return bytes(((major << 5) | 27,)) + value.to_bytes(8, "big")
    raise ValueError("integer does not fit in 64 bits")


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a door's log (unsigned content)."""

    door_id: bytes
    seq: int
    time: datetime | None
    kind: EventKind
    prev_hash: bytes
    credential_id: bytes | None = None
    subject: str | None = None
    reason: str | None = None
    ref: bytes | None = None
    # SHA-256 of the payload, when known (set by ``decode_event`` from the verified bytes), so
    # checking a long chain hashes each event once instead of re-encoding it for every use.
    known_hash: bytes | None = field(default=None, compare=False, repr=False)

    def payload(self) -> bytes:
        """The deterministic CBOR the door signs and the next event's ``prev_hash`` covers."""
        when = None if self.time is None else int(self.time.timestamp())
        # Byte for byte ``cbor.dumps([...])`` of the nine fields, without the generic encoder's
        # type dispatch (every uploaded event is re-encoded once to check its encoding).
        out = bytearray(b"\x89")  # array of 9
        item: Any
        for item in (
            self.door_id,
            self.seq,
            when,
            int(self.kind),
            self.prev_hash,
            self.credential_id,
            self.subject,
            self.reason,
            self.ref,
        ):
            kind = type(item)
            if item is None:
                out.append(0xF6)
            elif kind is bytes:
                out += _head(2, len(item))
                out += item
            elif kind is int:
                out += _head(0, item) if item >= 0 else _head(1, -1 - item)
            elif kind is str:
                raw = item.encode("utf-8")
                out += _head(3, len(raw))
                out += raw
            else:
                out += cbor.dumps(item)  # anything else: exactly what the generic encoder writes
        return bytes(out)

    @property
    def hash(self) -> bytes:
        """SHA-256 of ``payload()``; the next event's ``prev_hash``."""
        if self.known_hash is not None:
            return self.known_hash
        return hashlib.sha256(self.payload()).digest()


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """An event and its signed bytes (what the door stores, uploads and gives as a receipt)."""

    event: Event
    raw: bytes = field(repr=False)


def sign_event(door_key: DoorKey, event: Event) -> SignedEvent:
    """Sign ``event`` with the door key."""
    return SignedEvent(event, sign1(event.payload(), door_key.signer))


@dataclass(frozen=True, slots=True)
class EventChain:
    """The door's chain head: the next sequence number and the hash of the last event."""

    door_id: bytes
    next_seq: int = 1
    last_hash: bytes = GENESIS_HASH

    def append(
        self,
        door_key: DoorKey,
        *,
        kind: EventKind,
        time: datetime | None,
        credential_id: bytes | None = None,
        subject: str | None = None,
        reason: str | None = None,
        ref: bytes | None = None,
    ) -> tuple[SignedEvent, EventChain]:
        """Create, sign and chain the next event; return it and the new chain head."""
        event = Event(
            self.door_id,
            self.next_seq,
            time,
            kind,
            self.last_hash,
            credential_id,
            subject,
            reason,
            ref,
        )
        signed = sign_event(door_key, event)
        return signed, EventChain(self.door_id, self.next_seq + 1, event.hash)


def _opt(value: object, kind: type, limit: int, name: str) -> object:
    if value is None:
        return None
    if not isinstance(value, kind):
        raise DecodeError("malformed", f"event {name}")
    size = len(value.encode()) if isinstance(value, str) else len(value)  # type: ignore[arg-type]
    if size > limit:
        raise DecodeError("malformed", f"event {name} too long")
    return value


def decode_event(data: bytes, *, door_key: DoorPublicKey) -> SignedEvent:
    """Verify a signed event with the door's public key and decode it, or raise."""
    return SignedEvent(_decode_verified(data, door_key)[0], bytes(data))


def _decode_verified(data: bytes, door_key: DoorPublicKey) -> tuple[Event, bytes]:
    """``decode_event``'s work: the verified event and its signature bytes."""
    message = parse_sign1(data, max_bytes=MAX_EVENT_BYTES)
    payload = message.verify_with(door_key.key)
    body = cbor.loads(payload, max_bytes=MAX_EVENT_BYTES, max_depth=1, max_items=16)
    if not isinstance(body, list) or len(body) != 9:
        raise DecodeError("malformed", "event must be a 9-element array")
    door_id, seq, when, kind, prev, cti, subject, reason, ref = body
    if not isinstance(door_id, bytes) or not 0 < len(door_id) <= 32:
        raise DecodeError("malformed", "event door id")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**63:
        raise DecodeError("malformed", "event seq")
    if when is not None and (not isinstance(when, int) or isinstance(when, bool) or when < 0):
        raise DecodeError("malformed", "event time")
    if not isinstance(prev, bytes) or len(prev) != 32:
        raise DecodeError("malformed", "event prev_hash")
    try:
        event_kind = EventKind(kind)
        time = None if when is None else datetime.fromtimestamp(when, UTC)
    except (ValueError, OverflowError, OSError):
        raise DecodeError("malformed", "event kind or time") from None
    event = Event(
        door_id=door_id,
        seq=seq,
        time=time,
        kind=event_kind,
        prev_hash=prev,
        credential_id=_opt(cti, bytes, 32, "credential id"),  # type: ignore[arg-type]
        subject=_opt(subject, str, MAX_TEXT_BYTES, "subject"),  # type: ignore[arg-type]
        reason=_opt(reason, str, MAX_TEXT_BYTES, "reason"),  # type: ignore[arg-type]
        ref=_opt(ref, bytes, 64, "ref"),  # type: ignore[arg-type]
        known_hash=hashlib.sha256(payload).digest(),
    )
    if event.payload() != payload:
        raise DecodeError("malformed", "event is not in deterministic encoding")
    return event, message.signature


def verify_receipt(
    data: bytes, *, door_key: DoorPublicKey, door_id: bytes, ref: bytes | None
) -> Event:
    """Phone side: check a receipt is signed by this door, for this door and this request."""
    event = decode_event(data, door_key=door_key).event
    if event.door_id != door_id:
        raise ValidityError("wrong_door")
    if event.ref != ref:
        raise ValidityError("wrong_nonce", "receipt is for another request")
    return event


@dataclass(frozen=True, slots=True)
class ChainAnchor:
    """The last event the server verified for a door: where the next upload must continue."""

    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What ``verify_chain`` found. Positions are indices into the upload; others are seqs."""

    events: tuple[Event, ...]
    malformed: tuple[int, ...] = ()
    bad_signatures: tuple[int, ...] = ()
    wrong_door: tuple[int, ...] = ()
    duplicates: tuple[int, ...] = ()
    conflicts: tuple[int, ...] = ()
    gaps: tuple[tuple[int, int], ...] = ()
    broken_links: tuple[int, ...] = ()
    reordered: bool = False
    anchor: ChainAnchor | None = None

    @property
    def ok(self) -> bool:
        """True when the upload continues the chain with nothing missing, altered or forged."""
        return not (
            self.malformed
            or self.bad_signatures
            or self.wrong_door
            or self.conflicts
            or self.gaps
            or self.broken_links
            or self.reordered
        )


def verify_chain(
    uploads: Sequence[bytes],
    *,
    door_key: DoorPublicKey,
    door_id: bytes,
    anchor: ChainAnchor | None = None,
) -> ChainReport:
    """Check the continuity of a door's uploaded events and report; never raises on bad input.

    ``anchor`` is the last event verified from this door before (None: the log starts at seq 1).
    Only events with valid signatures count. Duplicates (same bytes again, or events at or
    before the anchor with the same hash) are harmless. The returned ``anchor`` is the last
    event of the verified run, to pass to the next call.
    """
    return verify_chain_decoded(uploads, door_key=door_key, door_id=door_id, anchor=anchor)[0]


def verify_chain_decoded(
    uploads: Sequence[bytes],
    *,
    door_key: DoorPublicKey,
    door_id: bytes,
    anchor: ChainAnchor | None = None,
) -> tuple[ChainReport, list[tuple[Event, bytes] | None]]:
    """``verify_chain``, plus per upload position the verified event and its signature (None
    where the report lists the position as malformed, badly signed or for another door), so a
    server storing the events need not parse them a second time."""
    decoded: list[tuple[Event, bytes] | None] = [None] * len(uploads)
    malformed: list[int] = []
    bad_signatures: list[int] = []
    wrong_door: list[int] = []
    by_seq: dict[int, Event] = {}
    duplicates: list[int] = []
    conflicts: set[int] = set()
    reordered = False
    highest = 0
    for index, raw in enumerate(uploads):
        try:
            event, signature = _decode_verified(raw, door_key)
        except SignatureError:
            bad_signatures.append(index)
            continue
        except ProtocolError:
            malformed.append(index)
            continue
        if event.door_id != door_id:
            wrong_door.append(index)
            continue
        decoded[index] = (event, signature)
        known = by_seq.get(event.seq)
        if known is None:
            # A repeated event is a duplicate, not a reordering; only new ones must ascend.
            reordered = reordered or event.seq < highest
            highest = max(highest, event.seq)
            by_seq[event.seq] = event
        elif known == event:
            duplicates.append(event.seq)
        else:
            conflicts.add(event.seq)

    gaps: list[tuple[int, int]] = []
    broken: list[int] = []
    verified: list[Event] = []
    expected_seq = 1 if anchor is None else anchor.seq + 1
    prev_hash: bytes | None = GENESIS_HASH if anchor is None else anchor.hash
    last = anchor
    for seq in sorted(by_seq):
        event = by_seq[seq]
        if seq in conflicts:
            prev_hash = None
            expected_seq = seq + 1
            continue
        if seq < expected_seq:
            if anchor is not None and seq == anchor.seq and event.hash != anchor.hash:
                conflicts.add(seq)
            else:
                duplicates.append(seq)  # already verified in an earlier upload
            continue
        if seq > expected_seq:
            gaps.append((expected_seq, seq - 1))
        elif prev_hash is not None and event.prev_hash != prev_hash:
            broken.append(seq)
        verified.append(event)
        prev_hash = event.hash
        expected_seq = seq + 1
        last = ChainAnchor(seq, event.hash)
    report = ChainReport(
        events=tuple(verified),
        malformed=tuple(malformed),
        bad_signatures=tuple(bad_signatures),
        wrong_door=tuple(wrong_door),
        duplicates=tuple(duplicates),
        conflicts=tuple(sorted(conflicts)),
        gaps=tuple(gaps),
        broken_links=tuple(broken),
        reordered=reordered,
        anchor=last,
    )
    return report, decoded
