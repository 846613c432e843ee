"""The door transaction as two pure state machines: :class:`PhoneSession` and :class:`DoorSession`.

No I/O and no clock: each consumes the peer's framed message (bytes, see
:mod:`carekey.protocol.framing`) and produces the next one. Two round trips after connecting::

    phone                                               door
      | CLIENT_HELLO  e_P                                  |
      |--------------------------------------------------->|
      |      DOOR_HELLO  door_id, e_D, nonce_D, status,    |
      |      sig_D = Ed25519(door key, "door-auth" | TH1)  |
      |<---------------------------------------------------|
      |  phone checks door_id and sig_D with the door's    |
      |  public key from its key bundle; else it aborts    |
      |  and the credential never leaves the phone         |
      | RECORD(k_PD, 0){ body: command, args, credential,  |
      |   counter, [time token], [denylist update],        |
      |   [proof of freshness];                            |
      |   sig_P = ECDSA-P256(device key, "phone-auth"|TH2) }|
      |--------------------------------------------------->|
      |         RECORD(k_DP, 0){ result, data, receipt }   |
      |<---------------------------------------------------|

- ``TH1 = SHA-256("CareKey/1 transcript" | CLIENT_HELLO | DOOR_HELLO without sig_D)`` binds both
  ephemeral keys, the door id, the door's fresh nonce and its status.
- ``k_PD | k_DP = HKDF-SHA256(ikm = X25519(e_P, e_D), salt = TH1, info = "CareKey/1 keys")``,
  32 bytes each, ChaCha20-Poly1305 with the 12-byte nonce ``0^10 | counter (u16)`` and the
  record header as associated data. Each direction counts from 0; a receiver accepts only the
  next counter, so a replayed or reordered record is refused.
- ``TH2 = SHA-256(TH1 | sig_D | body)``: the phone's device signature covers the door's nonce,
  the door id, both ephemeral keys, the command, its arguments and the credential. The door
  checks it with the device key the credential names (proof of possession).

Later requests in the same session carry only the command (the channel is already bound to the
phone's signature). What a door *does* with a request (credential checks, actuation, logging) is
the firmware's business; this module only guarantees that a request reached the firmware from
the holder of the device key, over this session, once.
"""

from __future__ import annotations

import enum
import hashlib
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carekey.protocol import cbor
from carekey.protocol.bundle import MAX_DOOR_ID_BYTES
from carekey.protocol.credential import MAX_CREDENTIAL_BYTES
from carekey.protocol.errors import MESSAGES, DecodeError, ProtocolError
from carekey.protocol.framing import (
    DEFAULT_MAX_MESSAGE_SIZE,
    FRAMING_MESSAGES,
    MessageType,
    decode_message,
    encode_message,
)
from carekey.protocol.freshness import MAX_FRESHNESS_BYTES
from carekey.protocol.keys import DevicePublicKey, DeviceSigner, DoorKey, DoorPublicKey

TRANSCRIPT_LABEL: Final = b"CareKey/1 transcript"
DOOR_AUTH_LABEL: Final = b"CareKey/1 door-auth"
PHONE_AUTH_LABEL: Final = b"CareKey/1 phone-auth"
KEY_LABEL: Final = b"CareKey/1 keys"
REF_LABEL: Final = b"CareKey/1 ref"
REF_BYTES: Final = 16


X25519_BYTES: Final = 32
DOOR_NONCE_BYTES: Final = 16
SIGNATURE_BYTES: Final = 64
AEAD_TAG_BYTES: Final = 16
MAX_RECORD_COUNTER: Final = 0xFFFF
STATUS_BYTES: Final = 10
MAX_ALERT_CODE_BYTES: Final = 32

