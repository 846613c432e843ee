"""The home lock simulator: every command's happy path and the firmware's physical behaviour."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.flash import DoorConfig
from carekey.devices.hardware import Battery, DoorState
from carekey.devices.homelock import HomeLock
from carekey.devices.limits import FailureLimiter
from carekey.protocol.events import EventKind, verify_chain
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed
from tests.devices.conftest import START


def kinds(lock: HomeLock) -> list[EventKind]:
    return [e.event.kind for e in lock.events]


def test_unlock_gives_a_signed_receipt_bound_to_the_request(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert result.ok
    assert result.response.data == {"state": "unlocked"}
    assert lock.state is DoorState.UNLOCKED
    assert result.receipt is not None
    assert result.receipt.kind is EventKind.UNLOCKED
    assert result.receipt.subject == "mette"
    assert result.receipt.time == START
    assert lock.events[-1].raw == result.response.receipt


def test_lock_command(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    bed.visit(phone, lock, Command.UNLOCK)
    result = bed.visit(phone, lock, Command.LOCK)
    assert result.ok
    assert lock.state is DoorState.LOCKED
    assert result.receipt is not None
    assert result.receipt.kind is EventKind.LOCKED


def test_status_command(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    result = bed.visit(phone, lock, Command.STATUS)
    assert result.ok
    data = result.response.data
    assert data["state"] == "locked"
    assert data["time"] == int(START.timestamp())
    assert data["battery_low"] is False
    assert data["auto_relock_s"] == 10
    assert result.status.time_known


def test_read_events_returns_a_verifiable_chain(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    for _ in range(3):
        bed.visit(phone, lock, Command.UNLOCK)
        bed.visit(phone, lock, Command.LOCK)
    result = bed.visit(phone, lock, Command.READ_EVENTS, {"from_seq": 1, "limit": 50})
    assert result.ok
    events = result.response.data["events"]
    assert isinstance(events, list)
    assert len(events) == 6
    report = verify_chain(events, door_key=lock.door_key.public, door_id=lock.door_id)
    assert report.ok
    assert report.anchor is not None
    assert report.anchor.seq == 6


def test_time_sync_command_with_a_broadcast_token(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    bed.clock.advance(dt.timedelta(hours=2))
    phone.driver.time_tokens = None  # send it explicitly rather than as a piggyback
    result = bed.visit(phone, lock, Command.TIME_SYNC)
    assert result.response.result == "invalid_argument"  # no token: nothing to sync

    token = bed.time_token(lock.door_id)
    phone.driver.time_tokens = lambda door_id, nonce: token
    bed.clock.advance(dt.timedelta(days=2))  # the door now wants a sync
    bed.credential(phone, lock.door_id)  # today's key
    stale = bed.visit(phone, lock, Command.TIME_SYNC)
    assert stale.response.result == "stale_time_token"

    fresh = bed.time_token(lock.door_id)
    phone.driver.time_tokens = lambda door_id, nonce: fresh
    result = bed.visit(phone, lock, Command.TIME_SYNC)
    assert result.ok
    assert result.response.data["time"] == int(bed.clock.now().timestamp())
    assert EventKind.TIME_SET in kinds(lock)


def test_denylist_update_command(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    from carekey.protocol.denylist import DenylistEntry

    bed.block(DenylistEntry.for_subject("ali", START + dt.timedelta(hours=9)))
    result = bed.visit(phone, lock, Command.DENYLIST_UPDATE)
    assert result.ok
    assert result.response.data == {
        "denylist_version": 1,
        "denylist": {"version": 1, "held": [[0, 2**32]]},
    }
    assert lock.denylist.version == 1
    bed.block(DenylistEntry.for_subject("bo", START + dt.timedelta(hours=9)))
    assert bed.visit(phone, lock, Command.DENYLIST_UPDATE).ok  # a delta from version 1
    assert lock.denylist.version == 2
    assert len(lock.denylist) == 2


def test_configure_by_an_installer(bed: Testbed, lock: HomeLock) -> None:
    installer = bed.phone("installer-7")
    bed.credential(installer, lock.door_id, admin=True)
    result = bed.visit(installer, lock, Command.CONFIGURE, {"auto_relock_s": 30})
    assert result.ok
    assert lock.flash.config.auto_relock_s == 30
    assert result.receipt is not None
    assert result.receipt.kind is EventKind.CONFIG_CHANGED


def test_configure_rotates_issuer_keys(bed: Testbed, lock: HomeLock) -> None:
    from carekey.protocol.keys import IssuerKey

    installer = bed.phone("installer-7")
    bed.credential(installer, lock.door_id, admin=True)
    new_key = IssuerKey.generate("101")
    raw = new_key.public.key.raw
    assert bed.visit(installer, lock, Command.CONFIGURE, {"add_issuer_key": ["101", raw]}).ok
    assert new_key.kid in lock.flash.keyring.keys
    old_kid = bed.issuer_key.kid
    assert bed.visit(installer, lock, Command.CONFIGURE, {"retire_issuer_key": old_kid}).ok
    assert lock.flash.keyring.active == (new_key.public,)


def test_bad_configuration_is_refused(bed: Testbed, lock: HomeLock) -> None:
    installer = bed.phone("installer-7")
    bed.credential(installer, lock.door_id, admin=True)
    result = bed.visit(installer, lock, Command.CONFIGURE, {"auto_relock_s": -5})
    assert result.response.result == "invalid_argument"
    assert lock.flash.config.auto_relock_s == 10


def test_several_commands_in_one_session(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    result = bed.visit(
        phone, lock, Command.UNLOCK, then=((Command.STATUS, None), (Command.LOCK, None))
    )
    assert result.ok
    assert [r.ok for r in result.extra] == [True, True]
    assert result.extra[0].data["state"] == "unlocked"
    assert lock.state is DoorState.LOCKED
    assert bed.links[lock.door_id].stats.round_trips == 4


def test_auto_relock_after_the_configured_delay(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    bed.visit(phone, lock, Command.UNLOCK)
    bed.clock.advance(dt.timedelta(seconds=9))
    lock.tick()
    assert lock.state is DoorState.UNLOCKED
    bed.clock.advance(dt.timedelta(seconds=2))
    lock.tick()
    assert lock.state is DoorState.LOCKED
    relock = lock.events[-1].event
    assert relock.kind is EventKind.AUTO_RELOCKED
    assert relock.time == START + dt.timedelta(seconds=10)


def test_auto_relock_can_be_disabled(bed: Testbed) -> None:
    lock = bed.home_lock(config=DoorConfig(auto_relock_s=0))
    phone = bed.phone()
    bed.credential(phone, lock.door_id)
    bed.visit(phone, lock, Command.UNLOCK)
    bed.clock.advance(dt.timedelta(hours=1))
    lock.tick()
    assert lock.state is DoorState.UNLOCKED


def test_manual_turns_are_logged_and_do_not_start_auto_relock(bed: Testbed, lock: HomeLock) -> None:
    lock.manual_turn(locked=False)
    bed.clock.advance(dt.timedelta(minutes=5))
    lock.tick()
    assert lock.state is DoorState.UNLOCKED
    lock.manual_turn(locked=True)
    assert kinds(lock) == [EventKind.MANUAL_TURN, EventKind.MANUAL_TURN]
    assert [e.event.reason for e in lock.events] == ["unlocked", "locked"]
    assert lock.events[0].event.subject is None


def test_a_jammed_bolt_is_reported_and_retried(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    lock.obstruct()
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert result.response.result == "jammed"
    assert lock.state is DoorState.JAMMED
    assert EventKind.JAMMED in kinds(lock)
    status = bed.visit(phone, lock, Command.STATUS)
    assert status.response.data["state"] == "jammed"
    lock.obstruct(False)
    assert bed.visit(phone, lock, Command.UNLOCK).ok
    assert lock.state is DoorState.UNLOCKED


def test_battery_low_flag_and_reserve(bed: Testbed) -> None:
    lock = bed.home_lock()
    assert lock.battery is not None
    lock.battery.percent = 20.01
    phone = bed.phone()
    bed.credential(phone, lock.door_id)
    bed.visit(phone, lock, Command.UNLOCK)
    assert lock.battery.low
    assert EventKind.LOW_BATTERY in kinds(lock)
    status = bed.visit(phone, lock, Command.STATUS)
    assert status.status.flags & 0x04  # BATTERY_LOW in the signed hello
    assert bed.visit(phone, lock, Command.LOCK).ok
    lock.battery.percent = 2.0
    refused = bed.visit(phone, lock, Command.UNLOCK)
    assert refused.response.result == "battery_empty"
    assert lock.state is DoorState.LOCKED
    lock.manual_turn(locked=False)
    assert bed.visit(phone, lock, Command.LOCK).ok  # the reserve still locks


def test_each_actuation_drains_the_battery() -> None:
    battery = Battery(percent=50.0, per_actuation=0.5)
    battery.drain(battery.per_actuation)
    assert battery.percent == pytest.approx(49.5)


def test_clock_drift_in_ppm(bed: Testbed) -> None:
    lock = bed.home_lock(drift_ppm=20.0)
    bed.clock.advance(dt.timedelta(days=1))
    door_now = lock.clock.now()
    assert door_now is not None
    assert (door_now - bed.clock.now()).total_seconds() == pytest.approx(1.728, abs=0.01)


def test_power_loss_forgets_the_time_until_a_challenge_token(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    bed.visit(phone, lock, Command.UNLOCK)
    lock.power_loss()
    assert not lock.time_known
    # The relock that was due happens at power-up (it is kept in flash).
    assert lock.events[-2].event.kind is EventKind.POWER_RESTORED
    assert lock.events[-2].event.time is None
    assert lock.events[-1].event.kind is EventKind.AUTO_RELOCKED
    bed.clock.advance(dt.timedelta(minutes=3))
    result = bed.visit(phone, lock, Command.LOCK)  # the online phone brings a challenge token
    assert result.ok
    assert lock.time_known
    assert not result.status.time_known


def test_persistent_counters_survive_power_loss(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    bed.visit(phone, lock, Command.UNLOCK)
    seen = lock.flash.subjects["mette"]
    lock.power_loss()
    assert lock.flash.subjects["mette"] == seen
    assert lock.flash.chain.next_seq > 1


def test_event_ring_overflow_drops_the_oldest_and_says_so(bed: Testbed) -> None:
    lock = bed.home_lock(ring_size=8)
    for i in range(12):
        lock.manual_turn(locked=i % 2 == 1)
    assert len(lock.events) == 8
    assert lock.flash.events_dropped == 5  # 12 turns + 1 LOG_OVERFLOW marker - 8 kept
    assert EventKind.LOG_OVERFLOW in kinds(lock)
    phone = bed.phone()
    bed.credential(phone, lock.door_id)
    result = bed.visit(phone, lock, Command.READ_EVENTS, {"from_seq": 1})
    data = result.response.data
    assert data["events_dropped"] == 5
    assert data["first_seq"] == lock.events[0].event.seq
    events = data["events"]
    assert isinstance(events, list)
    report = verify_chain(events, door_key=lock.door_key.public, door_id=lock.door_id)
    assert report.gaps == ((1, 5),)  # the server sees exactly which events were evicted


def test_works_at_the_default_mtu_and_over_a_lossy_link(bed: Testbed) -> None:
    lock = bed.home_lock(mtu=23, loss_rate=0.2, seed=7)
    phone = bed.phone()
    bed.credential(phone, lock.door_id)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert result.ok
    stats = bed.links[lock.door_id].stats
    assert stats.round_trips == 2
    assert stats.retransmissions > 0
    assert stats.packets_to_door > 15  # the credential needs many 20-byte fragments


def test_failure_limiter_backs_off_exponentially_and_forgives() -> None:
    limiter = FailureLimiter(free_failures=2, base_lockout_s=1, max_lockout_s=8)
    assert not limiter.record_failure(0)
    assert not limiter.record_failure(0)
    assert limiter.record_failure(0)
    assert limiter.retry_after(0) == 1
    limiter.record_failure(1)
    assert limiter.retry_after(1) == 2
    for _ in range(10):
        limiter.record_failure(3)
    assert limiter.retry_after(3) == 8  # capped
    limiter.record_success()
    assert limiter.retry_after(3) == 0
    limiter.record_failure(10)
    assert limiter.failures == 1
    assert limiter.record_failure(10 + 601) is False  # decayed: counting starts again


def test_the_simulator_implements_the_device_interfaces(bed: Testbed, lock: HomeLock) -> None:
    from carekey.link.transport import DoorPeripheral, Transport

    assert isinstance(lock, DoorPeripheral)
    assert isinstance(bed.links[lock.door_id], Transport)
