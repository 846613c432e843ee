"""The door's clock against wrong servers and hostile peers: a plausibility bound on one token,
a recovery path bound to the door's own challenge, and nothing a peer carries is applied before
it has shown a valid key."""

from __future__ import annotations

import datetime as dt
import os

from carekey.devices.homelock import HomeLock
from carekey.protocol.denylist import DenylistEntry, EntryKind
from carekey.protocol.events import EventKind
from carekey.protocol.session import Command
from carekey.protocol.timetoken import MAX_CLOCK_STEP, issue_time_token
from carekey.sim.testbed import Phone, Testbed
from tests.devices.conftest import START


def test_a_token_hours_ahead_is_refused_and_the_door_keeps_working(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    ahead = bed.clock.now() + MAX_CLOCK_STEP + dt.timedelta(hours=2)  # a server clock error
    wrong = issue_time_token(issuer_key=bed.issuer_key, now=ahead)
    phone.driver.time_tokens = lambda door_id, nonce: wrong
    clock_before = lock.clock.now()
    lock.flash.last_token_time = START - dt.timedelta(days=2)  # the door asks for time
    result = bed.visit(phone, lock)
    assert result.response.result == "implausible_time"
    assert lock.events[-1].event.reason == "implausible_time"
    assert lock.clock.now() is not None
    assert clock_before is not None
    assert abs((lock.clock.now() - clock_before).total_seconds()) < 1
    assert lock.flash.last_token_time != ahead
    phone.driver.time_tokens = None
    assert bed.visit(phone, lock).ok  # not locked out for everyone


def test_a_wrong_time_accepted_after_power_loss_is_corrected_by_the_doors_own_challenge(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    lock.power_loss()
    years = bed.clock.now() + dt.timedelta(days=730)  # the server's clock was two years ahead

    def wrong(door_id: bytes, nonce: bytes | None) -> bytes:
        return issue_time_token(issuer_key=bed.issuer_key, now=years, door_id=door_id, nonce=nonce)

    phone.driver.time_tokens = wrong
    assert bed.visit(phone, lock).response.result == "expired"  # every key is dead here now
    phone.driver.time_tokens = None
    assert bed.visit(phone, lock).response.result == "expired"
    # A normal token cannot undo it (it is older than the last one the door took) ...
    phone.driver.time_tokens = lambda door_id, nonce: bed.time_token(door_id, nonce)
    assert bed.visit(phone, lock).response.result in {"time_token_not_newer", "expired"}

    # ... the correction, bound to this door's challenge and signed by the issuer, does.
    def correction(door_id: bytes, nonce: bytes | None) -> bytes:
        assert nonce is not None
        return issue_time_token(
            issuer_key=bed.issuer_key,
            now=bed.clock.now(),
            door_id=door_id,
            nonce=nonce,
            correction=True,
        )

    phone.driver.time_tokens = correction
    lock.clock.power_loss()  # the door then asks for time with its nonce
    result = bed.visit(phone, lock)
    assert result.ok, result.response.result
    assert lock.flash.last_token_time is not None
    assert lock.flash.last_token_time <= bed.clock.now()
    time_set = [e.event for e in lock.events if e.event.kind is EventKind.TIME_SET]
    assert time_set[-1].reason is not None
    assert time_set[-1].reason.startswith("corrected")


def test_a_correction_for_another_door_or_session_is_refused(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    other = issue_time_token(
        issuer_key=bed.issuer_key,
        now=bed.clock.now(),
        door_id=lock.door_id,
        nonce=os.urandom(16),
        correction=True,
    )
    lock.power_loss()
    phone.driver.time_tokens = lambda door_id, nonce: other
    assert bed.visit(phone, lock).response.result == "wrong_nonce"


def test_nothing_a_peer_carries_is_applied_before_it_shows_a_valid_key(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    bed.block(DenylistEntry(EntryKind.DEVICE, os.urandom(16), START + dt.timedelta(hours=9)))
    thief = bed.phone("thief")  # carries genuine server objects, but not mette's device key
    thief.credentials[lock.door_id] = phone.credentials[lock.door_id]
    lock.flash.last_token_time = START - dt.timedelta(days=2)  # the door asks for time
    last = lock.flash.last_token_time
    bed.clock.advance(dt.timedelta(minutes=1))
    result = bed.visit(thief, lock)
    assert result.response.result == "bad_signature"
    assert lock.denylist.version == 0  # the list it brought was not stored
    assert lock.flash.last_token_time == last  # nor the time
    assert bed.visit(phone, lock).ok  # the genuine phone brings both
    assert lock.denylist.version == 1
    assert lock.flash.last_token_time != last


def test_a_genuine_phone_blocked_by_the_list_it_carries_still_leaves_the_list(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    bed.block(DenylistEntry.for_device(phone.device_key.public, START + dt.timedelta(hours=9)))
    assert bed.visit(phone, lock).response.result == "denylisted"
    assert lock.denylist.version == 1  # the door keeps the list that blocks the phone
    phone.driver.denylist = None
    assert bed.visit(phone, lock, Command.STATUS).response.result == "denylisted"
