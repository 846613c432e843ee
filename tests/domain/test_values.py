"""Value objects refuse malformed input with a stable code."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.clock import COPENHAGEN
from carekey.domain.errors import InvariantError
from carekey.domain.values import (
    TimeWindow,
    check_key_lifetime,
    check_time_windows,
    check_validity,
)


@pytest.mark.parametrize(
    ("weekday", "start", "end", "code"),
    [
        (7, 0, 60, "time_window.bad_weekday"),
        (-1, 0, 60, "time_window.bad_weekday"),
        (0, 420, 240, "time_window.empty"),
        (0, 240, 240, "time_window.empty"),
        (0, -10, 240, "time_window.out_of_day"),
        (0, 0, 1441, "time_window.out_of_day"),
        (0, 1440, 1440, "time_window.out_of_day"),
    ],
)
def test_malformed_time_windows_are_refused(weekday: int, start: int, end: int, code: str) -> None:
    with pytest.raises(InvariantError) as info:
        TimeWindow(weekday, start, end)
    assert info.value.code == code


def test_well_formed_windows_parse_and_contain_local_times() -> None:
    window = TimeWindow.parse(0, "04:00", "07:00")
    assert (window.start_minute, window.end_minute) == (240, 420)
    monday_0430 = dt.datetime(2026, 11, 23, 4, 30, tzinfo=COPENHAGEN)
    assert window.contains(monday_0430)
    assert not window.contains(monday_0430.replace(hour=7))  # the end is exclusive
    assert not window.contains(monday_0430 + dt.timedelta(days=1))
    assert str(window) == "mandag 04:00–07:00"
    assert TimeWindow.parse(6, "22:00", "24:00").end_minute == 1440


@pytest.mark.parametrize("text", ["4", "25:00:00", "ab:cd", "04:0"])
def test_bad_clock_text_is_refused(text: str) -> None:
    with pytest.raises(InvariantError):
        TimeWindow.parse(0, text, "07:00")


def test_several_windows_per_day_but_no_overlap() -> None:
    morning = TimeWindow.parse(2, "04:00", "07:00")
    noon = TimeWindow.parse(2, "11:00", "13:00")
    assert check_time_windows([noon, morning]) == (morning, noon)
    with pytest.raises(InvariantError) as info:
        check_time_windows([morning, TimeWindow.parse(2, "06:30", "08:00")])
    assert info.value.code == "time_window.overlap"
    # The same hours on another day do not overlap.
    check_time_windows([morning, TimeWindow.parse(3, "04:00", "07:00")])


def test_key_lifetime_is_at_most_nine_hours() -> None:
    assert check_key_lifetime(dt.timedelta(hours=9)) == dt.timedelta(hours=9)
    check_key_lifetime(dt.timedelta(hours=4))
    for bad in (dt.timedelta(hours=9, seconds=1), dt.timedelta(0), dt.timedelta(seconds=30)):
        with pytest.raises(InvariantError) as info:
            check_key_lifetime(bad)
        assert info.value.code == "key_lifetime.out_of_range"


def test_validity_periods_are_aware_and_not_empty() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    check_validity(start, None)
    check_validity(start, start + dt.timedelta(seconds=1))
    with pytest.raises(InvariantError):
        check_validity(start, start)
    with pytest.raises(InvariantError):
        check_validity(start.replace(tzinfo=None), None)
