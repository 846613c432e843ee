"""The driver reads a door's log after the door's answer: the answer's own air time is the same
as without reading, the pages go on from the last event returned, and the budget holds."""

from __future__ import annotations

import datetime as dt

from carekey.devices.homelock import HomeLock
from carekey.link.driver import DoorEntry, VisitResult
from carekey.link.logread import LOG_PAGES_PER_VISIT
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)


def bench(events: int) -> tuple[Testbed, HomeLock, Phone]:
    bed = Testbed(start=START)
    lock = bed.home_lock()
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    for _ in range(events // 2):
        assert bed.visit(phone, lock, Command.UNLOCK).ok
        assert bed.visit(phone, lock, Command.LOCK).ok
    return bed, lock, phone


def unlock(bed: Testbed, lock: HomeLock, phone: Phone, read_log: int | None) -> VisitResult:
    link = bed.links[lock.door_id].connect()
    entry = DoorEntry(lock.door_id, lock.door_key.public, phone.credentials[lock.door_id])
    try:
        return phone.driver.run(link, entry, Command.UNLOCK, read_log=read_log)
    finally:
        link.close()


def test_reading_the_log_leaves_the_answer_and_its_air_time_as_they_were() -> None:
    plain = unlock(*bench(40), read_log=None)
    reading = unlock(*bench(40), read_log=1)

    assert plain.ok
    assert reading.ok
    assert plain.log is None
    assert reading.response_air_ms == plain.response_air_ms
    assert reading.receipt is not None
    assert plain.receipt is not None
    assert reading.log is not None
    assert reading.log.pages >= 2  # 41 events do not fit one page of 3,000 bytes
    assert list(reading.log.seqs) == list(range(1, 42))
    assert reading.log.complete


def test_the_reading_stops_at_the_page_budget() -> None:
    bed, lock, phone = bench(300)  # more than the ring holds: some were evicted
    result = unlock(bed, lock, phone, read_log=1)

    log = result.log
    assert result.ok
    assert log is not None
    assert log.pages == LOG_PAGES_PER_VISIT
    assert not log.complete
    assert log.events_dropped == lock.flash.events_dropped > 0
    assert log.first_seq == lock.flash.ring[0].event.seq
    assert log.next_seq == lock.flash.chain.next_seq
    # The ring's oldest events on, in order, without repeats.
    assert list(log.seqs) == sorted(set(log.seqs))
    assert log.seqs[0] == lock.flash.ring[0].event.seq
