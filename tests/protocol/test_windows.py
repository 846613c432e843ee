"""Weekday time windows on the local wall clock, including daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekey.protocol.credential import DoorKind, SubjectType, issue_credential, verify_credential
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DeviceKey, IssuerKey, IssuerKeyring
from carekey.protocol.windows import (
    TimeWindow,
    decode_windows,
    encode_windows,
    is_within,
    load_time_zone,
    normalize_windows,
)

CPH = ZoneInfo("Europe/Copenhagen")
SUNDAY = 6
# 2026: clocks go forward on Sunday 29 March (02:00 CET -> 03:00 CEST, at 01:00 UTC)
# and back on Sunday 25 October (03:00 CEST -> 02:00 CET, at 01:00 UTC).
SPRING = datetime(2026, 3, 29, tzinfo=UTC)
AUTUMN = datetime(2026, 10, 25, tzinfo=UTC)


def utc(day: datetime, hh: int, mm: int, ss: int = 0) -> datetime:
    return day.replace(hour=hh, minute=mm, second=ss)


def test_windows_follow_local_time_across_spring_forward() -> None:
    morning = [TimeWindow.of(SUNDAY, "07:00", "09:30")]
    # On the spring Sunday 07:00 local is 05:00 UTC (CEST); a week earlier it was 06:00 UTC.
    assert is_within(morning, utc(SPRING, 5, 0), CPH)
    assert not is_within(morning, utc(SPRING, 4, 59, 59), CPH)
    assert not is_within(morning, utc(SPRING, 7, 30), CPH)
    week_before = SPRING - timedelta(days=7)
    assert not is_within(morning, utc(week_before, 5, 0), CPH)
    assert is_within(morning, utc(week_before, 6, 0), CPH)


def test_window_inside_the_skipped_hour_never_matches() -> None:
    skipped = [TimeWindow.of(SUNDAY, "02:00", "03:00")]
    for minute in range(0, 24 * 60, 5):
        assert not is_within(skipped, SPRING + timedelta(minutes=minute), CPH)


def test_window_around_the_repeated_hour_counts_both_occurrences() -> None:
    repeated = [TimeWindow.of(SUNDAY, "02:00", "03:00")]
    assert is_within(repeated, utc(AUTUMN, 0, 30), CPH)  # 02:30 CEST
    assert is_within(repeated, utc(AUTUMN, 1, 30), CPH)  # 02:30 CET
    assert not is_within(repeated, utc(AUTUMN, 2, 0), CPH)  # 03:00 CET
    assert not is_within(repeated, utc(AUTUMN, 0, 0) - timedelta(seconds=1), CPH)  # 01:59:59


def test_several_windows_per_day_and_tolerance() -> None:
    day = [TimeWindow.of(0, "07:00", "08:00"), TimeWindow.of(0, "12:00", "12:30")]
    monday = datetime(2026, 6, 1, tzinfo=UTC)  # CEST, UTC+2
    assert is_within(day, utc(monday, 10, 15), CPH)
    assert not is_within(day, utc(monday, 9, 0), CPH)
    assert not is_within(day, utc(monday, 4, 59), CPH)
    assert is_within(day, utc(monday, 4, 59), CPH, timedelta(seconds=60))
    assert is_within(day, utc(monday, 10, 30, 59), CPH, timedelta(seconds=60))
    assert not is_within(day, utc(monday, 10, 31), CPH, timedelta(seconds=60))


def test_tolerance_wraps_from_sunday_night_to_monday_morning() -> None:
    monday_midnight = [TimeWindow.of(0, "00:00", "01:00")]
    sunday_late = datetime(2026, 6, 7, 21, 59, 30, tzinfo=UTC)  # Sunday 23:59:30 CEST
    assert not is_within(monday_midnight, sunday_late, CPH)
    assert is_within(monday_midnight, sunday_late, CPH, timedelta(seconds=60))


def test_well_formedness() -> None:
    with pytest.raises(ProtocolError):
        TimeWindow(7, 0, 60)
    with pytest.raises(ProtocolError):
        TimeWindow(0, 60, 60)
    with pytest.raises(ProtocolError):
        TimeWindow.of(0, "09:00", "24:01")
    with pytest.raises(ProtocolError):
        TimeWindow.of(0, "9:00", "10:00")
    with pytest.raises(ProtocolError) as caught:
        normalize_windows([TimeWindow.of(0, "07:00", "09:00"), TimeWindow.of(0, "08:59", "10:00")])
    assert caught.value.code == "invalid_windows"
    assert normalize_windows(
        [TimeWindow.of(0, "09:00", "10:00"), TimeWindow.of(0, "07:00", "09:00")]
    )
    assert str(TimeWindow.of(2, "22:00", "24:00")) == "Wed 22:00-24:00"


def test_unknown_or_hostile_time_zone_names_are_refused() -> None:
    for name in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "", "Europe/" + "x" * 80):
        with pytest.raises(ProtocolError) as caught:
            load_time_zone(name)
        assert caught.value.code == "unknown_time_zone"


window_lists = st.lists(
    st.builds(
        lambda d, a, b: TimeWindow(d, min(a, b), max(a, b) + 1),
        st.integers(0, 6),
        st.integers(0, 1439),
        st.integers(0, 1439),
    ),
    max_size=6,
)


@settings(max_examples=100, deadline=None)
@given(window_lists)
def test_wire_form_round_trips(windows: list[TimeWindow]) -> None:
    try:
        normal = normalize_windows(windows)
    except ProtocolError:
        return
    if normal:
        assert decode_windows(encode_windows(normal)) == normal


@pytest.mark.parametrize(
    "raw", [[], [[0, 0, 60]], [[128, 0, 60]], [[1, 60, 60]], [[1, 0, 1441]], [[1, 0]], "x"]
)
def test_malformed_wire_windows(raw: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_windows(raw)
    assert caught.value.code == "malformed"


def _windowed_credential(windows: list[TimeWindow], start: datetime) -> bytes:
    issuer = IssuerKey.from_seed("101", bytes(32))
    return issue_credential(
        issuer_key=issuer,
        subject="emp-1",
        subject_type=SubjectType.EMPLOYEE,
        device_key=DeviceKey.from_scalar(7).public,
        kinds=DoorKind.HOME,
        not_before=start,
        expires=start + timedelta(hours=9),
        serial=1,
        denylist_version=1,
        doors=[b"door"],
        windows=windows,
        time_zone="Europe/Copenhagen",
    )


def test_door_refuses_outside_the_window_on_dst_days() -> None:
    keyring = IssuerKeyring.of([IssuerKey.from_seed("101", bytes(32)).public])
    args: dict[str, Any] = {
        "keyring": keyring,
        "door_id": b"door",
        "door_kind": DoorKind.HOME,
        "clock_tolerance": timedelta(0),
    }
    spring = _windowed_credential([TimeWindow.of(SUNDAY, "07:00", "09:30")], SPRING)
    assert verify_credential(spring, now=utc(SPRING, 5, 0), **args)
    with pytest.raises(ProtocolError) as caught:
        verify_credential(spring, now=utc(SPRING, 6, 0) + timedelta(minutes=90), **args)
    assert caught.value.code == "outside_window"
    with pytest.raises(ProtocolError) as caught:
        verify_credential(spring, now=utc(SPRING, 4, 59, 59), **args)
    assert caught.value.code == "outside_window"

    autumn = _windowed_credential([TimeWindow.of(SUNDAY, "07:00", "09:30")], AUTUMN)
    assert verify_credential(autumn, now=utc(AUTUMN, 6, 0), **args)  # 07:00 CET
    with pytest.raises(ProtocolError) as caught:
        verify_credential(autumn, now=utc(AUTUMN, 5, 30), **args)  # 06:30 CET
    assert caught.value.code == "outside_window"
