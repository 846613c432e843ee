"""Online controllers: the topics and the signed messages that travel over the MQTT broker.

An entrance or gate controller with a network speaks the same signed protocol over MQTT as it
does with a phone over Bluetooth, and the broker is trusted for nothing: anybody who can publish
on it (a compromised broker, a stolen broker password) can only replay or drop what the server
and the doors signed. Two kinds of message cross it:

**Commands** (server → controller) are COSE_Sign1 by the municipality's issuer key over
``{1: iss, 6: iat, -65540: {1: kind, 2: door id (absent: every controller of the
municipality), 3: message id (16 bytes), 4: body}}``:

=====  ============  ==============================================================================
kind   name          body
=====  ============  ==============================================================================
1      denylist      a list of signed denylist updates (a delta, or the snapshot pieces): each is
                     checked again by its own signature, exactly as when a phone brings it
2      time          a challenge time token (``timetoken``) for the nonce of the door's last state
3      read_events   ``{1: from_seq}``: publish the signed events from that sequence number on
4      state         ``{}``: publish a state report now
=====  ============  ==============================================================================

A controller takes a command only if the issuer signature verifies with its keyring, the door
id names it (only a denylist command may be for every controller), ``iat`` is within
``MAX_COMMAND_AGE`` of its own clock (when it knows the time) and it has not seen the message id
in that window. Refused commands are logged as signed events, like a refused phone.

**Reports** (controller → server) are COSE_Sign1 by the door's own key over ``{1: door id,
6: door time in ms since the epoch (0 when unknown), -65541: {1: kind, ...}}``:

=====  ============  ==============================================================================
kind   name          fields
=====  ============  ==============================================================================
1      state         2: denylist version held, 3: last event seq, 4: status flags, 5: battery %,
                     6: nonce for a time challenge (16 bytes), 7: firmware version
2      response      2: denylist version held, 8: message id answered, 9: result code (``ok`` or
                     the refusal code)
3      offline       (the broker's last will, signed when the controller connected)
=====  ============  ==============================================================================

Every report also carries 10: the id of the broker connection it was sent on (8 bytes, new at
each connection, first signed into that connection's last will). The server takes a will only
when it names the connection of the newest report: the broker publishes an older connection's
will when the door reconnects, possibly after the new connection's first state.

The door time only moves forward, so the server refuses a report that is not newer than the
last one it took from that door (a replayed "I am up to date") and one whose time is far from
its own. Signed events travel on their own topic as a CBOR array of the door's signed events,
each verified and chained by the server's ingest exactly as when a phone uploads them.

Topics, under a configurable prefix (``carekey/v1``) and the municipality's issuer code::

    {prefix}/{issuer}/denylist                 commands for every controller (retained)
    {prefix}/{issuer}/door/{serial}/cmd        commands for one controller
    {prefix}/{issuer}/door/{serial}/state      state reports (retained)
    {prefix}/{issuer}/door/{serial}/resp       responses to commands
    {prefix}/{issuer}/door/{serial}/events     signed events
    {prefix}/{issuer}/door/{serial}/status     the last will: an offline report (retained)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Final

from carekey.protocol import cbor
from carekey.protocol.errors import DecodeError, ProtocolError, ValidityError
from carekey.protocol.keys import (
    DoorKey,
    DoorPublicKey,
    IssuerKey,
    IssuerKeyring,
    open_issuer_signed,
    parse_sign1,
    sign1,
)
from carekey.protocol.limits import is_time

CLAIM_COMMAND: Final = -65540
CLAIM_REPORT: Final = -65541
MESSAGE_ID_BYTES: Final = 16
CONNECTION_ID_BYTES: Final = 8
NONCE_BYTES: Final = 16
MAX_COMMAND_BYTES: Final = 64 * 1024
"""A denylist command carries at most the whole list as pieces (65,535 entries ≈ 1.4 MB would
not fit: a controller that far behind is sent its pieces in several commands)."""
MAX_REPORT_BYTES: Final = 1024
MAX_EVENTS_BYTES: Final = 256 * 1024
MAX_EVENTS_PER_MESSAGE: Final = 256
MAX_COMMAND_AGE: Final = timedelta(minutes=2)
MAX_REPORT_SKEW: Final = timedelta(minutes=2)
SEGMENT: Final = "[A-Za-z0-9_-]{1,64}"


class CommandKind(IntEnum):
    """What a server command asks of a controller."""

    DENYLIST = 1
    TIME = 2
    READ_EVENTS = 3
    STATE = 4


class ReportKind(IntEnum):
    """What a controller tells the server."""

    STATE = 1
    RESPONSE = 2
    OFFLINE = 3


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of one municipality (``issuer``) under ``prefix``."""

    prefix: str
    issuer: str

    @property
    def denylist(self) -> str:
        return f"{self.prefix}/{self.issuer}/denylist"

    def door(self, serial: str, leaf: str) -> str:
        """``cmd``, ``state``, ``resp``, ``events`` or ``status`` of the door ``serial``."""
        return f"{self.prefix}/{self.issuer}/door/{serial}/{leaf}"


