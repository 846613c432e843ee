"""The event ring under a flood (issue 13): refusals never push other events out, the overflow
marker stays until it is read, ``events_dropped`` counts every eviction, READ_EVENTS pages
still work and the state file keeps it all. Floods go through the real firmware and link."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from carekey.devices.flash import DoorConfig
from carekey.devices.homelock import HomeLock
from carekey.devices.limits import FailureLimiter
from carekey.devices.statefile import DoorStateError, load_door, save_door
from carekey.link.transport import BluetoothLink
from carekey.protocol.events import EventKind, SignedEvent, decode_event, verify_chain
from carekey.protocol.framing import PROTOCOL_VERSION, MessageType, decode_message, fragment
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)
OPENINGS = (EventKind.UNLOCKED, EventKind.LOCKED)


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


def lenient() -> FailureLimiter:
    """A limiter that never locks out, so the flood reaches the log instead of being counted."""
    return FailureLimiter(free_failures=10**9)


def lock_for(bed: Testbed, *, ring_size: int = 256, share: float | None = None) -> HomeLock:
    """A lock with a lenient limiter; ``share`` of the ring for refusals (default 1/4)."""
    config = None if share is None else DoorConfig(refusal_share=share)
    return bed.home_lock(ring_size=ring_size, limiter=lenient(), config=config)


def carer(bed: Testbed, lock: HomeLock) -> Phone:
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    return phone


def bad_hello(bed: Testbed, lock: HomeLock) -> None:
    """An outsider's hello the door refuses (an old protocol version), over the real link."""
    link = bed.links[lock.door_id].connect()
    hello = bytes((PROTOCOL_VERSION - 1, MessageType.CLIENT_HELLO)) + bytes(range(32))
    link.send(fragment(hello, mtu=link.mtu))
    reply = decode_message(link.receive()[1:])
    link.close()
    assert reply.type is MessageType.ALERT


def flood(bed: Testbed, lock: HomeLock, count: int, *, every: dt.timedelta) -> None:
    for _ in range(count):
        bad_hello(bed, lock)
        bed.clock.advance(every)


def visits(bed: Testbed, lock: HomeLock, phone: Phone, pairs: int) -> None:
    for _ in range(pairs):
        assert bed.visit(phone, lock, Command.UNLOCK).ok
        assert bed.visit(phone, lock, Command.LOCK).ok


def seqs(lock: HomeLock, *kinds: EventKind) -> list[int]:
    return [e.event.seq for e in lock.events if not kinds or e.event.kind in kinds]


def refusals_held(lock: HomeLock) -> int:
    """Refusals in the ring: every REFUSED, and RATE_LIMITED without a subject."""
    return sum(
        1
        for e in lock.events
        if e.event.kind is EventKind.REFUSED
        or (e.event.kind is EventKind.RATE_LIMITED and e.event.subject is None)
    )


def read_all(bed: Testbed, lock: HomeLock, phone: Phone, *, limit: int) -> list[list[bytes]]:
    """READ_EVENTS page by page from seq 1, each page going on after the last event returned."""
    pages: list[list[bytes]] = []
    from_seq = 1
    while True:
        data = bed.visit(phone, lock, Command.READ_EVENTS, {"from_seq": from_seq, "limit": limit})
        events = data.response.data["events"]
        assert isinstance(events, list)
        if not events:
            return pages
        pages.append(events)
        from_seq = _decode(lock, events[-1:])[0].event.seq + 1


def test_a_flood_of_bad_hellos_for_hours_never_evicts_an_unread_opening(bed: Testbed) -> None:
    lock = lock_for(bed)
    mette = carer(bed, lock)
    visits(bed, lock, mette, 40)
    openings = seqs(lock, *OPENINGS)
    # One bad hello a minute for eight hours, with a visit each hour; nobody reads the log.
    for _ in range(8):
        flood(bed, lock, 60, every=dt.timedelta(minutes=1))
        bed.credential(mette, lock.door_id)  # the day's key runs out; she gets a new one
        visits(bed, lock, mette, 5)
        openings += seqs(lock, *OPENINGS)[-10:]
    assert lock.flash.chain.next_seq > 2 * lock.flash.ring_size  # the ring overflowed
    assert set(openings) <= set(seqs(lock, *OPENINGS))
    assert len(set(openings)) == 2 * (40 + 8 * 5)
    assert refusals_held(lock) <= 64
    assert lock.flash.refusal_budget == 64
    assert EventKind.LOG_OVERFLOW in [e.event.kind for e in lock.events]


