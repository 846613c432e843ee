"""The door sensor: a contact on the door leaf, and the alarms it raises (Matter Door Lock
cluster: DoorForcedOpen, DoorAjar).

:class:`DoorSensor` is the part of :class:`~carekey.devices.firmware.DoorFirmware` that watches
the leaf; the firmware subclasses say when an opening is allowed (a home lock: the bolt is not
thrown; a controller: a relay pulse is running). The rules:

- a leaf opened when it may not be, and not from inside (the thumb-turn, the exit handle), is a
  FORCED_OPEN alarm;
- a leaf open longer than ``DoorConfig.ajar_after_s`` (0: off) raises one DOOR_AJAR, logged
  with the time it became due;
- closing the leaf ends an active alarm with DOOR_CLOSED (``alarm=…``). An ordinary opening is
  not logged, so a normal visit costs no extra events.

The reading and the active alarm are in flash (:class:`~carekey.devices.flash.PersistentState`
``leaf_open``, ``leaf_alarm``); how long the leaf has stood open is RAM (uptime).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from carekey.devices.hardware import DoorState, LeafAlarm
from carekey.protocol.events import EventKind
from carekey.protocol.session import StatusFlag

if TYPE_CHECKING:
    from carekey.devices.flash import PersistentState
    from carekey.devices.hardware import DoorClock
    from carekey.protocol.credential import Credential
    from carekey.protocol.events import SignedEvent


class DoorSensor:
    """The leaf's contact and its alarms, mixed into the door firmware."""

    if TYPE_CHECKING:
        flash: PersistentState
        clock: DoorClock
        state: DoorState

        def tick(self) -> None: ...

        def _log(
            self,
            kind: EventKind,
            *,
            credential: Credential | None = None,
            reason: str | None = None,
            ref: bytes | None = None,
            at: datetime | None = None,
        ) -> SignedEvent: ...

    _leaf_opened_at: float | None = None
    """Uptime when the sensor saw the leaf open (None: closed)."""

    @property
    def leaf_open(self) -> bool:
        """Whether the door sensor sees the leaf open."""
        return self.flash.leaf_open

    @property
    def leaf_alarm(self) -> LeafAlarm | None:
        """The door sensor's active alarm (forced open, ajar), if any."""
        self.tick()
        return self.flash.leaf_alarm

    def open_leaf(self, *, from_inside: bool = False) -> None:
        """Somebody opens the door leaf (the door sensor sees it).

        Opened while the door may not open (:meth:`_opening_allowed`: a locked bolt, a latched
        stairwell door without a relay pulse) and not ``from_inside`` (the thumb-turn or the exit
        handle), it is a FORCED_OPEN alarm. A leaf that stays open longer than
        ``config.ajar_after_s`` raises DOOR_AJAR (see :meth:`tick`).
        """
        self.tick()
        if self.flash.leaf_open:
            return
        if from_inside:
            self._open_from_inside()
        forced = not self._opening_allowed()
        self.flash.leaf_open = True
        self._leaf_opened_at = self.clock.uptime()
        if forced:
            self.flash.leaf_alarm = LeafAlarm.FORCED_OPEN
            self._log(EventKind.FORCED_OPEN, reason=f"state={self.state.value}")

    def close_leaf(self) -> None:
        """Somebody closes the door leaf. Only the end of an alarm is logged (DOOR_CLOSED, with
        the alarm it ends), so an ordinary visit costs no extra events."""
        self.tick()
        if not self.flash.leaf_open:
            return
        self.flash.leaf_open = False
        self._leaf_opened_at = None
        alarm = self.flash.leaf_alarm
        if alarm is not None:
            self.flash.leaf_alarm = None
            self._log(EventKind.DOOR_CLOSED, reason=f"alarm={alarm.value}")
        self._leaf_closed()

    def _opening_allowed(self) -> bool:
        """Whether the leaf may open now without an alarm. By default (a home lock) unless the
        bolt is thrown: jammed or unknown, it may not be, and a guess would be a false alarm."""
        return self.state is not DoorState.LOCKED

    def _open_from_inside(self) -> None:
        """Subclasses: what opening from inside does first (a home lock turns the bolt back)."""

    def _leaf_closed(self) -> None:
        """Subclasses: what the door does once its leaf is closed (a home lock relocks)."""

    def _check_ajar(self) -> None:
        """Raise DOOR_AJAR once per opening when the leaf has stood open ``ajar_after_s``; the
        event carries the time it became due, not the time somebody looked."""
        opened = self._leaf_opened_at
        limit = self.flash.config.ajar_after_s
        if opened is None or limit <= 0 or self.flash.leaf_alarm is LeafAlarm.AJAR:
            return
        due = opened + limit
        uptime = self.clock.uptime()
        if uptime < due:
            return
        self.flash.leaf_alarm = LeafAlarm.AJAR
        now = self.clock.now()
        at = None if now is None else now - timedelta(seconds=uptime - due)
        self._log(EventKind.DOOR_AJAR, reason=f"after_s={int(limit)}", at=at)

    def _sensor_flags(self) -> StatusFlag:
        """The sensor's part of the signed status: DOOR_OPEN, and ALARM while one is active."""
        flags = StatusFlag.NONE
        if self.flash.leaf_open:
            flags |= StatusFlag.DOOR_OPEN
        if self.flash.leaf_alarm is not None:
            flags |= StatusFlag.ALARM
        return flags
