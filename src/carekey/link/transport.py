"""Transports between the key app (BLE central) and a door (BLE peripheral).

:class:`Transport` is what the phone-side driver needs: the negotiated ATT MTU, "write these
packets to the door" and "give me the door's next notification". A real adapter implements it
with bleak on the phone side (``BleakClient.write_gatt_char`` with response for each fragment,
``start_notify`` feeding a queue that ``receive`` reads with a timeout, ``mtu_size`` for the
MTU); a door prototype on a PC would use bless as the peripheral and call
:meth:`DoorPeripheral.on_packet` from its write handler. Neither is needed by the tests.

:class:`BluetoothLink` is the in-memory link used by tests, simulation and the benchmark: it
delivers packets to a :class:`DoorPeripheral` directly, and models what costs time and air on a
real link: the connection interval (packets move only at connection events, a few per event),
packet loss with link-layer retransmission (seeded, reproducible) and the supervision timeout.
It counts bytes and packets on air and the round trips of a session.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from carekey.protocol.errors import ProtocolError

LINK_LAYER_OVERHEAD_BYTES: Final = 17
"""Bytes a BLE data packet spends besides its ATT payload: preamble 1, access address 4,
LL header 2, L2CAP header 4, ATT opcode + handle 3, CRC 3 (no link-layer encryption)."""


class TransportError(ProtocolError):
    """The link failed: disconnected, supervision timeout, or nothing to receive."""


@runtime_checkable
class DoorPeripheral(Protocol):
    """The door side of a BLE link: one GATT characteristic written by the phone."""

    def connect(self) -> None:
        """A central connected: start with a fresh session."""

    def on_packet(self, packet: bytes) -> list[bytes]:
        """Handle one written packet; return the notifications to send back (maybe none)."""

    def disconnect(self) -> None:
        """The central went away: forget the session."""


@runtime_checkable
class Transport(Protocol):
    """The phone's view of a connected door."""

    @property
    def mtu(self) -> int:
        """The negotiated ATT MTU."""

    def send(self, packets: Sequence[bytes]) -> None:
        """Write packets to the door, in order (one message's fragments)."""

    def receive(self) -> bytes:
        """The door's next notification; raises :class:`TransportError` if none comes."""

    def close(self) -> None:
        """Disconnect."""


@dataclass(slots=True)
class LinkStats:
    """What a link has carried since it was connected (or since :meth:`BluetoothLink.reset`)."""

    packets_to_door: int = 0
    packets_to_phone: int = 0
    payload_bytes_to_door: int = 0
    payload_bytes_to_phone: int = 0
    retransmissions: int = 0
    connection_events: int = 0
    round_trips: int = 0
    air_bytes: int = 0
    exchanges: list[tuple[list[int], list[int]]] = field(default_factory=list)
    """Per phone write: the packet sizes sent, and the packet sizes the door answered with."""

    @property
    def payload_bytes(self) -> int:
        """ATT payload bytes in both directions (fragments including their 1-byte header)."""
        return self.payload_bytes_to_door + self.payload_bytes_to_phone


class BluetoothLink:
    """An in-memory BLE connection from a phone to a door, with MTU, timing and loss.

    Timing model: packets move only at connection events, ``connection_interval_ms`` apart,
    at most ``packets_per_event`` per direction per event. A lost packet (probability
    ``loss_rate``, drawn from a seeded generator) is retransmitted by the link layer at the
    next event; after ``supervision_timeout_ms`` without success the link drops. A door reply
    leaves at the first event after the request has arrived; door CPU time is not modelled
    here (the benchmark adds it from the firmware's operation counters).
    """

    def __init__(
        self,
        door: DoorPeripheral,
        *,
        mtu: int = 247,
        connection_interval_ms: float = 30.0,
        packets_per_event: int = 4,
        loss_rate: float = 0.0,
        seed: int = 0,
        supervision_timeout_ms: float = 4000.0,
    ) -> None:
        if not 0.0 <= loss_rate < 1.0:
            raise ValueError("loss_rate must be in [0, 1)")
        if packets_per_event < 1:
            raise ValueError("packets_per_event must be at least 1")
        self._door = door
        self._mtu = mtu
        self.connection_interval_ms = connection_interval_ms
        self.packets_per_event = packets_per_event
        self.loss_rate = loss_rate
        self._loss = random.Random(seed)  # noqa: S311 -- a reproducible loss model, not a secret
        self._max_attempts = max(1, math.floor(supervision_timeout_ms / connection_interval_ms))
        self._inbox: deque[bytes] = deque()
        self._connected = False
        self.stats = LinkStats()

    @property
    def mtu(self) -> int:
        """The negotiated ATT MTU."""
        return self._mtu

    @property
    def connected(self) -> bool:
        """True between :meth:`connect` and :meth:`close`."""
        return self._connected

    @property
    def modeled_air_ms(self) -> float:
        """Time spent waiting for connection events since connecting, in milliseconds."""
        return self.stats.connection_events * self.connection_interval_ms

    def connect(self) -> BluetoothLink:
        """Connect to the door (advertising and connection setup are not counted)."""
        self._door.connect()
        self._connected = True
        self._inbox.clear()
        self.stats = LinkStats()
        return self

    def reset_stats(self) -> None:
        """Start counting afresh without reconnecting."""
        self.stats = LinkStats()

    def send(self, packets: Sequence[bytes]) -> None:
        """Write packets to the door; the door's notifications queue up for :meth:`receive`."""
        self._require_connected()
        max_packet = self._mtu - 3
        for packet in packets:
            if len(packet) > max_packet:
                raise ValueError(f"packet of {len(packet)} bytes exceeds the ATT MTU")
        self._carry(packets, to_door=True)
        replies: list[bytes] = []
        for packet in packets:
            replies.extend(self._door.on_packet(packet))
        self.stats.exchanges.append(([len(p) for p in packets], [len(p) for p in replies]))
        if replies:
            self._carry(replies, to_door=False)
            self._inbox.extend(replies)
            self.stats.round_trips += 1

    def receive(self) -> bytes:
        """The door's next notification."""
        self._require_connected()
        if not self._inbox:
            raise TransportError("link_timeout", "the door sent nothing")
        return self._inbox.popleft()

    def close(self) -> None:
        """Disconnect; the door forgets its session."""
        if self._connected:
            self._connected = False
            self._door.disconnect()

    def _require_connected(self) -> None:
        if not self._connected:
            raise TransportError("link_lost", "not connected")

    def _carry(self, packets: Sequence[bytes], *, to_door: bool) -> None:
        attempts = 0
        for packet in packets:
            tries = 1
            while self.loss_rate and self._loss.random() < self.loss_rate:
                tries += 1
                if tries > self._max_attempts:
                    self.close()
                    raise TransportError("link_lost", "supervision timeout")
            self.stats.retransmissions += tries - 1
            attempts += tries
            self.stats.air_bytes += tries * (len(packet) + LINK_LAYER_OVERHEAD_BYTES)
            if to_door:
                self.stats.packets_to_door += 1
                self.stats.payload_bytes_to_door += len(packet)
            else:
                self.stats.packets_to_phone += 1
                self.stats.payload_bytes_to_phone += len(packet)
        # A lost packet and everything after it wait for the next event; approximating the
        # retransmissions as extra slots keeps the model simple and monotone in loss.
        self.stats.connection_events += math.ceil(attempts / self.packets_per_event)