DOOR_LEAVES: Final = ("cmd", "state", "resp", "events", "status")
SERVER_LEAVES: Final = ("state", "resp", "events", "status")


def server_filters(prefix: str, *, share: str | None = "carekey") -> list[str]:
    """The subscriptions of a server instance: every door's reports, in a shared subscription
    (``$share/{share}/…``) so that each report reaches exactly one of several instances."""
    base = [f"{prefix}/+/door/+/{leaf}" for leaf in SERVER_LEAVES]
    if share is None:
        return base
    return [f"$share/{share}/{topic}" for topic in base]


def parse_door_topic(prefix: str, topic: str) -> tuple[str, str, str] | None:
    """``(issuer, serial, leaf)`` of a door topic under ``prefix``, or None."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) != 4 or parts[1] != "door" or parts[3] not in DOOR_LEAVES:
        return None
    issuer, _, serial, leaf = parts
    if not issuer or not serial:
        return None
    return issuer, serial, leaf


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A verified command (the door still checks its replay window and the body)."""

    kind: CommandKind
    issued_at: datetime
    message_id: bytes
    door_id: bytes | None
    body: object


def new_message_id() -> bytes:
    """A random message id."""
    return os.urandom(MESSAGE_ID_BYTES)


def issue_command(
    issuer_key: IssuerKey,
    *,
    kind: CommandKind,
    now: datetime,
    body: object,
    door_id: bytes | None = None,
    message_id: bytes | None = None,
) -> bytes:
    """Sign a command for ``door_id`` (None: every controller; only for a denylist)."""
    if door_id is None and kind is not CommandKind.DENYLIST:
        raise ProtocolError("invalid_argument", "only a denylist command goes to every door")
    inner: dict[int, object] = {1: int(kind), 3: message_id or new_message_id(), 4: body}
    if door_id is not None:
        inner[2] = door_id
    claims = {1: issuer_key.issuer, 6: int(now.timestamp()), CLAIM_COMMAND: inner}
    return sign1(cbor.dumps(claims), issuer_key.signer)


