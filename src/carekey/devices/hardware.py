"""The door's hardware as the firmware sees it: the crystal, the battery pack and the bolt.

Nothing here speaks the protocol. :class:`DoorClock` is set only by verified time tokens (the
firmware does that), :class:`Battery` drains per motor turn and per radio session,
:class:`DoorState` is what the bolt (home lock) or the door (controller) is doing, and
:class:`LeafAlarm` is what the door sensor (a reed contact on the leaf) has raised.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from carekey.clock import Clock

END_OF_TIME = datetime.max.replace(tzinfo=UTC)
"""The last instant a door's clock shows (9999-12-31T23:59:59.999999Z)."""


class DoorClock:
    """The door's crystal: a wall clock set only by time tokens, and an uptime counter.

    Both run ``drift_ppm`` fast (negative: slow) against the true time, which the simulator
    reads from an injected :class:`~carekey.clock.Clock`. After power loss the wall time is
    unknown (``now()`` is None) until a time token arrives; uptime restarts at zero.
    """

    def __init__(self, true_clock: Clock, *, drift_ppm: float = 0.0) -> None:
        self._true = true_clock
        self.drift_ppm = drift_ppm
        self._boot = true_clock.now()
        self._anchor: tuple[datetime, datetime] | None = None  # (true time, door time)

    @property
    def true_clock(self) -> Clock:
        """The simulator's injected clock, which the crystal runs against (for the state file,
        which stores the wall time as an offset from it)."""
        return self._true

    def _scaled(self, since: datetime) -> timedelta:
        return (self._true.now() - since) * (1.0 + self.drift_ppm * 1e-6)

    def now(self) -> datetime | None:
        """The door's idea of the current UTC time, or None when unknown. The crystal stops at
        the last instant of year 9999 rather than run past what ``datetime`` holds."""
        if self._anchor is None:
            return None
        true_at, door_at = self._anchor
        elapsed = self._scaled(true_at)
        if elapsed > END_OF_TIME - door_at:
            return END_OF_TIME
        return door_at + elapsed

    def set(self, when: datetime) -> None:
        """Set the wall clock (from a verified time token)."""
        self._anchor = (self._true.now(), when)

    def uptime(self) -> float:
        """Seconds since power-on, by the door's own crystal."""
        return self._scaled(self._boot).total_seconds()

    def power_loss(self) -> None:
        """The battery was out: the wall time is lost and uptime restarts."""
        self._anchor = None
        self._boot = self._true.now()


@dataclass(slots=True)
class Battery:
    """A battery pack in percent, drained per motor actuation and per radio session.

    ``low_percent``: the door raises the low-battery flag (status byte and one LOW_BATTERY event)
    so the office can send someone. ``reserve_percent``: below it the door refuses to *unlock*
    (``battery_empty``) but still locks, so the last energy is spent leaving the home locked.
    """

    percent: float = 100.0
    per_actuation: float = 0.015
    per_session: float = 0.001
    low_percent: float = 20.0
    reserve_percent: float = 3.0

    @property
    def low(self) -> bool:
        """At or below the low-battery threshold."""
        return self.percent <= self.low_percent

    @property
    def in_reserve(self) -> bool:
        """Too low to unlock."""
        return self.percent <= self.reserve_percent

    def drain(self, amount: float) -> None:
        """Spend ``amount`` percent."""
        self.percent = max(0.0, self.percent - amount)


class DoorState(enum.StrEnum):
    """The bolt (home lock) or the door (controller) as the firmware knows it."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    JAMMED = "jammed"
    UNKNOWN = "unknown"  # a movement was cut off by a power loss: the door does not guess


class LeafAlarm(enum.StrEnum):
    """An alarm the door sensor raised, active until the leaf is closed again (Matter DoorLock
    alarm codes DoorForcedOpen and DoorAjar)."""

    FORCED_OPEN = "forced_open"  # the leaf opened while the door was locked
    AJAR = "ajar"  # the leaf stood open longer than ``DoorConfig.ajar_after_s``
