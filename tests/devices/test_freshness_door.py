"""Bounded offline trust at the door: a phone whose proof of freshness is not renewed (it was
blocked) opens nothing once the proof has run out, every refusal is in the door's signed log, and
a removal reaches the door with the first phone that checked in after it."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from carekey.devices.homelock import HomeLock
from carekey.protocol.denylist import DenylistEntry, EntryKind
from carekey.protocol.events import EventKind
from carekey.protocol.freshness import DEFAULT_FRESHNESS_LIFETIME
from carekey.protocol.session import Command
from carekey.protocol.timetoken import BASE_TOLERANCE
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


@pytest.fixture
def lock(bed: Testbed) -> HomeLock:
    return bed.home_lock()


@pytest.fixture
def mette(bed: Testbed, lock: HomeLock) -> Phone:
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    return phone


def _refusal(lock: HomeLock) -> str | None:
    event = lock.events[-1].event
    assert event.kind is EventKind.REFUSED
    return event.reason


def test_a_blocked_phone_opens_until_the_bound_and_never_after(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    bed.stop_renewing(mette)  # blocked now: its last proof was signed at START
    # The bound: the proof's expiry plus the door's clock tolerance (60 s, and 20 ppm of the
    # time since its last time token: 0.07 s here).
    bound = START + DEFAULT_FRESHNESS_LIFETIME + BASE_TOLERANCE
    bed.clock.set(bound - SECOND)
    assert bed.visit(mette, lock).ok  # still inside the bound (the door cannot know yet)
    bed.clock.set(bound + SECOND)
    actuations = lock.stats.actuations
    result = bed.visit(mette, lock)
    assert result.response.result == "freshness_expired"
    assert _refusal(lock) == "freshness_expired"
    assert lock.stats.actuations == actuations
    assert result.receipt is not None
    assert result.receipt.reason == "freshness_expired"
    for hours in (1, 3, 7):  # and so on for the rest of the credential's life
        bed.clock.set(START + dt.timedelta(hours=hours, minutes=5))
        assert bed.visit(mette, lock).response.result == "freshness_expired"
    openings = [e.event for e in lock.events if e.event.kind is EventKind.UNLOCKED]
    assert len(openings) == 1
    assert openings[0].time is not None
    assert openings[0].time < bound


def test_a_worker_whose_proof_ran_out_can_still_lock_up(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    assert bed.visit(mette, lock).ok
    bed.stop_renewing(mette)
    bed.clock.advance(dt.timedelta(hours=2))
    locked = bed.visit(mette, lock, Command.LOCK)
    assert locked.ok
    assert lock.events[-1].event.kind is EventKind.LOCKED
    # ... but the same session cannot go on to open.
    again = bed.visit(mette, lock, Command.LOCK, then=((Command.UNLOCK, None),))
    assert again.ok
    assert again.extra[0].result == "freshness_expired"


def test_no_proof_or_another_phones_proof_opens_nothing(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    mette.driver.freshness = None
    assert bed.visit(mette, lock).response.result == "freshness_missing"
    assert _refusal(lock) == "freshness_missing"
    other = bed.phone("other")
    mette.driver.freshness = lambda: bed.freshness(other)
    assert bed.visit(mette, lock).response.result == "freshness_wrong_phone"
    assert _refusal(lock) == "freshness_wrong_phone"


def test_the_bound_is_the_proofs_expiry_plus_the_doors_tolerance(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    bed.stop_renewing(mette)
    bed.clock.set(START + DEFAULT_FRESHNESS_LIFETIME)  # inside the tolerance still
    result = bed.visit(mette, lock, Command.UNLOCK)
    assert result.ok
    bed.clock.advance(BASE_TOLERANCE + SECOND)
    assert bed.visit(mette, lock).response.result == "freshness_expired"


def test_a_removal_reaches_the_door_with_the_first_phone_that_checked_in_after_it(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    assert bed.visit(mette, lock).ok
    # Lots of other blocks, then the citizen's address is removed: the door is withdrawn.
    for _ in range(400):
        bed.block(DenylistEntry(EntryKind.DEVICE, os.urandom(16), START + dt.timedelta(hours=9)))
    bed.block(DenylistEntry.for_door(lock.door_id, START + dt.timedelta(hours=9)))
    # A phone that checked in after it (its proof has seen the new version) but brings no list:
    mette.driver.denylist = None
    result = bed.visit(mette, lock)
    assert result.response.result == "denylist_required"
    assert _refusal(lock) == "denylist_required"
    # The key app brings the piece with the door's own entry on the first request:
    bed.carry_pieces(mette)
    carried = bed.carried()
    assert carried is not None
    assert len(carried.pieces) > 1
    result = bed.visit(mette, lock)
    assert result.response.result == "door_withdrawn"
    assert lock.denylist.blocks_door(lock.door_id)
    assert lock.denylist.version < bed.denylist_version  # the rest of the list comes later


def test_every_kind_of_door_refuses_the_blocked_phone_after_the_bound(bed: Testbed) -> None:
    from carekey.protocol.credential import DoorKind

    home = bed.home_lock(b"home-0002")
    entrance = bed.controller(b"entrance-0002")
    gate = bed.controller(b"gate-0002", kind=DoorKind.GATE)
    phone = bed.phone("lost")
    for door, kind in ((home, DoorKind.HOME), (entrance, DoorKind.ENTRANCE), (gate, DoorKind.GATE)):
        bed.credential(phone, door.door_id, kinds=[kind])
    assert all(bed.visit(phone, door).ok for door in (home, entrance, gate))
    bed.stop_renewing(phone)  # blocked: the doors are never told, no phone brings them a list
    bed.clock.set(START + DEFAULT_FRESHNESS_LIFETIME + BASE_TOLERANCE + SECOND)
    for door in (home, entrance, gate):
        result = bed.visit(phone, door)
        assert result.response.result == "freshness_expired"
        last = door.events[-1].event
        assert last.kind is EventKind.REFUSED
        assert last.reason == "freshness_expired"
        assert last.subject == "lost"
