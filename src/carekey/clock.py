"""Injected clocks: code asks a ``Clock`` for the time so tests move time instead of sleeping."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

UTC = dt.UTC
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


class Clock(Protocol):
    """Anything that can tell the current time as a timezone-aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move the clock forward (or back, for tests of clock rollback) and return the new time."""
        self._now = self._now + delta
        return self._now

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = when.astimezone(UTC)


def utcnow() -> dt.datetime:
    """The current time in UTC, for code paths that are not worth injecting a clock into."""
    return dt.datetime.now(UTC)


def local(when: dt.datetime) -> dt.datetime:
    """Render a UTC instant in Europe/Copenhagen for people."""
    return when.astimezone(COPENHAGEN)