# Session-level refusal codes (Danish, English); kept here until merged into errors.MESSAGES.
SESSION_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "door_auth_failed": (
        "Låsen kunne ikke bevise, at den er den rigtige lås. Nøglen blev ikke sendt.",
        "The lock could not prove it is the right lock. The key was not sent.",
    ),
    "bad_record": (
        "En krypteret besked kunne ikke åbnes.",
        "An encrypted message could not be opened.",
    ),
    "replayed_record": (
        "En besked blev sendt igen (genafspilning).",
        "A message was sent again (replay).",
    ),
    "unexpected_message": (
        "Beskeden kom på et forkert tidspunkt i forløbet.",
        "The message came at the wrong point of the exchange.",
    ),
    "session_closed": ("Forbindelsen til låsen er lukket.", "The session with the lock is closed."),
    "weak_key": ("Ugyldig nøgleudveksling.", "Invalid key exchange."),
    "unknown_command": ("Låsen kender ikke kommandoen.", "The lock does not know the command."),
    "not_admin": (
        "Kun installatører og administratorer må ændre låsens opsætning.",
        "Only installers and administrators may change the lock's configuration.",
    ),
    "rate_limited": (
        "For mange mislykkede forsøg. Vent lidt og prøv igen.",
        "Too many failed attempts. Wait a moment and try again.",
    ),
    "counter_not_increasing": (
        "Nøglen er muligvis kopieret (tælleren steg ikke).",
        "The key may have been copied (its counter did not increase).",
    ),
    "credential_required": (
        "Den første besked skal indeholde nøglen.",
        "The first request must carry the key.",
    ),
    "aborted": ("Forbindelsen blev afbrudt.", "The exchange was aborted."),
    "jammed": (
        "Låsen sidder fast. Prøv at dreje med hånden, eller ring til kontoret.",
        "The lock is jammed. Try turning by hand, or call the office.",
    ),
    "battery_empty": (
        "Låsens batteri er tomt. Brug nøgleboksen og ring til kontoret.",
        "The lock's battery is empty. Use the key box and call the office.",
    ),
}


def _texts(code: str) -> tuple[str, str] | None:
    return SESSION_MESSAGES.get(code) or FRAMING_MESSAGES.get(code) or MESSAGES.get(code)


class SessionError(ProtocolError):
    """A refusal in the session layer (or carried back from the door) with a stable code."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code, detail)
        texts = _texts(code)
        if texts is not None:
            self.message_da, self.message_en = texts


def is_known_code(code: str) -> bool:
    """Whether ``code`` is a refusal code of the protocol (and so fit to be logged)."""
    return _texts(code) is not None


def describe(code: str) -> tuple[str, str]:
    """The (Danish, English) text for any refusal code a door may return."""
    return _texts(code) or ("Protokolfejl.", "Protocol error.")


class Command(enum.IntEnum):
    """What the phone asks the door to do. Values are part of the wire format."""

    UNLOCK = 1
    LOCK = 2
    STATUS = 3
    READ_EVENTS = 4
    TIME_SYNC = 5
    DENYLIST_UPDATE = 6
    CONFIGURE = 7
    DECOMMISSION = 8
    """Take the door out of service: it signs a DECOMMISSIONED receipt, then forgets every
    issuer key, its denylist and settings, and refuses every credential from then on."""


ADMIN_COMMANDS: Final = frozenset({Command.CONFIGURE, Command.DECOMMISSION})
"""Commands that need the admin right (``credential.Right.ADMIN``) in the credential."""


class StatusFlag(enum.IntFlag):
    """Bits of the door status byte in DOOR_HELLO."""

    NONE = 0
    TIME_KNOWN = 0x01
    TIME_SYNC_WANTED = 0x02
    BATTERY_LOW = 0x04
    JAMMED = 0x08
    UNLOCKED = 0x10
    DOOR_OPEN = 0x20
    """The door sensor says the door stands open (doors with a sensor only)."""
    ALARM = 0x40
    """An alarm is active: forced open or ajar (the signed log says which)."""
    STATE_UNKNOWN = 0x80
    """The bolt's position is unknown (a movement was cut off by a power loss)."""


