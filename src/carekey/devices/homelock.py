"""The home lock: a battery-powered motor that turns the thumb-turn inside the citizen's door.

Behaviour on top of :class:`~carekey.devices.firmware.DoorFirmware`:

- states ``locked`` / ``unlocked`` / ``jammed``. The motor jams when the bolt is obstructed
  (door not closed, bolt binding); the lock reports ``jammed`` to the phone, logs a JAMMED
  event, and tries again on the next command or auto-relock;
- **auto-relock**: after a phone unlocks, the lock turns back ``auto_relock_s`` seconds later
  (0 disables it, configurable by an installer) and logs AUTO_RELOCKED. A manual unlock from
  inside does not start the timer: the citizen decides;
- **manual turns** with the citizen's own key or the thumb-turn move the bolt and are logged as
  MANUAL_TURN events (no credential), so "who has been in my home" includes them;
- **battery**: each motor turn and each radio session drains it; at 20 % the low-battery flag is
  raised (status byte, one LOW_BATTERY event); at the 3 % reserve it refuses to unlock
  (``battery_empty``) but still locks;
- **power loss**: the time is lost until a phone brings a challenge-bound time token; the flash
  (event log, counters, denylist, issuer keys, settings, the write-ahead of the bolt and a
  pending auto-relock) survives. A relock that was due, or a movement the power cut off
  (state ``unknown``), makes the lock turn to locked at power-up (AUTO_RELOCKED);
- **door sensor** (:meth:`open_leaf`, :meth:`close_leaf`): a leaf opened while the bolt is
  thrown, other than from inside with the thumb-turn, is a FORCED_OPEN alarm; a leaf open longer
  than ``ajar_after_s`` a DOOR_AJAR alarm; closing ends the alarm (DOOR_CLOSED). Auto-relock
  waits while the leaf is open and relocks when it closes; a phone's LOCK with the leaf open jams;
- **no partner issuer key**: a home lock checks credentials with its issuer keyring only, so a
  partner's key (:mod:`carekey.protocol.partner`) is ``unknown_issuer_key`` here whatever it
  claims; it refuses to be built with a partner keyring and CONFIGURE refuses partner keys
  (``not_supported``);
- **brown-out** (``brown_out_next_turn``, for tests): the motor current cuts the power right
  after the bolt moved and before the outcome is logged: the write-ahead finds it.
"""

from __future__ import annotations

from datetime import timedelta

from carekey.devices.firmware import DoorFirmware, PowerCut
from carekey.devices.hardware import DoorState
from carekey.protocol.credential import DoorKind
from carekey.protocol.events import EventKind


class HomeLock(DoorFirmware):
    """A simulated motor turner on a citizen's front door."""

    kind = DoorKind.HOME
    has_battery = True

    def _setup(self) -> None:
        if self.kind is not DoorKind.HOME:
            raise ValueError("a home lock is a home door")
        if self.flash.partner_keyring.keys:
            raise ValueError("a home lock never trusts a partner issuer key")
        self._obstructed = False
        self._relock_at: float | None = None
        self.brown_out_next_turn = False

    # --- the physical world, for tests and the simulation ---

    def obstruct(self, obstructed: bool = True) -> None:
        """Make the next motor turns jam (True) or run freely again (False)."""
        self._obstructed = obstructed

    def manual_turn(self, *, locked: bool) -> None:
        """The citizen turns the bolt by hand or with their own key."""
        self.tick()
        self.state = DoorState.LOCKED if locked else DoorState.UNLOCKED
        self._relock_at = None
        self.flash.relock_pending = False
        self._log(EventKind.MANUAL_TURN, reason="locked" if locked else "unlocked")

    def _timers(self) -> None:
        """Run the auto-relock if it is due and the leaf is closed (the bolt would hit the
        frame: the lock waits and relocks when the leaf closes)."""
        due = self._relock_at
        if due is None or self.clock.uptime() < due or self.flash.leaf_open:
            return
        self._relock_at = None
        self.flash.relock_pending = False
        now = self.clock.now()
        at = None if now is None else now - timedelta(seconds=self.clock.uptime() - due)
        if self._turn(locked=True):
            self._log(EventKind.AUTO_RELOCKED, at=at)

    def _power_restored(self) -> None:
        # A relock that was due, or a movement cut off (unknown state): lock now, at power-up,
        # or once the leaf is closed if it stands open.
        if self.flash.leaf_open and (self.flash.relock_pending or self.state is DoorState.UNKNOWN):
            self._relock_at = 0.0
            self.flash.relock_pending = True
            return
        if self.flash.relock_pending or self.state is DoorState.UNKNOWN:
            self._relock_at = None
            self.flash.relock_pending = False
            if self._turn(locked=True):
                self._log(EventKind.AUTO_RELOCKED)

    # --- firmware hooks ---

    def _open_from_inside(self) -> None:
        if self.state is DoorState.LOCKED:
            self.manual_turn(locked=False)

    def _leaf_closed(self) -> None:
        uptime = self.clock.uptime()
        if self._relock_at is not None and self._relock_at <= uptime:
            # Overdue while the leaf stood open: relock now, logged at the time it closed.
            self._relock_at = uptime
            self._timers()

    def _actuate(self, *, unlock: bool) -> str | None:
        if not self._turn(locked=not unlock):
            return "jammed"
        auto = self.flash.config.auto_relock_s
        self._relock_at = self.clock.uptime() + auto if unlock and auto > 0 else None
        self.flash.relock_pending = self._relock_at is not None
        return None

    def _turn(self, *, locked: bool) -> bool:
        target = DoorState.LOCKED if locked else DoorState.UNLOCKED
        if self.state is target:
            return True
        self._drain_actuation()
        # With the leaf open, a thrown bolt hits the frame: the motor jams as when obstructed.
        if self._obstructed or (locked and self.flash.leaf_open):
            self.state = DoorState.JAMMED
            self._relock_at = None
            self._log(EventKind.JAMMED)
            return False
        self.state = target
        if self.brown_out_next_turn:
            self.brown_out_next_turn = False
            raise PowerCut
        return True
