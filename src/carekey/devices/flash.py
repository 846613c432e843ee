"""What a door keeps in flash, which survives power loss: keys, settings, counters and its log.

The signed event log is a hash chain (:class:`~carekey.protocol.events.EventChain`) whose newest
``ring_size`` events are kept in a ring. :meth:`PersistentState.log` appends with the overflow
rule; :meth:`PersistentState.read_events` serves one READ_EVENTS page from the ring.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from carekey.protocol.credential import Credential
from carekey.protocol.denylist import DenylistState
from carekey.protocol.events import EventChain, EventKind, SignedEvent
from carekey.protocol.keys import DoorKey, IssuerKeyring

EVENTS_PER_READ_BUDGET: Final = 3000
"""Bytes of signed events one READ_EVENTS answer may carry (the message limit is 4096)."""


@dataclass(slots=True)
class SubjectCounters:
    """The highest credential serial and use counter accepted from one subject."""

    serial: int
    counter: int


@dataclass(slots=True)
class DoorConfig:
    """Settings an installer may change with the CONFIGURE command."""

    auto_relock_s: float = 10.0
    relay_pulse_ms: int = 3000


@dataclass(slots=True)
class PersistentState:
    """The door's flash: survives power loss."""

    keyring: IssuerKeyring
    chain: EventChain
    config: DoorConfig
    ring_size: int = 256
    ring: deque[SignedEvent] = field(default_factory=deque)
    events_dropped: int = 0
    overflow_noted: bool = False
    denylist: DenylistState = field(default_factory=DenylistState)
    last_token_time: datetime | None = None
    actuating: str | None = None
    """Write-ahead for the bolt: ``unlock``/``lock`` is written before the motor turns and
    cleared once the outcome is logged, so a power cut in between is found and logged."""
    relock_pending: bool = False
    """An auto-relock is due (kept across power loss: the lock relocks on power-up)."""
    subjects: OrderedDict[str, SubjectCounters] = field(default_factory=OrderedDict)

    def log(
        self,
        door_key: DoorKey,
        kind: EventKind,
        *,
        when: datetime | None,
        now: datetime | None,
        credential: Credential | None = None,
        reason: str | None = None,
        ref: bytes | None = None,
    ) -> list[SignedEvent]:
        """Append a signed event (time ``when``) to the chain and the ring; return the events
        signed, the requested one last.

        Overflow rule: the ring keeps the newest ``ring_size`` events. When full, the oldest is
        evicted (it was either uploaded already or is lost), ``events_dropped`` counts it, and
        once per overflow episode (until the next READ_EVENTS) a LOG_OVERFLOW event (time
        ``now``) goes into the chain first, so the server can tell an eviction gap from
        tampering.
        """
        signed: list[SignedEvent] = []
        if len(self.ring) >= self.ring_size and not self.overflow_noted:
            self.overflow_noted = True
            signed.append(self._append(door_key, EventKind.LOG_OVERFLOW, now, None, "log_overflow"))
        signed.append(self._append(door_key, kind, when, credential, reason, ref))
        return signed

    def _append(
        self,
        door_key: DoorKey,
        kind: EventKind,
        when: datetime | None,
        credential: Credential | None,
        reason: str | None,
        ref: bytes | None = None,
    ) -> SignedEvent:
        signed, self.chain = self.chain.append(
            door_key,
            kind=kind,
            time=when,
            credential_id=credential.credential_id if credential else None,
            subject=credential.subject if credential else None,
            reason=reason,
            ref=ref,
        )
        self.ring.append(signed)
        while len(self.ring) > self.ring_size:
            self.ring.popleft()
            self.events_dropped += 1
        return signed

    def read_events(self, from_seq: int, limit: int) -> dict[str, object]:
        """One READ_EVENTS page: up to ``limit`` events from ``from_seq`` on, within
        :data:`EVENTS_PER_READ_BUDGET` bytes. Reading ends the overflow episode."""
        out: list[bytes] = []
        budget = EVENTS_PER_READ_BUDGET
        for event in self.ring:
            if event.event.seq < from_seq:
                continue
            if len(out) >= limit or len(event.raw) > budget:
                break
            out.append(event.raw)
            budget -= len(event.raw)
        self.overflow_noted = False
        first = self.ring[0].event.seq if self.ring else self.chain.next_seq
        return {
            "events": out,
            "first_seq": first,
            "next_seq": self.chain.next_seq,
            "events_dropped": self.events_dropped,
        }
