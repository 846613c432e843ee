"""Value objects: small immutable things that are valid by construction."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from carekey.domain.errors import InvariantError
from carekey.protocol.credential import MAX_VALIDITY
from carekey.protocol.windows import MINUTES_PER_DAY

WEEKDAY_NAMES_DA = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


@dataclass(frozen=True, order=True)
class TimeWindow:
    """A weekly window in local time: ``weekday`` 0 = Monday, minutes since local midnight.

    A window never crosses midnight; a night window is written as two windows. ``end_minute`` may
    be 1440 to mean "until midnight".
    """

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        check_time_window(self.weekday, self.start_minute, self.end_minute)

    @classmethod
    def parse(cls, weekday: int, start: str, end: str) -> TimeWindow:
        """Build a window from ``"HH:MM"`` strings: ``TimeWindow.parse(0, "04:00", "07:00")``."""
        return cls(weekday, _parse_hhmm(start), _parse_hhmm(end))

    def contains(self, local_time: dt.datetime) -> bool:
        """Whether a local (Europe/Copenhagen or other zone) wall-clock time lies inside."""
        minute = local_time.hour * 60 + local_time.minute
        return (
            local_time.weekday() == self.weekday and self.start_minute <= minute < self.end_minute
        )

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES_DA[self.weekday]} {_fmt(self.start_minute)}–{_fmt(self.end_minute)}"


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _parse_hhmm(text: str) -> int:
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise InvariantError(
            "time_window.bad_time",
            f"Ugyldigt klokkeslæt {text!r}; skriv TT:MM",
            f"Invalid time {text!r}; write HH:MM",
        )
    return int(hours) * 60 + int(minutes)


def check_time_window(weekday: int, start_minute: int, end_minute: int) -> None:
    """A window is well-formed: a real weekday, inside one day, and not empty."""
    if not 0 <= weekday <= 6:
        raise InvariantError(
            "time_window.bad_weekday",
            f"Ugedag skal være 0–6 (mandag–søndag), ikke {weekday}",
            f"Weekday must be 0–6 (Monday–Sunday), not {weekday}",
        )
    if not (0 <= start_minute < MINUTES_PER_DAY and 0 < end_minute <= MINUTES_PER_DAY):
        raise InvariantError(
            "time_window.out_of_day",
            "Tidsvinduet skal ligge inden for ét døgn (00:00–24:00)",
            "The time window must lie within one day (00:00–24:00)",
        )
    if start_minute >= end_minute:
        raise InvariantError(
            "time_window.empty",
            "Tidsvinduets start skal ligge før slut",
            "The time window must start before it ends",
        )


def check_time_windows(windows: Iterable[TimeWindow]) -> tuple[TimeWindow, ...]:
    """Several windows per day are allowed, but they may not overlap. Returns them sorted."""
    ordered = tuple(sorted(windows))
    for earlier, later in itertools.pairwise(ordered):
        if earlier.weekday == later.weekday and later.start_minute < earlier.end_minute:
            raise InvariantError(
                "time_window.overlap",
                f"Tidsvinduerne {earlier} og {later} overlapper",
                f"The time windows {earlier} and {later} overlap",
            )
    return ordered


def check_key_lifetime(lifetime: dt.timedelta) -> dt.timedelta:
    """A key lives at least a minute and at most 9 hours; a municipality may choose less."""
    if not dt.timedelta(minutes=1) <= lifetime <= MAX_VALIDITY:
        raise InvariantError(
            "key_lifetime.out_of_range",
            "En nøgles levetid skal være mellem 1 minut og 9 timer",
            "A key's lifetime must be between 1 minute and 9 hours",
        )
    return lifetime


def check_validity(not_before: dt.datetime, not_after: dt.datetime | None) -> None:
    """A validity period has aware timestamps and does not end before it starts."""
    if not_before.tzinfo is None or (not_after is not None and not_after.tzinfo is None):
        raise InvariantError(
            "validity.naive_time",
            "Tidspunkter skal have tidszone",
            "Timestamps must carry a time zone",
        )
    if not_after is not None and not_after <= not_before:
        raise InvariantError(
            "validity.empty",
            "Gyldighedsperioden skal slutte efter den begynder",
            "The validity period must end after it begins",
        )


MAX_ID = 2**31 - 1  # ids are 32-bit in the schema


def ascii_number(text: str | None, *, maximum: int = MAX_ID) -> int | None:
    """A whole number written in ASCII digits only, from 0 to ``maximum``; else None.

    ``str.isdigit`` is true for "²", "③" and "٣" too, and ``int()`` reads "٣" as 3 (and fails on
    "²"): user input never reaches ``int()`` without this check."""
    if text is None:
        return None
    value = text.strip()
    if not value or len(value) > 12 or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= maximum else None


def ascii_id(text: str | None) -> int | None:
    """A database id (1 to 2**31 - 1) in ASCII digits, or None."""
    number = ascii_number(text)
    return number if number is not None and number >= 1 else None
