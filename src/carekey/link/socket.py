"""A :class:`~carekey.link.transport.Transport` over a local TCP socket to a simulated door.

The demo runs a door simulator in another process (:mod:`carekey.devices.doorserver`); the key
app reaches it over this link exactly as it would reach a real lock over Bluetooth: the same BLE
packets (framing fragments, each at most ``ATT_MTU - 3`` bytes) travel in both directions, one
packet per ATT write (phone to door) or notification (door to phone).

Wire format (all integers big-endian):

- **link hello**, phone to door, right after the TCP connection: ``"CKL1" | mtu (u16)``, the
  phone's ATT MTU (23..517);
- **link hello**, door to phone: ``"CKL1" | status (u8, 0 = ready) | mtu (u16)``, the negotiated
  MTU, ``min(phone's, door's)``, as a BLE ATT MTU exchange would give. The door sends it only
  when it takes the connection: a door serves one phone at a time, so a second phone waits
  (queued, see :class:`~carekey.devices.doorserver.DoorServer`) and gives up after its timeout
  with ``door_busy``;
- then **packets**: ``length (u16, 1..mtu-3) | packet``. A frame outside those bounds is a
  link-layer violation: the receiver drops the connection (a real BLE stack never delivers an
  ATT write longer than the MTU either).

Hard limits: packet sizes are checked before anything is sent or buffered, reads never buffer
more than one frame, every connect and receive has a deadline, and any link failure closes the
link and raises :class:`SocketLinkError` (a :class:`~carekey.link.transport.TransportError`)
with a stable code and Danish + English text. Only loopback addresses are allowed unless the
caller passes ``allow_remote=True`` (the link is not encrypted beyond what the door protocol
itself encrypts, and the demo has no reason to listen on a network).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Final

from carekey.link.transport import TransportError
from carekey.protocol.framing import ATT_HEADER_BYTES, MAX_MTU, MIN_MTU

LINK_MAGIC: Final = b"CKL1"
CLIENT_HELLO: Final = struct.Struct(">4sH")
"""Phone to door: magic, the phone's ATT MTU."""
SERVER_HELLO: Final = struct.Struct(">4sBH")
"""Door to phone: magic, status, the negotiated ATT MTU."""
STATUS_READY: Final = 0
FRAME_HEADER: Final = struct.Struct(">H")
MAX_PACKETS_PER_SEND: Final = 128
"""One message's fragments: the framing layer never needs more (its index has 7 bits)."""
DEFAULT_TIMEOUT: Final = 5.0

# code -> (Danish, English). Link codes, next to the protocol's own in ``errors.MESSAGES``.
LINK_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "connect_failed": ("Kunne ikke forbinde til døren.", "Could not connect to the door."),
    "not_loopback": (
        "Kun forbindelser til denne maskine (127.0.0.1) er tilladt.",
        "Only connections to this machine (127.0.0.1) are allowed.",
    ),
    "door_busy": (
        "Døren svarede ikke; den er måske optaget af en anden telefon.",
        "The door did not answer; it may be busy with another phone.",
    ),
    "link_timeout": ("Døren svarede ikke i tide.", "The door did not answer in time."),
    "link_lost": (
        "Forbindelsen til døren blev afbrudt.",
        "The connection to the door was lost.",
    ),
    "packet_too_large": (
        "Pakken er større end forbindelsens MTU tillader.",
        "The packet is larger than the link's MTU allows.",
    ),
    "bad_link_frame": (
        "Døren sendte ugyldige data på forbindelsen.",
        "The door sent invalid data on the link.",
    ),
}


