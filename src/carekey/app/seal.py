"""When the opened keys are sealed again: after ``seal_after_s`` seconds without use.

Once the personal code has opened the wallet, the decrypted keys (and the code, to re-encrypt a
refreshed bundle) stay in memory only while the employee uses them: opening or locking a door,
listing the doors. After ``policy.seal_after_s`` seconds (default 180) without use, or at once
when the app goes to the background or the phone locks, the app forgets them (it *seals* the
keys), so a phone found on a bench opens nothing without the code.
"""

from __future__ import annotations

import datetime as dt

from carekey.clock import Clock


class IdleSeal:
    """The time of the last use of the opened keys."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.last_use: dt.datetime | None = None

    def touch(self) -> None:
        """The keys were used now."""
        self.last_use = self._clock.now()

    def clear(self) -> None:
        """The keys are sealed: nothing to time any more."""
        self.last_use = None

    def due(self, seal_after_s: int) -> bool:
        """The keys have gone unused for ``seal_after_s`` seconds."""
        if self.last_use is None:
            return False
        return self._clock.now() - self.last_use >= dt.timedelta(seconds=seal_after_s)


__all__ = ["IdleSeal"]