@dataclass(frozen=True, slots=True)
class DoorStatus:
    """What the door tells every phone before it authenticates (signed, but not secret).

    It lets the phone piggyback a time token or a denylist delta on its first request only
    when the door needs one, without an extra round trip.
    """

    flags: StatusFlag = StatusFlag.NONE
    battery_percent: int = 100
    denylist_version: int = 0
    event_seq: int = 0

    def encode(self) -> bytes:
        """``flags u8 | battery u8 | denylist version u32 | last event seq u32`` (big endian).

        The two counters saturate at 2³² − 1 rather than fail: a door whose log passed four
        billion events (or a state file saying so) still says hello."""
        return struct.pack(
            ">BBII",
            int(self.flags),
            max(0, min(self.battery_percent, 0xFF)),
            max(0, min(self.denylist_version, 0xFFFFFFFF)),
            max(0, min(self.event_seq, 0xFFFFFFFF)),
        )

    @classmethod
    def decode(cls, data: bytes) -> DoorStatus:
        """Parse the 10-byte status."""
        flags, battery, version, seq = struct.unpack(">BBII", data)
        return cls(StatusFlag(flags), battery, version, seq)

    @property
    def time_known(self) -> bool:
        """The door knows the time (to within its tolerance)."""
        return StatusFlag.TIME_KNOWN in self.flags

    @property
    def wants_time(self) -> bool:
        """The door would like a fresh time token (unknown or drifting)."""
        return StatusFlag.TIME_SYNC_WANTED in self.flags or not self.time_known


@dataclass(frozen=True, slots=True)
class Request:
    """A decrypted request as the door firmware sees it."""

    command: Command
    args: Mapping[str, object]
    first: bool
    credential: bytes | None = None
    counter: int | None = None
    time_token: bytes | None = None
    denylist_update: bytes | None = None
    freshness: bytes | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """The door's answer: ``result`` is ``"ok"`` or a stable refusal code."""

    result: str = "ok"
    data: Mapping[str, object] = field(default_factory=dict)
    receipt: bytes | None = None

    @property
    def ok(self) -> bool:
        """True if the door did what was asked."""
        return self.result == "ok"

    def error(self) -> SessionError:
        """The refusal as an exception (for apps that prefer raising)."""
        return SessionError(self.result)


@dataclass(frozen=True, slots=True)
class Alert:
    """A clear-text refusal before keys exist (door: rate limited; phone: abort)."""

    code: str
    retry_after_s: int = 0


class SessionState(enum.Enum):
    """Where a session is."""

    START = "start"
    HELLO_DONE = "hello_done"
    AWAITING_RESPONSE = "awaiting_response"
    ESTABLISHED = "established"
    CLOSED = "closed"


# --- shared helpers --------------------------------------------------------------------------


def encode_alert(alert: Alert) -> bytes:
    """ALERT body: ``code length u8 | code (ASCII) | retry_after seconds u16``."""
    raw = alert.code.encode("ascii")
    if not raw or len(raw) > MAX_ALERT_CODE_BYTES:
        raise ProtocolError("invalid_argument", "alert code length")
    retry = min(max(alert.retry_after_s, 0), 0xFFFF)
    return encode_message(MessageType.ALERT, bytes((len(raw),)) + raw + struct.pack(">H", retry))


def decode_alert(body: bytes) -> Alert:
    """Parse an ALERT body."""
    if not body or len(body) != 1 + body[0] + 2 or body[0] > MAX_ALERT_CODE_BYTES:
        raise DecodeError("malformed", "alert layout")
    try:
        code = body[1 : 1 + body[0]].decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError("malformed", "alert code") from None
    (retry,) = struct.unpack(">H", body[-2:])
    return Alert(code, retry)


def _raw_x25519(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _shared_secret(private: X25519PrivateKey, peer: bytes) -> bytes:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(peer))
    except ValueError:  # all-zero output: a low-order point was sent
        raise SessionError("weak_key", "low-order X25519 public key") from None


def _derive_keys(shared: bytes, th1: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=th1, info=KEY_LABEL).derive(shared)
    return okm[:32], okm[32:]