def decode_command(
    data: bytes, *, keyring: IssuerKeyring, door_id: bytes, door_now: datetime | None
) -> Command:
    """Verify a command for ``door_id`` at the door's time ``door_now`` (None: unknown).

    Refusals: the signature codes (``bad_signature``, ``unknown_issuer_key``, ``malformed``),
    ``wrong_door``, ``stale_command`` (``iat`` further than ``MAX_COMMAND_AGE`` from the door's
    clock), ``unknown_command``, and ``time_unknown`` for a command other than a denylist, a time
    token or a state request while the door does not know the time.
    """
    issuer, payload = open_issuer_signed(data, keyring=keyring, max_bytes=MAX_COMMAND_BYTES)
    claims = cbor.loads(payload, max_bytes=MAX_COMMAND_BYTES, max_depth=4, max_items=4096)
    if not isinstance(claims, dict) or set(claims) != {1, 6, CLAIM_COMMAND}:
        raise DecodeError("malformed", "command claims")
    if claims[1] != issuer:
        raise ProtocolError("wrong_issuer")
    iat, inner = claims[6], claims[CLAIM_COMMAND]
    if (
        not is_time(iat)
        or not isinstance(inner, dict)
        or not {1, 3, 4} <= set(inner) <= {1, 2, 3, 4}
    ):
        raise DecodeError("malformed", "command body")
    assert isinstance(iat, int)
    kind_code, message_id, target = inner[1], inner[3], inner.get(2)
    if not isinstance(message_id, bytes) or len(message_id) != MESSAGE_ID_BYTES:
        raise DecodeError("malformed", "message id")
    if not isinstance(kind_code, int) or kind_code not in {int(k) for k in CommandKind}:
        raise ValidityError("unknown_command")
    kind = CommandKind(kind_code)
    if target is not None and not isinstance(target, bytes):
        raise DecodeError("malformed", "door id")
    if (target is None and kind is not CommandKind.DENYLIST) or (
        target is not None and target != door_id
    ):
        raise ValidityError("wrong_door")
    issued = datetime.fromtimestamp(iat, UTC)
    if door_now is None:
        if kind not in (CommandKind.DENYLIST, CommandKind.TIME, CommandKind.STATE):
            raise ValidityError("time_unknown")
    elif abs(door_now - issued) > MAX_COMMAND_AGE:
        raise ValidityError("stale_command")
    return Command(kind, issued, message_id, target, inner[4])


def denylist_body(body: object) -> list[bytes]:
    """The signed updates of a denylist command, or ``malformed``."""
    if not isinstance(body, list) or not body or not all(isinstance(u, bytes) for u in body):
        raise DecodeError("malformed", "a denylist command carries a list of signed updates")
    return list(body)


def read_events_body(body: object) -> int:
    """The first sequence number a read_events command asks for, or ``malformed``."""
    if not isinstance(body, dict) or set(body) != {1}:
        raise DecodeError("malformed", "read_events body")
    start = body[1]
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start < 2**63:
        raise DecodeError("malformed", "from_seq")
    return start


# --- reports ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """A verified report of one door."""

    kind: ReportKind
    door_id: bytes
    time_ms: int
    fields: dict[int, object] = field(default_factory=dict)

    @property
    def time(self) -> datetime | None:
        """The door's time when it signed the report (None: it did not know the time)."""
        return None if self.time_ms == 0 else datetime.fromtimestamp(self.time_ms / 1000, UTC)

    def _int(self, key: int) -> int | None:
        value = self.fields.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def denylist_version(self) -> int | None:
        return self._int(2)

    @property
    def last_seq(self) -> int | None:
        return self._int(3)

    @property
    def flags(self) -> int | None:
        return self._int(4)

    @property
    def battery(self) -> int | None:
        return self._int(5)

    @property
    def nonce(self) -> bytes | None:
        value = self.fields.get(6)
        return value if isinstance(value, bytes) and len(value) == NONCE_BYTES else None

    @property
    def firmware(self) -> str | None:
        value = self.fields.get(7)
        return value if isinstance(value, str) else None

    @property
    def answers(self) -> bytes | None:
        value = self.fields.get(8)
        return value if isinstance(value, bytes) and len(value) == MESSAGE_ID_BYTES else None

    @property
    def result(self) -> str | None:
        value = self.fields.get(9)
        return value if isinstance(value, str) else None

    @property
    def connection(self) -> bytes | None:
        """The id of the broker connection the report was sent on (its last will's)."""
        value = self.fields.get(10)
        return value if isinstance(value, bytes) and len(value) == CONNECTION_ID_BYTES else None


_FIELD_TYPES: Final[dict[int, type]] = {
    10: bytes,
    2: int,
    3: int,
    4: int,
    5: int,
    6: bytes,
    7: str,
    8: bytes,
    9: str,
}


