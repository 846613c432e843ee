"""The connection status the app shows: what the server's answers said, not a guess.

Every request to the server reports its outcome here (:class:`~carekey.app.client.ServerClient`
calls its ``observer``): an answer (any HTTP answer but a 5xx: a refusal is an answer too) or
no answer (no network, a timeout, 502/503/504 or another server error, an unreadable answer).
The status is then

- **online** while the last request was answered and that answer is at most
  :data:`ONLINE_FOR` old;
- **offline** when the last request went unanswered;
- **unknown** before any request, and again once the last answer is older than
  :data:`ONLINE_FOR` with nothing asked since (the app says when it last heard from the server).

The times are kept in the app's state file, so a new run of ``carekey app status --offline``
shows what the last run learned, and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

from carekey.clock import Clock

ONLINE_FOR: Final = dt.timedelta(minutes=2)
"""An answer counts as "online" this long (the app checks in every minute while it runs)."""


class Connection:
    """The outcomes of the app's requests to the server."""

    def __init__(
        self,
        clock: Clock,
        *,
        answered_at: str | None,
        unanswered_at: str | None,
        last_answered: bool | None,
        changed: Callable[[], None],
    ) -> None:
        """``answered_at`` / ``unanswered_at``: ISO times from the state file, ``last_answered``
        whether the last request was answered; ``changed`` is called when the status turns
        (to persist it)."""
        self._clock = clock
        self.answered_at = dt.datetime.fromisoformat(answered_at) if answered_at else None
        self.unanswered_at = dt.datetime.fromisoformat(unanswered_at) if unanswered_at else None
        self.last_answered = last_answered
        self._changed = changed
        self.in_run: bool | None = None
        """The outcome of the last request in this run (None: none yet)."""

    def record(self, answered: bool) -> None:
        """A request was answered (``True``) or not (``False``)."""
        before = self.online()
        now = self._clock.now()
        if answered:
            self.answered_at = now
        else:
            self.unanswered_at = now
        self.last_answered = self.in_run = answered
        if self.online() != before:
            self._changed()

    def online(self) -> bool | None:
        """True: online; False: offline; None: unknown (never asked, or not for a while)."""
        if self.last_answered is False:
            return False
        answered = self.answered_at
        if not self.last_answered or answered is None:
            return None
        if self._clock.now() - answered > ONLINE_FOR:
            return None
        return True


__all__ = ["ONLINE_FOR", "Connection"]