def _nonce(counter: int) -> bytes:
    return bytes(10) + struct.pack(">H", counter)


class _RecordLayer:
    """ChaCha20-Poly1305 records with implicit per-direction counters."""

    def __init__(self, send_key: bytes, receive_key: bytes, max_message_size: int) -> None:
        self._send = ChaCha20Poly1305(send_key)
        self._receive = ChaCha20Poly1305(receive_key)
        self._send_counter = 0
        self._receive_counter = 0
        self._max = max_message_size

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` as the next outgoing RECORD message."""
        if self._send_counter > MAX_RECORD_COUNTER:
            raise SessionError("session_closed", "record counter exhausted")
        header = encode_message(MessageType.RECORD, struct.pack(">H", self._send_counter))
        sealed = self._send.encrypt(_nonce(self._send_counter), plaintext, header)
        self._send_counter += 1
        return encode_message(MessageType.RECORD, header[2:] + sealed, max_message_size=self._max)

    def open(self, body: bytes) -> bytes:
        """Decrypt a RECORD body, accepting only the next counter."""
        if len(body) < 2 + AEAD_TAG_BYTES:
            raise SessionError("bad_record", "record too short")
        (counter,) = struct.unpack(">H", body[:2])
        if counter < self._receive_counter:
            raise SessionError("replayed_record", f"counter {counter}")
        if counter != self._receive_counter:
            raise SessionError("bad_record", f"counter {counter}, expected {self._receive_counter}")
        header = encode_message(MessageType.RECORD, body[:2])
        try:
            plaintext = self._receive.decrypt(_nonce(counter), body[2:], header)
        except InvalidTag:
            raise SessionError("bad_record", "authentication failed") from None
        self._receive_counter += 1
        return plaintext


def _expect(data: bytes, expected: MessageType, max_message_size: int) -> bytes:
    message = decode_message(data, max_message_size=max_message_size)
    if message.type is MessageType.ALERT:
        alert = decode_alert(message.body)
        raise SessionError(alert.code, f"peer alert, retry after {alert.retry_after_s} s")
    if message.type is not expected:
        raise SessionError("unexpected_message", f"{message.type.name}, expected {expected.name}")
    return message.body


def _request_ref(th1: bytes, body_bytes: bytes) -> bytes:
    return hashlib.sha256(REF_LABEL + th1 + body_bytes).digest()[:REF_BYTES]


def _door_hello_body(door_id: bytes, ephemeral: bytes, nonce: bytes, status: DoorStatus) -> bytes:
    if not 0 < len(door_id) <= MAX_DOOR_ID_BYTES:
        raise ProtocolError("invalid_argument", "door id must be 1..32 bytes")
    return bytes((len(door_id),)) + door_id + ephemeral + nonce + status.encode()


def _opt_bytes(body: Mapping[object, object], key: int, limit: int) -> bytes | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) > limit:
        raise DecodeError("malformed", f"field {key} must be at most {limit} bytes")
    return value


def _parse_request(body_bytes: bytes, *, first: bool, max_size: int) -> Request:
    body = cbor.loads(body_bytes, max_bytes=max_size, max_depth=4, max_items=128)
    if not isinstance(body, dict) or not set(body) <= {1, 2, 3, 4, 5, 6, 7}:
        raise DecodeError("malformed", "request body must be a map with known keys")
    raw_command = body.get(1)
    if isinstance(raw_command, bool) or not isinstance(raw_command, int):
        raise DecodeError("malformed", "command must be an integer")
    try:
        command = Command(raw_command)
    except ValueError:
        raise SessionError("unknown_command", str(raw_command)) from None
    args = body.get(2, {})
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        raise DecodeError("malformed", "args must be a map with text keys")
    credential = _opt_bytes(body, 3, MAX_CREDENTIAL_BYTES)
    counter = body.get(4)
    if counter is not None and (isinstance(counter, bool) or not isinstance(counter, int)):
        raise DecodeError("malformed", "counter must be an integer")
    if first and (credential is None or counter is None):
        raise SessionError("credential_required")
    if not first and (credential is not None or counter is not None or 7 in body):
        raise DecodeError("malformed", "credential and freshness only in the first request")
    return Request(
        command=command,
        args={str(k): v for k, v in args.items()},
        first=first,
        credential=credential,
        counter=counter,
        time_token=_opt_bytes(body, 5, max_size),
        denylist_update=_opt_bytes(body, 6, max_size),
        freshness=_opt_bytes(body, 7, MAX_FRESHNESS_BYTES),
    )


# --- the phone -------------------------------------------------------------------------------


class PhoneSession:
    """The phone's side of one door session. Sends nothing secret before the door has proven
    its identity with the door key from the phone's key bundle."""

    def __init__(
        self,
        *,
        door_id: bytes,
        door_public_key: DoorPublicKey,
        device_key: DeviceSigner,
        credential: bytes,
        counter: int,
        ephemeral: X25519PrivateKey | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self.door_id = door_id
        self._door_public = door_public_key
        self._device_key = device_key
        self._credential = credential
        self._counter = counter
        self._ephemeral = ephemeral or X25519PrivateKey.generate()
        self._max = max_message_size
        self._hello = b""
        self._th1 = b""
        self._door_sig = b""
        self._records: _RecordLayer | None = None
        self._first_sent = False
        self.state = SessionState.START
        self.door_status: DoorStatus | None = None
        self.door_nonce: bytes | None = None
        self.request_ref: bytes | None = None
        """The reference of the last request; the door's receipt carries it."""

    def hello(self) -> bytes:
        """CLIENT_HELLO: the phone's ephemeral X25519 public key."""
        self._require(SessionState.START)
        self._hello = encode_message(MessageType.CLIENT_HELLO, _raw_x25519(self._ephemeral))
        self.state = SessionState.HELLO_DONE
        return self._hello

    def receive_door_hello(self, data: bytes) -> DoorStatus:
        """Check the door's identity and signature; derive the session keys.

        Raises ``door_auth_failed`` (wrong door id, bad signature, swapped keys: the phone must
        abort and never send the credential), ``weak_key``, or the code of a door ALERT.
        """
        self._require(SessionState.HELLO_DONE)
        try:
            body = _expect(data, MessageType.DOOR_HELLO, self._max)
            if len(body) < 1 or len(body) != 1 + body[0] + 32 + 16 + STATUS_BYTES + 64:
                raise DecodeError("malformed", "DOOR_HELLO layout")
            raw_id = body[1 : 1 + body[0]]
            rest = body[1 + body[0] :]
            door_ephemeral, status_raw = rest[:32], rest[48 : 48 + STATUS_BYTES]
            signature = rest[48 + STATUS_BYTES :]
            if raw_id != self.door_id:
                raise SessionError("door_auth_failed", "a different door answered")
            th1 = hashlib.sha256(TRANSCRIPT_LABEL + self._hello + data[:-SIGNATURE_BYTES]).digest()
            try:
                self._door_public.key.verify(signature, DOOR_AUTH_LABEL + th1)
            except ProtocolError:
                raise SessionError("door_auth_failed", "door signature") from None
            shared = _shared_secret(self._ephemeral, door_ephemeral)
        except ProtocolError:
            self.state = SessionState.CLOSED
            raise
        to_door, to_phone = _derive_keys(shared, th1)
        self._records = _RecordLayer(to_door, to_phone, self._max)
        self._th1, self._door_sig = th1, signature
        self.door_status = DoorStatus.decode(status_raw)
        self.door_nonce = bytes(rest[32:48])
        self.state = SessionState.ESTABLISHED
        return self.door_status

    def request(
        self,
        command: Command,
        args: Mapping[str, object] | None = None,
        *,
        time_token: bytes | None = None,
        denylist_update: bytes | None = None,
        freshness: bytes | None = None,
    ) -> bytes:
        """An encrypted request. The first one carries the credential, the use counter, the
        phone's proof of freshness and the device signature over the transcript; time tokens
        and denylist updates ride along."""
        self._require(SessionState.ESTABLISHED)
        assert self._records is not None
        body: dict[int, object] = {1: int(command)}
        if args:
            body[2] = dict(args)
        if not self._first_sent:
            body[3] = self._credential
            body[4] = self._counter
            if freshness is not None:
                body[7] = freshness
        if time_token is not None:
            body[5] = time_token
        if denylist_update is not None:
            body[6] = denylist_update
        body_bytes = cbor.dumps(body)
        self.request_ref = _request_ref(self._th1, body_bytes)
        signature: bytes | None = None
        if not self._first_sent:
            th2 = hashlib.sha256(self._th1 + self._door_sig + body_bytes).digest()
            signature = self._device_key.sign(PHONE_AUTH_LABEL + th2)
        record = self._records.seal(cbor.dumps([body_bytes, signature]))
        self._first_sent = True
        self.state = SessionState.AWAITING_RESPONSE
        return record

    def receive_response(self, data: bytes) -> Response:
        """Decrypt the door's answer. A refusal closes the session."""
        self._require(SessionState.AWAITING_RESPONSE)
        assert self._records is not None
        try:
            body = _expect(data, MessageType.RECORD, self._max)
            plain = cbor.loads(self._records.open(body), max_bytes=self._max, max_depth=6)
            response = _parse_response(plain)
        except ProtocolError:
            self.state = SessionState.CLOSED
            raise
        self.state = SessionState.ESTABLISHED if response.ok else SessionState.CLOSED
        return response

    def abort(self, code: str = "aborted") -> bytes:
        """An ALERT telling the door why the phone gives up; closes the session."""
        self.state = SessionState.CLOSED
        return encode_alert(Alert(code))

    def _require(self, state: SessionState) -> None:
        if self.state is not state:
            raise SessionError("unexpected_message", f"phone session is {self.state.value}")


def _parse_response(plain: object) -> Response:
    if not isinstance(plain, dict) or not set(plain) <= {1, 2, 3}:
        raise DecodeError("malformed", "response must be a map with known keys")
    result, data, receipt = plain.get(1), plain.get(2, {}), plain.get(3)
    if not isinstance(result, str) or not isinstance(data, dict):
        raise DecodeError("malformed", "response result/data")
    if receipt is not None and not isinstance(receipt, bytes):
        raise DecodeError("malformed", "receipt must be bytes")
    return Response(result, {str(k): v for k, v in data.items()}, receipt)


# --- the door --------------------------------------------------------------------------------


class DoorSession:
    """The door's side of one session: answers the hello (authenticating the door first),
    opens requests, and seals responses. The firmware decides what to do with each request."""

    def __init__(
        self,
        *,
        door_id: bytes,
        door_key: DoorKey,
        ephemeral: X25519PrivateKey | None = None,
        nonce: bytes | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self.door_id = door_id
        self._door_key = door_key
        self._ephemeral = ephemeral or X25519PrivateKey.generate()
        self._nonce = nonce if nonce is not None else os.urandom(DOOR_NONCE_BYTES)
        if len(self._nonce) != DOOR_NONCE_BYTES:
            raise ProtocolError("invalid_argument", "door nonce must be 16 bytes")
        self._max = max_message_size
        self._th1 = b""
        self._door_sig = b""
        self._records: _RecordLayer | None = None
        self._pending: Request | None = None
        self._pending_th2 = b""
        self._pending_signature: bytes | None = None
        self.authenticated = False
        self.state = SessionState.START
        self.request_ref: bytes | None = None
        """The reference of the request being answered; put it in the receipt event."""

    @property
    def nonce(self) -> bytes:
        """This session's fresh 16-byte nonce (also what a challenge-bound time token answers)."""
        return self._nonce

    def receive_hello(self, data: bytes, status: DoorStatus) -> bytes:
        """Answer CLIENT_HELLO with DOOR_HELLO, signed with the door key over TH1."""
        self._require(SessionState.START)
        try:
            body = _expect(data, MessageType.CLIENT_HELLO, self._max)
            if len(body) != X25519_BYTES:
                raise DecodeError("malformed", "CLIENT_HELLO must be a 32-byte X25519 key")
            shared = _shared_secret(self._ephemeral, body)
        except ProtocolError:
            self.state = SessionState.CLOSED
            raise
        unsigned = encode_message(
            MessageType.DOOR_HELLO,
            _door_hello_body(self.door_id, _raw_x25519(self._ephemeral), self._nonce, status),
        )
        th1 = hashlib.sha256(TRANSCRIPT_LABEL + data + unsigned).digest()
        signature = self._door_key.signer.sign(DOOR_AUTH_LABEL + th1)
        to_door, to_phone = _derive_keys(shared, th1)
        self._records = _RecordLayer(to_phone, to_door, self._max)
        self._th1, self._door_sig = th1, signature
        self.state = SessionState.HELLO_DONE
        return unsigned + signature

    def receive_request(self, data: bytes) -> Request:
        """Decrypt and parse a request (refusing replayed, reordered or forged records).

        For the first request the caller must check the credential and then call
        :meth:`verify_possession` with the device key it names before acting on it.
        """
        if self.state not in (SessionState.HELLO_DONE, SessionState.ESTABLISHED):
            raise SessionError("unexpected_message", f"door session is {self.state.value}")
        assert self._records is not None
        first = self.state is SessionState.HELLO_DONE
        try:
            body = _expect(data, MessageType.RECORD, self._max)
            plain = cbor.loads(self._records.open(body), max_bytes=self._max, max_depth=2)
            if not isinstance(plain, list) or len(plain) != 2 or not isinstance(plain[0], bytes):
                raise DecodeError("malformed", "record must be [body, signature]")
            body_bytes, signature = plain
            if first and (not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES):
                raise DecodeError("malformed", "first request needs a 64-byte device signature")
            if not first and signature is not None:
                raise DecodeError("malformed", "only the first request is signed")
            request = _parse_request(body_bytes, first=first, max_size=self._max)
        except ProtocolError:
            self.state = SessionState.CLOSED
            raise
        self._pending = request
        self._pending_signature = signature if first else None
        self._pending_th2 = hashlib.sha256(self._th1 + self._door_sig + body_bytes).digest()
        self.request_ref = _request_ref(self._th1, body_bytes)
        self.state = SessionState.AWAITING_RESPONSE
        return request

    def verify_possession(self, device_key: DevicePublicKey) -> None:
        """Check the first request's device signature over TH2 with the credential's device key.

        Raises ``bad_signature`` (stolen credential without the key, swapped ephemeral keys, a
        request from another session).
        """
        if self.state is not SessionState.AWAITING_RESPONSE or self._pending_signature is None:
            raise SessionError("unexpected_message", "no first request to authenticate")
        device_key.verify(self._pending_signature, PHONE_AUTH_LABEL + self._pending_th2)
        self.authenticated = True

    def respond(self, response: Response) -> bytes:
        """Seal the answer. A refusal, or any answer to an unauthenticated first request,
        closes the session."""
        self._require(SessionState.AWAITING_RESPONSE)
        assert self._records is not None
        if response.ok and not self.authenticated:
            raise SessionError("unexpected_message", "cannot accept an unauthenticated request")
        plain: dict[int, object] = {1: response.result}
        if response.data:
            plain[2] = dict(response.data)
        if response.receipt is not None:
            plain[3] = response.receipt
        record = self._records.seal(cbor.dumps(plain))
        self._pending = None
        self._pending_signature = None
        self.state = SessionState.ESTABLISHED if response.ok else SessionState.CLOSED
        return record

    def close(self) -> None:
        """End the session (disconnect, timeout or refusal)."""
        self.state = SessionState.CLOSED

    def _require(self, state: SessionState) -> None:
        if self.state is not state:
            raise SessionError("unexpected_message", f"door session is {self.state.value}")