def issue_report(
    door_key: DoorKey,
    *,
    door_id: bytes,
    kind: ReportKind,
    time_ms: int,
    fields: dict[int, object] | None = None,
) -> bytes:
    """Sign a report of the door ``door_id`` at its time ``time_ms`` (0: unknown)."""
    body: dict[int, object] = {1: int(kind), **(fields or {})}
    claims = {1: door_id, 6: time_ms, CLAIM_REPORT: body}
    return sign1(cbor.dumps(claims), door_key.signer)


def report_door_id(data: bytes) -> bytes:
    """The door id a report claims, before its signature is checked (to find the door's key);
    :func:`decode_report` checks that the key and the claim agree."""
    message = parse_sign1(data, max_bytes=MAX_REPORT_BYTES)
    claims = cbor.loads(message.payload, max_bytes=MAX_REPORT_BYTES, max_depth=3, max_items=32)
    if not isinstance(claims, dict) or not isinstance(claims.get(1), bytes):
        raise DecodeError("malformed", "report claims")
    door_id = claims[1]
    assert isinstance(door_id, bytes)
    return door_id


def decode_report(data: bytes, *, door_key: DoorPublicKey, door_id: bytes) -> Report:
    """Verify a report signed by ``door_key`` about ``door_id`` (``bad_signature``,
    ``malformed``, ``wrong_door``)."""
    message = parse_sign1(data, max_bytes=MAX_REPORT_BYTES)
    payload = message.verify_with(door_key.key)
    claims = cbor.loads(payload, max_bytes=MAX_REPORT_BYTES, max_depth=3, max_items=32)
    if not isinstance(claims, dict) or set(claims) != {1, 6, CLAIM_REPORT}:
        raise DecodeError("malformed", "report claims")
    if claims[1] != door_id:
        raise ValidityError("wrong_door")
    time_ms, body = claims[6], claims[CLAIM_REPORT]
    if not isinstance(time_ms, int) or isinstance(time_ms, bool) or not is_time(time_ms // 1000):
        raise DecodeError("malformed", "report time")
    if not isinstance(body, dict) or not isinstance(body.get(1), int):
        raise DecodeError("malformed", "report body")
    if body[1] not in {int(k) for k in ReportKind}:
        raise ValidityError("unknown_report")
    fields: dict[int, object] = {}
    for key, value in body.items():
        if key == 1:
            continue
        wanted = _FIELD_TYPES.get(key) if isinstance(key, int) else None
        if wanted is None or not isinstance(value, wanted) or isinstance(value, bool):
            raise DecodeError("malformed", f"report field {key!r}")
        fields[key] = value
    return Report(ReportKind(body[1]), door_id, time_ms, fields)


def check_report_time(report: Report, *, last_ms: int | None, server_now: datetime) -> None:
    """The server's rule for a report's time: newer than the last one taken from the door
    (``report_replayed``) and, when the door knows the time, within ``MAX_REPORT_SKEW`` of the
    server's clock (``report_time_off``)."""
    if report.time_ms == 0:
        return
    if last_ms is not None and report.time_ms <= last_ms:
        raise ValidityError("report_replayed")
    when = report.time
    assert when is not None
    if abs(when - server_now) > MAX_REPORT_SKEW:
        raise ValidityError("report_time_off")


# --- events -----------------------------------------------------------------------------------


def encode_events(events: list[bytes]) -> bytes:
    """A batch of the door's signed events (each verified on its own by the server)."""
    return cbor.dumps(list(events))


def decode_events(data: bytes) -> list[bytes]:
    """The signed events of a batch, unverified (``malformed``/``oversized``)."""
    value = cbor.loads(
        data, max_bytes=MAX_EVENTS_BYTES, max_depth=2, max_items=MAX_EVENTS_PER_MESSAGE + 1
    )
    if not isinstance(value, list) or not all(isinstance(v, bytes) for v in value):
        raise DecodeError("malformed", "an event batch is a list of signed events")
    if len(value) > MAX_EVENTS_PER_MESSAGE:
        raise DecodeError("oversized", "too many events in one message")
    return list(value)
