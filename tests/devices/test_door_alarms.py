"""Door states and alarms in the shape of the Matter Door Lock cluster: a door sensor on the
leaf raises FORCED_OPEN and DOOR_AJAR, closing ends them (DOOR_CLOSED), auto-relock waits for
the leaf, and the status byte says open, alarm and unknown. All of it survives power loss and
the state file."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.flash import DoorConfig
from carekey.devices.hardware import DoorState, LeafAlarm
from carekey.devices.homelock import HomeLock
from carekey.devices.statefile import DoorStateError, door_state, restore_door
from carekey.protocol.credential import DoorKind
from carekey.protocol.events import EventKind
from carekey.protocol.session import Command, StatusFlag
from carekey.sim.testbed import Phone, Testbed

from .conftest import START


def kinds(door: HomeLock | EntranceController) -> list[EventKind]:
    return [e.event.kind for e in door.events]


def test_a_leaf_opened_while_the_bolt_is_thrown_is_forced_open(lock: HomeLock) -> None:
    assert lock.state is DoorState.LOCKED
    lock.open_leaf()
    assert lock.leaf_alarm is LeafAlarm.FORCED_OPEN
    forced = lock.events[-1].event
    assert forced.kind is EventKind.FORCED_OPEN
    assert forced.time == START
    flags = lock.status().flags
    assert StatusFlag.DOOR_OPEN in flags
    assert StatusFlag.ALARM in flags


def test_opening_after_a_phone_unlocked_or_from_inside_is_no_alarm(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    assert bed.visit(phone, lock).ok
    lock.open_leaf()
    assert lock.leaf_alarm is None
    assert StatusFlag.DOOR_OPEN in lock.status().flags
    assert StatusFlag.ALARM not in lock.status().flags
    lock.close_leaf()
    # The citizen leaves: the thumb-turn from inside, then the leaf.
    bed.clock.advance(dt.timedelta(minutes=1))
    lock.tick()
    assert lock.state is DoorState.LOCKED  # auto-relocked after the visit
    lock.open_leaf(from_inside=True)
    assert lock.leaf_alarm is None
    assert EventKind.FORCED_OPEN not in kinds(lock)
    assert kinds(lock)[-1] is EventKind.MANUAL_TURN


def test_an_ordinary_visit_costs_no_sensor_events(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    assert bed.visit(phone, lock).ok
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(seconds=5))
    lock.close_leaf()
    bed.clock.advance(dt.timedelta(seconds=10))
    lock.tick()
    assert kinds(lock)[-2:] == [EventKind.UNLOCKED, EventKind.AUTO_RELOCKED]


def test_a_leaf_open_longer_than_the_limit_raises_one_ajar_at_the_time_it_was_due(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    assert bed.visit(phone, lock).ok
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(seconds=119))
    lock.tick()
    assert lock.leaf_alarm is None
    bed.clock.advance(dt.timedelta(minutes=30))
    lock.tick()
    lock.tick()
    assert lock.leaf_alarm is LeafAlarm.AJAR
    ajar = [e.event for e in lock.events if e.event.kind is EventKind.DOOR_AJAR]
    assert len(ajar) == 1
    assert ajar[0].time == START + dt.timedelta(seconds=120)
    assert StatusFlag.ALARM in lock.status().flags


def test_ajar_can_be_switched_off(bed: Testbed) -> None:
    lock = bed.home_lock(config=DoorConfig(ajar_after_s=0))
    lock.manual_turn(locked=False)
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(hours=2))
    lock.tick()
    assert lock.leaf_alarm is None
    assert EventKind.DOOR_AJAR not in kinds(lock)


def test_closing_the_leaf_ends_the_alarm(bed: Testbed, lock: HomeLock) -> None:
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(minutes=1))
    lock.close_leaf()
    closed = lock.events[-1].event
    assert closed.kind is EventKind.DOOR_CLOSED
    assert closed.reason == "alarm=forced_open"
    assert lock.leaf_alarm is None
    flags = lock.status().flags
    assert StatusFlag.ALARM not in flags
    assert StatusFlag.DOOR_OPEN not in flags


def test_auto_relock_waits_for_the_leaf_and_relocks_when_it_closes(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    assert bed.visit(phone, lock).ok
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(seconds=60))
    lock.tick()
    assert lock.state is DoorState.UNLOCKED  # the bolt would hit the frame
    assert EventKind.JAMMED not in kinds(lock)
    lock.close_leaf()
    assert lock.state is DoorState.LOCKED
    relock = lock.events[-1].event
    assert relock.kind is EventKind.AUTO_RELOCKED
    assert relock.time == START + dt.timedelta(seconds=60)  # when it could, not when due


def test_a_short_opening_does_not_relock_early(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    assert bed.visit(phone, lock).ok
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(seconds=3))
    lock.close_leaf()
    assert lock.state is DoorState.UNLOCKED
    bed.clock.advance(dt.timedelta(seconds=8))
    lock.tick()
    assert lock.events[-1].event.time == START + dt.timedelta(seconds=10)


def test_locking_with_the_leaf_open_jams(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    assert bed.visit(phone, lock).ok
    lock.open_leaf()
    result = bed.visit(phone, lock, Command.LOCK)
    assert result.response.result == "jammed"
    assert lock.state is DoorState.JAMMED
    assert StatusFlag.JAMMED in lock.status().flags


def test_the_stairwell_door_is_forced_open_outside_a_relay_pulse(bed: Testbed) -> None:
    entrance = bed.controller(b"entrance-12")
    phone = bed.phone()
    bed.credential(phone, entrance.door_id, kinds=[DoorKind.ENTRANCE])
    assert bed.visit(phone, entrance).ok
    entrance.open_leaf()  # while the door-phone system holds it open: fine
    assert entrance.leaf_alarm is None
    entrance.close_leaf()
    entrance.open_leaf(from_inside=True)  # the exit handle
    assert entrance.leaf_alarm is None
    entrance.close_leaf()
    bed.clock.advance(dt.timedelta(seconds=10))
    entrance.open_leaf()  # the pulse has run: somebody pulled it open
    assert entrance.leaf_alarm is LeafAlarm.FORCED_OPEN
    assert kinds(entrance)[-1] is EventKind.FORCED_OPEN


def test_a_brown_out_with_the_leaf_open_leaves_the_state_unknown(bed: Testbed) -> None:
    lock = bed.home_lock(config=DoorConfig(auto_relock_s=0))
    phone = bed.phone()
    bed.credential(phone, lock.door_id)
    lock.open_leaf(from_inside=True)
    lock.manual_turn(locked=True)
    lock.flash.actuating = "unlock"  # the power goes in the middle of an unlock
    lock.power_loss()
    restored = next(e.event for e in lock.events if e.event.kind is EventKind.POWER_RESTORED)
    assert restored.reason == "interrupted=unlock"
    assert lock.state is DoorState.UNKNOWN  # the relock waits for the leaf
    assert StatusFlag.STATE_UNKNOWN in lock.status().flags
    lock.close_leaf()
    assert lock.state is DoorState.LOCKED
    assert StatusFlag.STATE_UNKNOWN not in lock.status().flags


def test_the_leaf_and_its_alarm_survive_power_loss(bed: Testbed, lock: HomeLock) -> None:
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(seconds=30))
    lock.power_loss()
    assert lock.leaf_open
    assert lock.leaf_alarm is LeafAlarm.FORCED_OPEN
    assert StatusFlag.ALARM in lock.status().flags
    lock.close_leaf()
    assert lock.events[-1].event.kind is EventKind.DOOR_CLOSED


def test_the_leaf_alarm_and_the_ajar_limit_round_trip_through_the_state_file(
    bed: Testbed, lock: HomeLock
) -> None:
    lock.flash.config.ajar_after_s = 300
    lock.open_leaf()
    bed.clock.advance(dt.timedelta(seconds=200))
    copy = restore_door(door_state(lock), bed.clock)
    assert isinstance(copy, HomeLock)
    assert copy.flash.config.ajar_after_s == 300
    assert copy.leaf_open
    assert copy.leaf_alarm is LeafAlarm.FORCED_OPEN
    bed.clock.advance(dt.timedelta(seconds=99))
    copy.tick()
    assert copy.leaf_alarm is LeafAlarm.FORCED_OPEN  # 299 s open
    bed.clock.advance(dt.timedelta(seconds=2))
    copy.tick()
    assert copy.leaf_alarm is LeafAlarm.AJAR
    assert copy.events[-1].event.time == START + dt.timedelta(seconds=300)


def test_an_old_state_file_without_a_door_sensor_loads_closed(bed: Testbed, lock: HomeLock) -> None:
    state = door_state(lock)
    del state["leaf"]
    del state["config"]["ajar_after_s"]
    copy = restore_door(state, bed.clock)
    assert not copy.leaf_open
    assert copy.leaf_alarm is None
    assert copy.flash.config.ajar_after_s == DoorConfig().ajar_after_s


@pytest.mark.parametrize(
    "leaf",
    [
        {"open": "yes", "alarm": None, "open_for_s": None},
        {"open": True, "alarm": "burglar", "open_for_s": 1.0},
        {"open": False, "alarm": "ajar", "open_for_s": None},
        {"open": True, "alarm": None, "open_for_s": -1},
        {"open": False, "alarm": None, "open_for_s": 5},
    ],
)
def test_a_state_file_with_an_impossible_leaf_is_refused(
    bed: Testbed, lock: HomeLock, leaf: dict[str, object]
) -> None:
    state = door_state(lock)
    state["leaf"] = leaf
    with pytest.raises(DoorStateError):
        restore_door(state, bed.clock)


def test_a_state_file_with_a_negative_ajar_limit_is_refused(bed: Testbed, lock: HomeLock) -> None:
    state = door_state(lock)
    state["config"]["ajar_after_s"] = -1
    with pytest.raises(DoorStateError):
        restore_door(state, bed.clock)


def test_an_installer_configures_the_ajar_limit(bed: Testbed, lock: HomeLock) -> None:
    installer = bed.phone("installer-7")
    bed.credential(installer, lock.door_id, admin=True)
    result = bed.visit(installer, lock, Command.CONFIGURE, {"ajar_after_s": 600})
    assert result.ok
    assert lock.flash.config.ajar_after_s == 600
    assert lock.flash.config.auto_relock_s == 10  # the other settings stay
    status = bed.visit(installer, lock, Command.STATUS)
    assert status.response.data["ajar_after_s"] == 600


@pytest.mark.parametrize("value", [-1, 86_401, "60", True])
def test_an_out_of_range_ajar_limit_is_refused(bed: Testbed, lock: HomeLock, value: object) -> None:
    installer = bed.phone("installer-7")
    bed.credential(installer, lock.door_id, admin=True)
    result = bed.visit(installer, lock, Command.CONFIGURE, {"ajar_after_s": value})
    assert result.response.result == "invalid_argument"
    assert lock.flash.config.ajar_after_s == 120
