"""Weekday time windows: "Monday 07:00-09:30 and 17:00-18:00, Tuesday ..." in a local time zone.

A window is a weekday (0 = Monday ... 6 = Sunday, as ``datetime.weekday()``) and a half-open
range of local wall-clock minutes ``[start, end)`` with ``0 <= start < end <= 1440`` (1440 means
24:00). A day may have several windows; windows on the same day must not overlap. A window that
crosses midnight is written as two windows (Mon 22:00-24:00 and Tue 00:00-06:00).

Windows are evaluated on the local wall clock of an IANA time zone, so "07:00" means 07:00 in
Copenhagen both in winter (UTC+1) and summer (UTC+2). On the spring-forward night wall times
02:00-02:59 do not exist; on the autumn night 02:00-02:59 occur twice and both count. The clock
tolerance widens each window by the tolerance on both edges, measured on the weekly wall clock
(so it wraps across midnight and from Sunday to Monday).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carekey.protocol.errors import ProtocolError

MINUTES_PER_DAY: Final = 1440
SECONDS_PER_WEEK: Final = 7 * 86400
GREGORIAN_CYCLE: Final = timedelta(days=146_097)
"""400 Gregorian years: a whole number of weeks, and the calendar (and so a zone's yearly rule)
repeats, so an instant and the same instant one cycle earlier fall on the same weekday and wall
clock."""
MAX_WINDOWS: Final = 28
_TZ_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
WEEKDAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True, order=True)
class TimeWindow:
    """One weekday window ``[start_minute, end_minute)`` of local wall-clock time."""

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ProtocolError("invalid_windows", f"weekday {self.weekday} not in 0-6")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ProtocolError(
                "invalid_windows",
                f"need 0 <= start < end <= 1440, got {self.start_minute}-{self.end_minute}",
            )

    @classmethod
    def of(cls, weekday: int, start: str, end: str) -> TimeWindow:
        """A window from ``"HH:MM"`` strings; ``end`` may be ``"24:00"``."""
        return cls(weekday, _parse_hhmm(start), _parse_hhmm(end))

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {_fmt(self.start_minute)}-{_fmt(self.end_minute)}"


def _parse_hhmm(text: str) -> int:
    match = _HHMM.match(text)
    if not match:
        raise ProtocolError("invalid_windows", f"time {text!r} is not HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ProtocolError("invalid_windows", f"time {text!r} out of range")
    return hours * 60 + minutes


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def normalize_windows(windows: Iterable[TimeWindow]) -> tuple[TimeWindow, ...]:
    """Sort windows and check them: at most ``MAX_WINDOWS``, no overlaps on the same day."""
    ordered = tuple(sorted(set(windows)))
    if len(ordered) > MAX_WINDOWS:
        raise ProtocolError("invalid_windows", f"more than {MAX_WINDOWS} windows")
    for before, after in itertools.pairwise(ordered):
        if before.weekday == after.weekday and after.start_minute < before.end_minute:
            raise ProtocolError("invalid_windows", f"{before} overlaps {after}")
    return ordered


def load_time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``Europe/Copenhagen``), or ``unknown_time_zone``."""
    if not _TZ_NAME.match(name) or len(name) > 64:
        raise ProtocolError("unknown_time_zone", name[:64])
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProtocolError("unknown_time_zone", name) from None


def is_within(
    windows: Iterable[TimeWindow],
    instant: datetime,
    tz: ZoneInfo,
    tolerance: timedelta = timedelta(0),
) -> bool:
    """Whether the aware ``instant``, read on the wall clock of ``tz``, falls in a window.

    Each window is widened by ``tolerance`` on both edges (on the weekly wall clock).
    """
    if instant.tzinfo is None:
        raise ProtocolError("invalid_argument", "instant must be timezone-aware")
    if instant.astimezone(UTC).year >= 9999:
        # The local wall clock of the last days of year 9999 may be past what ``datetime`` holds.
        instant -= GREGORIAN_CYCLE
    local = instant.astimezone(tz)
    t = local.weekday() * 86400 + local.hour * 3600 + local.minute * 60 + local.second
    slack = max(0, int(tolerance.total_seconds()))
    for window in windows:
        start = window.weekday * 86400 + window.start_minute * 60 - slack
        end = window.weekday * 86400 + window.end_minute * 60 + slack
        if end - start >= SECONDS_PER_WEEK:
            return True
        # Distance from the (widened) start, modulo a week, so windows wrap around Sunday.
        if (t - start) % SECONDS_PER_WEEK < end - start:
            return True
    return False


def encode_windows(windows: Iterable[TimeWindow]) -> list[list[int]]:
    """Compact wire form: ``[[weekday_mask, start_minute, end_minute], ...]``.

    Windows with the same minutes on several days share one entry; bit ``d`` of the mask is
    weekday ``d``. Entries are sorted by (start, end).
    """
    masks: dict[tuple[int, int], int] = {}
    for w in normalize_windows(windows):
        key = (w.start_minute, w.end_minute)
        masks[key] = masks.get(key, 0) | (1 << w.weekday)
    return [[mask, start, end] for (start, end), mask in sorted(masks.items())]


def decode_windows(raw: object) -> tuple[TimeWindow, ...]:
    """Parse the wire form of ``encode_windows``; anything unexpected is ``malformed``."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_WINDOWS:
        raise ProtocolError("malformed", "windows must be a non-empty list")
    out: list[TimeWindow] = []
    for entry in raw:
        if (
            not isinstance(entry, list)
            or len(entry) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in entry)
        ):
            raise ProtocolError("malformed", "window entry must be [mask, start, end]")
        mask, start, end = entry
        if not 0 < mask < 128:
            raise ProtocolError("malformed", "weekday mask out of range")
        try:
            out.extend(TimeWindow(d, start, end) for d in range(7) if mask >> d & 1)
        except ProtocolError:
            raise ProtocolError("malformed", "window minutes out of range") from None
    try:
        return normalize_windows(out)
    except ProtocolError:
        raise ProtocolError("malformed", "windows overlap or too many") from None
