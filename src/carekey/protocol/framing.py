"""BLE framing: versioned messages, fragmentation to the ATT MTU and bounded reassembly.

A *message* is what the session layer exchanges::

    +---------+------+-------------------+
    | version | type | body (0..N bytes) |
    |   u8    |  u8  |                   |
    +---------+------+-------------------+

``version`` is :data:`PROTOCOL_VERSION`. A receiver refuses any other version, older or newer,
with ``version_unsupported``: there is no negotiation, so an attacker cannot talk a door down
to a weaker protocol (a future version 2 door would list the versions it accepts explicitly).

A message travels as one or more *fragments*, each one ATT write (phone -> door) or
notification (door -> phone) of at most ``mtu - 3`` bytes::

    +--------+---------------------------+
    | header | chunk (1..mtu-4 bytes)    |
    |   u8   |                           |
    +--------+---------------------------+
    header = LAST (0x80, set on the final fragment) | index (0..127, counts up from 0)

The reassembler accepts fragments in order only (BLE's link layer already delivers in order
and retransmits lost packets), refuses a fragment whose index is not the next one, an empty
chunk, more than ``max_fragments`` fragments or more than ``max_message_size`` bytes, and then
forgets the partial message. The reassembly *timeout* is the caller's job: the door firmware
calls :meth:`Reassembler.reset` when a partial message has been idle too long, because only
the caller has a clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from carekey.protocol.errors import DecodeError

PROTOCOL_VERSION: Final = 1
"""The only protocol version this implementation speaks (and therefore accepts)."""

SUPPORTED_VERSIONS: Final = frozenset({PROTOCOL_VERSION})

ATT_HEADER_BYTES: Final = 3
"""ATT opcode + attribute handle, taken off every packet's MTU."""

MIN_MTU: Final = 23
"""The BLE default ATT MTU; every link supports at least this."""

MAX_MTU: Final = 517

LAST_FRAGMENT: Final = 0x80
INDEX_MASK: Final = 0x7F

DEFAULT_MAX_MESSAGE_SIZE: Final = 4096
DEFAULT_MAX_FRAGMENTS: Final = 128
MESSAGE_HEADER_BYTES: Final = 2

# Codes this module raises, with Danish + English text (kept here until merged into errors.py).
FRAMING_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "version_unsupported": (
        "Appen og låsen taler ikke samme protokolversion.",
        "The app and the lock do not speak the same protocol version.",
    ),
    "unknown_message_type": ("Ukendt beskedtype.", "Unknown message type."),
    "bad_fragment": ("Beskeddelen er ugyldig.", "A message fragment is invalid."),
}


