"""A lock many versions behind catches up on a full denylist (65,535 entries) from phones in
normal visits, and no unlock on the way is refused or slowed past the target by the list."""

from __future__ import annotations

import datetime as dt
import random

from carekey.protocol.denylist import MAX_ENTRIES, DenylistEntry, EntryKind
from carekey.protocol.session import Command
from carekey.sim.bench_protocol import LOCK_CPU_MS_PER_UNLOCK, PIECE_CPU_MS
from carekey.sim.testbed import Testbed

START = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
UNLOCK_TARGET_MS = 1_000.0


def test_a_lock_far_behind_catches_up_on_a_full_list_in_normal_visits() -> None:
    bed = Testbed(start=START)
    lock = bed.home_lock()
    rng = random.Random(12)
    until = START + dt.timedelta(hours=9)
    bed.block(DenylistEntry(EntryKind.SUBJECT, rng.randbytes(16), until))
    first = bed.phone("early")
    bed.credential(first, lock.door_id)
    bed.carry_pieces(first)
    assert bed.visit(first, lock).ok
    assert lock.denylist.version == 1
    # The lock is not visited while the list grows to its full capacity over many versions.
    entries = [
        DenylistEntry(EntryKind.DEVICE, rng.randbytes(16), until) for _ in range(MAX_ENTRIES - 1)
    ]
    step = len(entries) // 50
    for i in range(0, len(entries), step):
        bed.denylist_entries.extend(entries[i : i + step])
        bed.denylist_version += 1
    assert len(bed.denylist_entries) == MAX_ENTRIES
    carried = bed.carried()
    assert carried is not None
    assert len(carried.pieces) > 500
    workers = [bed.phone(f"worker-{i}") for i in range(3)]
    for phone in workers:
        bed.credential(phone, lock.door_id)
        bed.carry_pieces(phone)
    unlock_ms: list[float] = []
    visits = 0
    while lock.denylist.version < bed.denylist_version:
        visits += 1
        assert visits <= 4, "a normal day's visits must be enough"
        phone = workers[visits % len(workers)]
        bed.clock.advance(dt.timedelta(minutes=40))
        opened = bed.visit(phone, lock)
        assert opened.ok, opened.response.result
        assert opened.response_air_ms is not None
        # The modeled unlock: air time to the answer plus the lock's CPU (one piece at most).
        unlock_ms.append(opened.response_air_ms + LOCK_CPU_MS_PER_UNLOCK + PIECE_CPU_MS)
        bed.clock.advance(dt.timedelta(minutes=20))
        assert bed.visit(phone, lock, Command.LOCK).ok
    assert lock.denylist.version == bed.denylist_version
    assert len(lock.denylist) == MAX_ENTRIES
    assert set(lock.denylist.entries) == {e.key for e in bed.denylist_entries}
    assert max(unlock_ms) <= UNLOCK_TARGET_MS
