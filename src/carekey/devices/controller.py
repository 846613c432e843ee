"""The entrance and gate controller: a relay pulse into the building's door-phone system.

It speaks exactly the same protocol as the home lock and makes the same decisions; only the
actuator differs. ``unlock`` closes the relay for ``relay_pulse_ms`` (the door-phone system's
"open" button), logged as RELAY_PULSE, after which the door is latched again by itself; ``lock``
releases a running pulse early. The controller is mains powered (no battery model) and is built
for an ``entrance`` (stairwell door) or a ``gate``: a credential must name that kind, and a
home-only credential does not open it, just as an entrance credential never opens a home lock.

The stairwell door has a door sensor: opened outside a relay pulse and not from inside (the exit
handle), it is a FORCED_OPEN alarm; standing open longer than ``ajar_after_s`` (a wedge in the
door) a DOOR_AJAR alarm (see :meth:`DoorFirmware.open_leaf`).

A controller also trusts the municipality's *partner issuer keys* (``flash.partner_keyring``,
:mod:`carekey.protocol.partner`): credentials they sign open it only when they are a partner's,
without rights, for entrances and gates (else ``partner_issuer_misuse``). A home lock never
holds one.
"""

from __future__ import annotations

from carekey.devices.firmware import DoorFirmware
from carekey.devices.hardware import DoorState
from carekey.protocol.credential import DoorKind
from carekey.protocol.events import EventKind
from carekey.protocol.keys import IssuerKeyring


class EntranceController(DoorFirmware):
    """A simulated relay module in a stairwell door or gate."""

    kind = DoorKind.ENTRANCE
    unlock_event = EventKind.RELAY_PULSE

    def _setup(self) -> None:
        if self.kind is DoorKind.HOME:
            raise ValueError("a controller serves an entrance or a gate, not a home door")
        self._release_at: float | None = None
        self.pulses = 0

    def _partner_keys(self) -> IssuerKeyring:
        """The partner issuer keys: credentials, and only credentials, are checked with them."""
        return self.flash.partner_keyring

    @property
    def relay_closed(self) -> bool:
        """Whether the relay is currently closed (the door-phone system is opening the door)."""
        self.tick()
        return self._release_at is not None

    def _timers(self) -> None:
        """Open the relay again when the pulse has run."""
        if self._release_at is not None and self.clock.uptime() >= self._release_at:
            self._release_at = None
            self.state = DoorState.LOCKED

    def _opening_allowed(self) -> bool:
        # Only while the door-phone system holds the door open (a relay pulse is running).
        return self.relay_closed

    def _actuate(self, *, unlock: bool) -> str | None:
        if unlock:
            self._drain_actuation()
            self.pulses += 1
            self._release_at = self.clock.uptime() + self.flash.config.relay_pulse_ms / 1000
            self.state = DoorState.UNLOCKED
        else:
            self._release_at = None
            self.state = DoorState.LOCKED
        return None
