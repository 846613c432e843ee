"""The door through power loss: every movement of the bolt is accounted for, a pending
auto-relock survives, and locking is always allowed, with or without known time. And who may
read a door's log, per credential kind."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.hardware import DoorState
from carekey.devices.homelock import HomeLock
from carekey.devices.statefile import door_state, restore_door
from carekey.link.transport import TransportError
from carekey.protocol.credential import DoorKind, SubjectType
from carekey.protocol.events import EventKind
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed


def kinds(lock: HomeLock) -> list[EventKind]:
    return [e.event.kind for e in lock.events]


def test_a_brown_out_between_the_bolt_and_the_event_is_found_at_power_up(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    lock.brown_out_next_turn = True
    with pytest.raises(TransportError):  # no answer, no receipt: the link dies
        bed.visit(phone, lock)
    assert EventKind.UNLOCKED not in kinds(lock)  # the outcome was never written...
    restored = next(e.event for e in lock.events if e.event.kind is EventKind.POWER_RESTORED)
    assert restored.reason == "interrupted=unlock"  # ...but the intent was, and is logged
    assert lock.flash.actuating is None
    # The door does not guess where the bolt is: it turns it to locked at power-up.
    assert lock.events[-1].event.kind is EventKind.AUTO_RELOCKED
    assert lock.state is DoorState.LOCKED


def test_a_pending_auto_relock_survives_a_power_loss(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    assert bed.visit(phone, lock).ok
    assert lock.state is DoorState.UNLOCKED
    bed.clock.advance(dt.timedelta(seconds=3))  # 3 s later the battery is knocked out
    lock.power_loss()
    assert lock.state is DoorState.LOCKED
    assert lock.events[-1].event.kind is EventKind.AUTO_RELOCKED
    bed.clock.advance(dt.timedelta(hours=3))
    lock.tick()
    assert lock.state is DoorState.LOCKED


def test_the_write_ahead_and_the_pending_relock_are_in_the_state_file(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    assert bed.visit(phone, lock).ok
    lock.flash.actuating = "unlock"  # as if the power went now
    copy = restore_door(door_state(lock), bed.clock)
    assert copy.flash.relock_pending
    assert copy.flash.actuating == "unlock"


def test_an_offline_phone_can_lock_a_door_that_lost_its_time_but_not_open_it(
    bed: Testbed, lock: HomeLock
) -> None:
    offline = bed.phone("offline", online=False)
    bed.credential(offline, lock.door_id)
    lock.manual_turn(locked=False)  # the citizen opened from inside
    lock.power_loss()
    assert not lock.time_known
    locked = bed.visit(offline, lock, Command.LOCK)
    assert locked.ok, locked.response.result
    assert lock.state is DoorState.LOCKED
    assert lock.events[-1].event.kind is EventKind.LOCKED
    assert lock.events[-1].event.time is None
    assert bed.visit(offline, lock, Command.UNLOCK).response.result == "time_unknown"


@pytest.mark.parametrize(
    ("who", "may_read"),
    [("care_worker", True), ("installer", True), ("partner", False)],
)
def test_who_may_read_a_doors_log_configure_it_and_bring_its_time(
    bed: Testbed, who: str, may_read: bool
) -> None:
    entrance = bed.controller(b"entrance-0009")
    phone = bed.phone(who)
    bed.credential(
        phone,
        entrance.door_id,
        kinds=[DoorKind.ENTRANCE],
        subject_type=SubjectType.PARTNER if who == "partner" else SubjectType.EMPLOYEE,
        admin=who == "installer",
    )
    assert bed.visit(phone, entrance).ok  # everyone here may open the stairwell door
    result = bed.visit(phone, entrance, Command.READ_EVENTS)
    if may_read:
        assert result.ok
        assert result.response.data["events"]
    else:
        assert result.response.result == "not_permitted"
        assert entrance.events[-1].event.reason == "not_permitted"
    configure = bed.visit(phone, entrance, Command.CONFIGURE, {"relay_pulse_ms": 500})
    assert configure.ok is (who == "installer")
    # The time is the issuer's, bound to the door's challenge: any authenticated key carries it,
    # none sets a time of its own (no token: nothing to set).
    bed.clock.advance(dt.timedelta(minutes=1))
    entrance.power_loss()  # the door wants its time
    phone.driver.time_tokens = lambda door_id, nonce: bed.time_token(door_id, nonce)
    assert bed.visit(phone, entrance, Command.TIME_SYNC).ok
    phone.driver.time_tokens = None
    assert bed.visit(phone, entrance, Command.TIME_SYNC).response.result == "invalid_argument"
