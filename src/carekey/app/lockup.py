"""Locking up without the code: the door the worker just opened, for the length of a visit.

The keys seal when the phone goes back in the pocket, so without this a visit costs the personal
code twice: at the door, and again to lock up when leaving. After a successful unlock the app
keeps that one door's presentation in memory (never on disk) for ``LOCK_UP_GRACE``, usable only
for ``lock``: locking up needs no code. A finder who picks the phone up in that time can lock
that door and nothing else through the app; the presentation still needs the phone's live proof
of freshness at the door like any other. Wipes, logout and expiry forget it at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from carekey.app.doorkeys import door_key
from carekey.clock import Clock
from carekey.link.driver import DoorEntry

LOCK_UP_GRACE: Final = dt.timedelta(minutes=90)


class LockUp:
    """The doors the worker opened and may lock again without the code."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._doors: dict[str, tuple[DoorEntry, dt.datetime]] = {}

    def opened(self, door_id: str, entry: DoorEntry) -> None:
        """The door opened: it may be locked again without the code for a while."""
        self._doors[door_key(door_id)] = (entry, self._clock.now() + LOCK_UP_GRACE)

    def entry(self, door_id: str) -> DoorEntry | None:
        """The door's presentation (``door_id`` in any case), while its grace lasts."""
        found = self._doors.get(door_key(door_id))
        if found is None:
            return None
        if self._clock.now() >= found[1]:
            del self._doors[door_key(door_id)]
            return None
        return found[0]

    def forget(self) -> None:
        """Keys wiped, expired or logged out: nothing may be locked without them."""
        self._doors.clear()


__all__ = ["LOCK_UP_GRACE", "LockUp"]