def test_a_refusal_at_a_ring_full_of_real_events_is_dropped_itself(bed: Testbed) -> None:
    lock = lock_for(bed, ring_size=16)
    for i in range(16):
        lock.manual_turn(locked=i % 2 == 1)
    kept = [e.raw for e in lock.events]
    flood(bed, lock, 5, every=dt.timedelta(seconds=30))
    assert [e.raw for e in lock.events] == kept  # no real event and no marker spent on them
    assert lock.flash.events_dropped == 5
    assert lock.flash.chain.next_seq == 16 + 5 + 1


def test_the_overflow_marker_survives_a_flood_until_it_is_read(bed: Testbed) -> None:
    lock = lock_for(bed, ring_size=32)
    for i in range(40):  # a real overflow: the marker goes in
        lock.manual_turn(locked=i % 2 == 1)
    marker = seqs(lock, EventKind.LOG_OVERFLOW)
    assert len(marker) == 1
    assert lock.flash.overflow_noted
    flood(bed, lock, 300, every=dt.timedelta(minutes=1))
    assert seqs(lock, EventKind.LOG_OVERFLOW) == marker
    for i in range(100):  # real events overflowing again do not evict it either
        lock.manual_turn(locked=i % 2 == 1)
    assert seqs(lock, EventKind.LOG_OVERFLOW) == marker
    assert lock.flash.pinned_seq() == marker[0]

    mette = carer(bed, lock)
    pages = read_all(bed, lock, mette, limit=64)
    returned = [e.event.seq for page in pages for e in _decode(lock, page)]
    assert marker[0] in returned
    assert not lock.flash.overflow_noted  # the episode ended with the read that returned it
    assert lock.flash.pinned_seq() is None
    flood(bed, lock, 100, every=dt.timedelta(minutes=1))
    for i in range(40):  # now unpinned, it may go; a new episode gets its own marker
        lock.manual_turn(locked=i % 2 == 1)
    assert marker[0] not in seqs(lock)
    assert len(seqs(lock, EventKind.LOG_OVERFLOW)) == 1
    assert lock.flash.overflow_noted


def test_a_flood_alone_starts_an_episode_with_a_pinned_marker(bed: Testbed) -> None:
    lock = lock_for(bed)
    mette = carer(bed, lock)
    visits(bed, lock, mette, 3)
    flood(bed, lock, 300, every=dt.timedelta(minutes=1))
    assert len(lock.events) < lock.flash.ring_size  # the refusal budget, not the ring, was full
    assert refusals_held(lock) == 64
    marker = seqs(lock, EventKind.LOG_OVERFLOW)
    assert len(marker) == 1
    assert lock.flash.pinned_seq() == marker[0]
    assert lock.flash.events_dropped == 300 - 64  # only refusals went, the marker had room


def _decode(lock: HomeLock, raws: list[bytes]) -> list[SignedEvent]:
    return [decode_event(raw, door_key=lock.door_key.public) for raw in raws]


def test_events_dropped_counts_every_eviction_in_status_and_read_events(bed: Testbed) -> None:
    lock = lock_for(bed, ring_size=64)
    mette = carer(bed, lock)
    visits(bed, lock, mette, 10)
    flood(bed, lock, 200, every=dt.timedelta(minutes=1))
    visits(bed, lock, mette, 10)
    flash = lock.flash
    missing = set(range(1, flash.chain.next_seq)) - set(seqs(lock))
    assert flash.events_dropped == len(missing) > 0
    assert len(seqs(lock, *OPENINGS)) == 40  # every eviction was a refusal
    assert refusals_held(lock) <= 16
    status = bed.visit(mette, lock, Command.STATUS).response.data
    assert status["events_dropped"] == flash.events_dropped
    data = bed.visit(mette, lock, Command.READ_EVENTS, {"from_seq": 1}).response.data
    assert data["events_dropped"] == flash.events_dropped
    assert data["first_seq"] == lock.events[0].event.seq