class FramingError(DecodeError):
    """Malformed, oversized or wrongly versioned bytes at the framing layer."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code, detail)
        if code in FRAMING_MESSAGES:
            self.message_da, self.message_en = FRAMING_MESSAGES[code]


class MessageType(enum.IntEnum):
    """What a message's body is. Values are part of the wire format."""

    CLIENT_HELLO = 0x01
    """Phone -> door: opens a session (ephemeral X25519 key)."""
    DOOR_HELLO = 0x02
    """Door -> phone: the door's ephemeral key, nonce, status and signature."""
    RECORD = 0x03
    """Either direction: an encrypted session record (request or response)."""
    ALERT = 0x04
    """Door -> phone, in clear: the session is refused before keys exist (e.g. rate limited)."""


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded framing-layer message."""

    version: int
    type: MessageType
    body: bytes


def encode_message(
    message_type: MessageType,
    body: bytes,
    *,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
) -> bytes:
    """Prefix ``body`` with the protocol version and the message type.

    Raises ``oversized`` if the whole message would exceed ``max_message_size``.
    """
    size = MESSAGE_HEADER_BYTES + len(body)
    if size > max_message_size:
        raise FramingError("oversized", f"message of {size} bytes > {max_message_size}")
    return bytes((PROTOCOL_VERSION, int(message_type))) + body


def decode_message(data: bytes, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Message:
    """Parse a reassembled message, refusing other versions, unknown types and oversize input."""
    if len(data) > max_message_size:
        raise FramingError("oversized", f"message of {len(data)} bytes > {max_message_size}")
    if len(data) < MESSAGE_HEADER_BYTES:
        raise FramingError("malformed", "message shorter than its header")
    version, raw_type = data[0], data[1]
    if version not in SUPPORTED_VERSIONS:
        raise FramingError("version_unsupported", f"version {version}")
    try:
        message_type = MessageType(raw_type)
    except ValueError:
        raise FramingError("unknown_message_type", f"type 0x{raw_type:02x}") from None
    return Message(version=version, type=message_type, body=bytes(data[2:]))


def chunk_size(mtu: int) -> int:
    """Message bytes that fit in one fragment for an ATT ``mtu``."""
    if not MIN_MTU <= mtu <= MAX_MTU:
        raise ValueError(f"ATT MTU must be within {MIN_MTU}..{MAX_MTU}, got {mtu}")
    return mtu - ATT_HEADER_BYTES - 1


def fragment(
    message: bytes, *, mtu: int, max_fragments: int = DEFAULT_MAX_FRAGMENTS
) -> list[bytes]:
    """Split ``message`` into fragments that each fit one ATT packet of ``mtu``.

    Raises ``oversized`` if more than ``max_fragments`` would be needed.
    """
    if not message:
        raise FramingError("malformed", "empty message")
    size = chunk_size(mtu)
    chunks = [message[i : i + size] for i in range(0, len(message), size)]
    limit = min(max_fragments, INDEX_MASK + 1)
    if len(chunks) > limit:
        raise FramingError("oversized", f"{len(chunks)} fragments > {limit}")
    last = len(chunks) - 1
    return [
        bytes(((LAST_FRAGMENT if i == last else 0) | i,)) + chunk for i, chunk in enumerate(chunks)
    ]


class Reassembler:
    """Collects fragments of one message at a time, within hard limits.

    :meth:`feed` returns the complete message when the last fragment arrives and ``None``
    before that. Any violation raises :class:`FramingError` and drops the partial message, so
    the next fragment must start a new message at index 0.
    """

    def __init__(
        self,
        *,
        mtu: int,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_fragments: int = DEFAULT_MAX_FRAGMENTS,
    ) -> None:
        self._max_packet = mtu - ATT_HEADER_BYTES
        chunk_size(mtu)  # validates the MTU
        self._max_message_size = max_message_size
        self._max_fragments = min(max_fragments, INDEX_MASK + 1)
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def pending(self) -> bool:
        """True while a message is partly received (the caller times this out)."""
        return bool(self._parts)

    def reset(self) -> None:
        """Forget any partial message (reassembly timeout, disconnect, or after an error)."""
        self._parts = []
        self._size = 0

    def feed(self, packet: bytes) -> bytes | None:
        """Add one received fragment; return the whole message once complete."""
        try:
            return self._feed(packet)
        except FramingError:
            self.reset()
            raise

    def _feed(self, packet: bytes) -> bytes | None:
        if len(packet) < 2:
            raise FramingError("bad_fragment", "fragment without a chunk")
        if len(packet) > self._max_packet:
            raise FramingError("bad_fragment", f"fragment of {len(packet)} bytes > MTU")
        header = packet[0]
        index = header & INDEX_MASK
        if index != len(self._parts):
            raise FramingError("bad_fragment", f"fragment {index}, expected {len(self._parts)}")
        if index + 1 > self._max_fragments:
            raise FramingError("oversized", f"more than {self._max_fragments} fragments")
        self._size += len(packet) - 1
        if self._size > self._max_message_size:
            raise FramingError("oversized", f"message over {self._max_message_size} bytes")
        self._parts.append(packet[1:])
        if not header & LAST_FRAGMENT:
            return None
        message = b"".join(self._parts)
        self.reset()
        return message