class SocketLinkError(TransportError):
    """A failure of the socket link, with a stable ``code`` and Danish + English text."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code, detail)
        if code in LINK_MESSAGES:
            self.message_da, self.message_en = LINK_MESSAGES[code]
        text = f"{code}: {self.message_en} / {self.message_da}"
        self.args = (f"{text} ({detail})" if detail else text,)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8 or ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def max_packet(mtu: int) -> int:
    """The largest packet (ATT payload) a link with this ATT MTU carries."""
    return mtu - ATT_HEADER_BYTES


def check_mtu(mtu: int) -> int:
    """Return ``mtu`` if it is a valid ATT MTU (23..517), else raise ``ValueError``."""
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not MIN_MTU <= mtu <= MAX_MTU:
        raise ValueError(f"ATT MTU must be within {MIN_MTU}..{MAX_MTU}, got {mtu!r}")
    return mtu


def encode_frames(packets: Sequence[bytes], *, mtu: int) -> bytes:
    """Length-prefix each packet; raise ``packet_too_large`` if one is empty or too long."""
    limit = max_packet(mtu)
    if len(packets) > MAX_PACKETS_PER_SEND:
        raise SocketLinkError("packet_too_large", f"{len(packets)} packets in one write")
    out = bytearray()
    for packet in packets:
        if not 0 < len(packet) <= limit:
            raise SocketLinkError(
                "packet_too_large", f"packet of {len(packet)} bytes, limit {limit} (MTU {mtu})"
            )
        out += FRAME_HEADER.pack(len(packet))
        out += packet
    return bytes(out)


class SocketTransport:
    """The phone's end of a socket link to a simulated door (a :class:`Transport`).

    Connects, exchanges the link hello (MTU) and is then used like a BLE connection::

        with SocketTransport("127.0.0.1", port) as link:
            result = driver.run(link, entry, Command.UNLOCK)

    ``timeout`` bounds the TCP connect, the wait for the door's hello, and each
    :meth:`receive`. Any link failure closes the link and raises :class:`SocketLinkError`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        mtu: int = 247,
        timeout: float = DEFAULT_TIMEOUT,
        allow_remote: bool = False,
    ) -> None:
        check_mtu(mtu)
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if not allow_remote and not is_loopback(host):
            raise SocketLinkError("not_loopback", host)
        self._timeout = timeout
        self._address = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            raise SocketLinkError("connect_failed", f"{self._address}: {error}") from None
        self._sock: socket.socket | None = sock
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sendall(CLIENT_HELLO.pack(LINK_MAGIC, mtu))
            deadline = time.monotonic() + timeout
            try:
                hello = self._read_exact(SERVER_HELLO.size, deadline)
            except SocketLinkError as error:
                if error.code == "link_timeout":
                    raise SocketLinkError(
                        "door_busy", f"no answer from {self._address} in {timeout:g} s"
                    ) from None
                raise
            magic, status, negotiated = SERVER_HELLO.unpack(hello)
            if magic != LINK_MAGIC or status != STATUS_READY or not MIN_MTU <= negotiated <= mtu:
                raise self._broken("bad_link_frame", "unexpected link hello from the door")
        except BaseException:
            self.close()
            raise
        self._mtu: int = negotiated

    @property
    def mtu(self) -> int:
        """The negotiated ATT MTU (the smaller of the phone's and the door's)."""
        return self._mtu

    @property
    def connected(self) -> bool:
        """True until :meth:`close` or a link failure."""
        return self._sock is not None

    def send(self, packets: Sequence[bytes]) -> None:
        """Write packets to the door, in order; each must fit the negotiated MTU.

        An oversized packet raises ``packet_too_large`` before anything is sent, and the link
        stays usable.
        """
        data = encode_frames(packets, mtu=self._mtu)
        self._sendall(data)

    def receive(self) -> bytes:
        """The door's next notification, waiting at most the link's timeout."""
        deadline = time.monotonic() + self._timeout
        (length,) = FRAME_HEADER.unpack(self._read_exact(FRAME_HEADER.size, deadline))
        limit = max_packet(self._mtu)
        if not 0 < length <= limit:
            raise self._broken("bad_link_frame", f"frame of {length} bytes, limit {limit}")
        return self._read_exact(length, deadline)

    def close(self) -> None:
        """Disconnect; the door forgets its session. Safe to call twice."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> SocketTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "connected" if self.connected else "closed"
        return f"SocketTransport({self._address}, mtu={getattr(self, '_mtu', None)}, {state})"

    # --- internals ---

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise SocketLinkError("link_lost", "not connected")
        return self._sock

    def _broken(self, code: str, detail: str) -> SocketLinkError:
        self.close()
        return SocketLinkError(code, detail)

    def _sendall(self, data: bytes) -> None:
        sock = self._require()
        sock.settimeout(self._timeout)
        try:
            sock.sendall(data)
        except TimeoutError:
            raise self._broken("link_timeout", "the door does not read") from None
        except OSError as error:
            raise self._broken("link_lost", str(error)) from None

    def _read_exact(self, size: int, deadline: float) -> bytes:
        sock = self._require()
        buffer = bytearray()
        while len(buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._broken("link_timeout", f"nothing from the door in {self._timeout:g} s")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(size - len(buffer))
            except TimeoutError:
                raise self._broken(
                    "link_timeout", f"nothing from the door in {self._timeout:g} s"
                ) from None
            except OSError as error:
                raise self._broken("link_lost", str(error)) from None
            if not chunk:
                raise self._broken("link_lost", "the door closed the connection")
            buffer += chunk
        return bytes(buffer)


def connect(
    host: str,
    port: int,
    *,
    mtu: int = 247,
    timeout: float = DEFAULT_TIMEOUT,
    allow_remote: bool = False,
) -> SocketTransport:
    """Connect to a door served on ``host:port`` (loopback only unless ``allow_remote``).

    Raises :class:`SocketLinkError`: ``not_loopback``, ``connect_failed`` (nothing listens),
    ``door_busy`` (the door did not take the connection within ``timeout``, typically because
    another phone is connected), ``bad_link_frame``.
    """
    return SocketTransport(host, port, mtu=mtu, timeout=timeout, allow_remote=allow_remote)


__all__ = [
    "DEFAULT_TIMEOUT",
    "LINK_MESSAGES",
    "SocketLinkError",
    "SocketTransport",
    "connect",
    "encode_frames",
    "is_loopback",
]