def test_read_events_pages_through_a_ring_with_gaps(bed: Testbed) -> None:
    lock = lock_for(bed, ring_size=128)
    mette = carer(bed, lock)
    for _ in range(6):
        visits(bed, lock, mette, 8)
        flood(bed, lock, 40, every=dt.timedelta(minutes=1))
    ring = [e.raw for e in lock.events]
    openings = seqs(lock, *OPENINGS)
    assert len(openings) == 6 * 8 * 2
    pages = read_all(bed, lock, mette, limit=7)
    assert len(pages) > 1
    assert all(len(page) <= 7 for page in pages)
    assert [raw for page in pages for raw in page][: len(ring)] == ring
    returned = [raw for page in pages for raw in page]
    report = verify_chain(returned, door_key=lock.door_key.public, door_id=lock.door_id)
    assert not report.broken_links
    assert not report.conflicts
    evicted = set(range(1, lock.flash.chain.next_seq)) - set(seqs(lock))
    in_gaps = {s for low, high in report.gaps for s in range(low, high + 1)}
    assert evicted == in_gaps  # the server sees exactly which events were evicted
    assert set(openings) <= {e.event.seq for e in _decode(lock, returned)}


def test_the_state_file_keeps_a_ring_with_gaps_and_its_pinned_marker(
    bed: Testbed, tmp_path: Path
) -> None:
    lock = lock_for(bed, ring_size=48, share=0.125)
    mette = carer(bed, lock)
    visits(bed, lock, mette, 12)
    flood(bed, lock, 60, every=dt.timedelta(minutes=1))
    assert seqs(lock) != list(range(seqs(lock)[0], seqs(lock)[-1] + 1))  # the ring has gaps
    path = tmp_path / "door.json"
    save_door(lock, path)
    loaded = load_door(path, bed.clock)
    assert isinstance(loaded, HomeLock)
    assert [e.raw for e in loaded.events] == [e.raw for e in lock.events]
    assert loaded.flash.chain == lock.flash.chain
    assert loaded.flash.events_dropped == lock.flash.events_dropped > 0
    assert loaded.flash.overflow_noted
    assert loaded.flash.pinned_seq() == lock.flash.pinned_seq()
    assert loaded.flash.refusal_budget == 6
    assert loaded.flash.config.refusal_share == 0.125
    # The restored door goes on with the same rule.
    before = seqs(loaded, *OPENINGS)
    loaded.limiter = lenient()
    bed.links[loaded.door_id] = BluetoothLink(loaded)
    flood(bed, loaded, 50, every=dt.timedelta(minutes=1))
    assert seqs(loaded, *OPENINGS) == before
    assert seqs(loaded, EventKind.LOG_OVERFLOW) == seqs(lock, EventKind.LOG_OVERFLOW)


def test_a_state_file_whose_dropped_count_does_not_add_up_is_refused(
    bed: Testbed, tmp_path: Path
) -> None:
    lock = lock_for(bed, ring_size=16)
    mette = carer(bed, lock)
    visits(bed, lock, mette, 4)
    flood(bed, lock, 20, every=dt.timedelta(minutes=1))
    path = tmp_path / "door.json"
    save_door(lock, path)
    state = json.loads(path.read_text())
    state["events_dropped"] -= 1  # would hide an eviction from the server
    path.write_text(json.dumps(state))
    with pytest.raises(DoorStateError, match="events_dropped"):
        load_door(path, bed.clock)


def test_a_log_past_four_billion_events_still_says_hello(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    """The hello's event seq is 32 bits; a longer chain saturates it instead of failing every
    hello (the door would be unusable for good)."""
    head = lock.flash.chain
    lock.flash.chain = dataclasses.replace(head, next_seq=2**32 + 7)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert result.ok, result.response.result
    assert result.status.event_seq == 2**32 - 1
    assert lock.events[-1].event.seq == 2**32 + 7
