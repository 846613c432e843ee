"""What a door keeps in flash, which survives power loss: keys, settings, counters and its log.

The signed event log is a hash chain (:class:`~carekey.protocol.events.EventChain`) of which at
most ``ring_size`` events are kept in a ring. :meth:`PersistentState.log` appends with the
eviction and overflow rule (refusals go first, the overflow marker is pinned until read);
:meth:`PersistentState.read_events` serves one READ_EVENTS page from the ring.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from carekey.devices.hardware import LeafAlarm
from carekey.protocol.credential import Credential
from carekey.protocol.denylist import DenylistState
from carekey.protocol.events import EventChain, EventKind, SignedEvent
from carekey.protocol.keys import DoorKey, IssuerKeyring
from carekey.protocol.partner import shared_kids

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
    refusal_share: float = 0.25
    """The share of the event ring that refusals may hold (64 of 256 slots); see
    :meth:`PersistentState.log`."""
    ajar_after_s: float = 120.0
    """How long the leaf may stand open before the door raises DOOR_AJAR (0 disables it)."""


def is_refusal(kind: EventKind, subject: str | None) -> bool:
    """Whether an event is a refusal, which anyone in radio range can cause: every REFUSED, and
    a RATE_LIMITED without an authenticated subject. Refusals are evicted before other events."""
    return kind is EventKind.REFUSED or (kind is EventKind.RATE_LIMITED and subject is None)


def _refusal(event: SignedEvent) -> bool:
    return is_refusal(event.event.kind, event.event.subject)


@dataclass(slots=True)
class PersistentState:
    """The door's flash: survives power loss."""

    keyring: IssuerKeyring
    chain: EventChain
    config: DoorConfig
    partner_keyring: IssuerKeyring = field(default_factory=IssuerKeyring)
    """Partner issuer keys (:mod:`carekey.protocol.partner`): only a controller holds any; no key
    id is in both keyrings."""
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
    leaf_open: bool = False
    """The door sensor's last reading: the leaf stands open."""
    leaf_alarm: LeafAlarm | None = None
    """The sensor's active alarm (forced open, ajar) until the leaf closes again."""
    subjects: OrderedDict[str, SubjectCounters] = field(default_factory=OrderedDict)
    decommissioned: bool = False
    """The door was taken out of service (DECOMMISSION, :mod:`carekey.devices.decommission`):
    its keyrings are empty and it trusts no issuer until it is provisioned again."""

    def __post_init__(self) -> None:
        if shared_kids(self.keyring, self.partner_keyring):
            raise ValueError("a key id cannot be in both the issuer and the partner keyring")

    @property
    def refusal_budget(self) -> int:
        """How many refusals the ring may hold: ``config.refusal_share`` of ``ring_size``, at
        least one."""
        share = min(1.0, max(0.0, self.config.refusal_share))
        return max(1, int(self.ring_size * share))

    def pinned_seq(self) -> int | None:
        """The seq of the overflow marker of the unread episode (pinned in the ring), if any."""
        if not self.overflow_noted:
            return None
        for event in reversed(self.ring):
            if event.event.kind is EventKind.LOG_OVERFLOW:
                return event.event.seq
        return None

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

        Eviction rule: the ring holds at most ``ring_size`` events, of which at most
        :attr:`refusal_budget` refusals (:func:`is_refusal`). A refusal only ever evicts the
        oldest refusal (when the ring holds no other refusal it is dropped itself), so nobody
        who cannot open the door can push other events out. Any other event evicts the oldest
        refusal if there is one, else the oldest event except the pinned overflow marker.
        ``events_dropped`` counts every evicted event. The chain and the sequence numbers are
        not affected: the server sees the evicted events as gaps in ``seq``.

        Overflow rule: the first eviction of an episode puts a LOG_OVERFLOW event (time
        ``now``) into the chain first. The marker is pinned (never evicted) and the episode
        lasts until a READ_EVENTS page returns it. If the marker itself would cost a non-refusal
        its slot on behalf of a refusal, it waits for the next eviction that can afford it.
        """
        subject = credential.subject if credential else None
        refusal = is_refusal(kind, subject)
        signed: list[SignedEvent] = []
        if not self.overflow_noted and self._marker_due(refusal):
            signed.append(self._append(door_key, EventKind.LOG_OVERFLOW, now, None, "log_overflow"))
            self.overflow_noted = True
        signed.append(self._append(door_key, kind, when, credential, reason, ref))
        return signed

    def _marker_due(self, refusal: bool) -> bool:
        """Whether the next event evicts one (an overflow episode begins) and a marker can be
        added without a refusal costing a non-refusal its place."""
        full = len(self.ring) >= self.ring_size
        if not refusal:
            return full
        refusals = sum(1 for event in self.ring if _refusal(event))
        if not full:
            return refusals >= self.refusal_budget
        return refusals > 0

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
        self._evict(refusal=_refusal(signed))
        return signed

    def _evict(self, *, refusal: bool) -> None:
        """Bring the ring back within ``ring_size`` and the refusal budget (see :meth:`log`)."""
        if len(self.ring) <= self.ring_size and not refusal:
            return
        refusals = sum(1 for event in self.ring if _refusal(event))
        budget = self.refusal_budget
        while len(self.ring) > self.ring_size or (refusal and refusals > budget):
            victim = next((i for i, e in enumerate(self.ring) if _refusal(e)), None)
            if victim is None:
                pinned = self.pinned_seq()
                victim = next((i for i, e in enumerate(self.ring) if e.event.seq != pinned), 0)
            else:
                refusals -= 1
            del self.ring[victim]
            self.events_dropped += 1

    def read_events(self, from_seq: int, limit: int) -> dict[str, object]:
        """One READ_EVENTS page: up to ``limit`` events from ``from_seq`` on, within
        :data:`EVENTS_PER_READ_BUDGET` bytes. A page that returns the pinned overflow marker
        ends the overflow episode."""
        pinned = self.pinned_seq()
        out: list[bytes] = []
        budget = EVENTS_PER_READ_BUDGET
        for event in self.ring:
            if event.event.seq < from_seq:
                continue
            if len(out) >= limit or len(event.raw) > budget:
                break
            out.append(event.raw)
            budget -= len(event.raw)
            if event.event.seq == pinned:
                pinned = None
        if pinned is None:
            self.overflow_noted = False
        first = self.ring[0].event.seq if self.ring else self.chain.next_seq
        return {
            "events": out,
            "first_seq": first,
            "next_seq": self.chain.next_seq,
            "events_dropped": self.events_dropped,
        }
