"""An in-memory MQTT-like broker for the whole-day simulation and for tests.

:class:`MemoryBus` keeps what matters of MQTT for CareKey: topic filters with ``+`` and ``#``
(matched by paho's :func:`~paho.mqtt.client.topic_matches_sub`), retained messages (handed to a
new subscriber at once, an empty retained payload clears the topic), shared subscriptions
``$share/<group>/<filter>`` (each message reaches one member of the group, round robin) and last
wills (:meth:`MemoryBus.will`, published by :meth:`MemoryBus.drop`).

Delivery is immediate by default. With ``queued=True`` a publish only enqueues its deliveries;
the caller drains them with :meth:`MemoryBus.deliver_pending` (all, or those due at a simulated
time), which lets a simulation model the broker's latency and the order of arrival.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from paho.mqtt.client import topic_matches_sub

Callback = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class Message:
    """One message as the bus carries it."""

    topic: str
    payload: bytes
    retain: bool = False


@dataclass(slots=True)
class Subscription:
    """A subscriber's filter (``$share/...`` already split off into ``group``)."""

    id: int
    filter: str
    callback: Callback
    group: str | None = None


@dataclass(slots=True)
class _Group:
    members: list[Subscription] = field(default_factory=list)
    turn: int = 0


class MemoryBus:
    """A broker in one process; see the module docstring."""

    def __init__(self, *, queued: bool = False, latency_s: float = 0.0) -> None:
        self.queued = queued
        self.latency_s = latency_s
        self.retained: dict[str, bytes] = {}
        self.log: list[Message] = []
        """Every message published, in order (for tests)."""
        self._subs: dict[int, Subscription] = {}
        self._groups: dict[tuple[str, str], _Group] = {}
        self._ids = itertools.count(1)
        self._pending: deque[tuple[float, Subscription, Message]] = deque()
        self._wills: dict[object, Message] = {}
        self.now_s = 0.0
        """The simulated time of the last :meth:`deliver_pending` (queued mode)."""

    # --- publishing ---

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Publish (the signature a door's ``publish`` callable has)."""
        if "+" in topic or "#" in topic:
            raise ValueError("a topic name has no wildcards")
        message = Message(topic, bytes(payload), retain)
        self.log.append(message)
        if retain:
            if payload:
                self.retained[topic] = message.payload
            else:
                self.retained.pop(topic, None)
        for sub in self._targets(topic):
            self._deliver(sub, message)

    def _targets(self, topic: str) -> list[Subscription]:
        out: list[Subscription] = []
        seen_groups: set[tuple[str, str]] = set()
        for sub in list(self._subs.values()):
            if not _matches(sub.filter, topic):
                continue
            if sub.group is None:
                out.append(sub)
                continue
            key = (sub.group, sub.filter)
            if key in seen_groups:
                continue
            seen_groups.add(key)
            group = self._groups[key]
            member = group.members[group.turn % len(group.members)]
            group.turn += 1
            out.append(member)
        return out

    def _deliver(self, sub: Subscription, message: Message) -> None:
        if self.queued:
            self._pending.append((self.now_s + self.latency_s, sub, message))
        else:
            sub.callback(message.topic, message.payload)

    # --- subscribing ---

    def subscribe(self, topic_filter: str, callback: Callback) -> int:
        """Subscribe; returns an id for :meth:`unsubscribe`. Retained messages matching the
        filter are delivered now (not for a shared subscription, as in MQTT 5)."""
        group = None
        plain = topic_filter
        if topic_filter.startswith("$share/"):
            parts = topic_filter.split("/", 2)
            if len(parts) != 3 or not parts[1] or not parts[2]:
                raise ValueError(f"bad shared subscription {topic_filter!r}")
            group, plain = parts[1], parts[2]
        sub = Subscription(next(self._ids), plain, callback, group)
        self._subs[sub.id] = sub
        if group is not None:
            self._groups.setdefault((group, plain), _Group()).members.append(sub)
            return sub.id
        for topic, payload in list(self.retained.items()):
            if _matches(plain, topic):
                self._deliver(sub, Message(topic, payload, True))
        return sub.id

    def unsubscribe(self, sub_id: int) -> None:
        """Drop a subscription (and its queued deliveries)."""
        sub = self._subs.pop(sub_id, None)
        if sub is None:
            return
        if sub.group is not None:
            key = (sub.group, sub.filter)
            group = self._groups[key]
            group.members.remove(sub)
            if not group.members:
                del self._groups[key]
        self._pending = deque(p for p in self._pending if p[1] is not sub)

    # --- wills ---

    def will(self, client: object, topic: str, payload: bytes, *, retain: bool = True) -> None:
        """Register ``client``'s last will."""
        self._wills[client] = Message(topic, payload, retain)

    def disconnect(self, client: object) -> None:
        """A clean disconnect: the will is discarded."""
        self._wills.pop(client, None)

    def drop(self, client: object) -> None:
        """The client's connection broke: its will is published."""
        message = self._wills.pop(client, None)
        if message is not None:
            self.publish(message.topic, message.payload, message.retain)

    # --- queued delivery ---

    @property
    def pending(self) -> int:
        """Deliveries waiting in queued mode."""
        return len(self._pending)

    def deliver_pending(self, until_s: float | None = None) -> int:
        """Deliver queued messages (those due by ``until_s``, or all, including any that the
        deliveries publish in turn); return how many were delivered."""
        delivered = 0
        if until_s is not None:
            self.now_s = max(self.now_s, until_s)
        while self._pending:
            due, sub, message = self._pending[0]
            if until_s is not None and due > until_s:
                break
            self._pending.popleft()
            if sub.id in self._subs:
                sub.callback(message.topic, message.payload)
                delivered += 1
        return delivered


def _matches(topic_filter: str, topic: str) -> bool:
    # MQTT: a filter starting with a wildcard does not match topics beginning with "$".
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    return bool(topic_matches_sub(topic_filter, topic))
