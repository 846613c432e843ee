"""The key app collects each door's signed log on every visit (issue 13): from where neither the
server nor this phone has it, after the door's answer, within ``LOG_PAGES_PER_VISIT`` pages;
what it reads is uploaded with the door's ``events_dropped``."""

from __future__ import annotations

import base64
from typing import Any

from carekey.app.service import KeyApp
from carekey.devices.firmware import DoorFirmware
from carekey.protocol.credential import DoorKind, SubjectType
from carekey.protocol.events import decode_event
from carekey.protocol.session import Command
from carekey.sim.testbed import Testbed
from tests.app.conftest import CODE, DOORS, World

DOOR = DOORS[0]


def log_events(bed: Testbed, door: DoorFirmware, visits: int) -> None:
    """Another care worker's ``visits`` unlock + lock pairs: two events each in the door's log
    (an entrance: ``visits`` unlocks)."""
    other = bed.phone("colleague")
    home = door.kind is DoorKind.HOME
    bed.credential(other, door.door_id, kinds=(door.kind,))
    for _ in range(visits):
        assert bed.visit(other, door, Command.UNLOCK).ok
        if home:
            assert bed.visit(other, door, Command.LOCK).ok


def uploaded(world: World, door_id: str) -> list[dict[str, Any]]:
    """The door batches of every upload so far, for ``door_id``."""
    return [
        batch
        for _, body in world.server.uploads
        for batch in body.get("doors", [])
        if batch["door_id"] == door_id
    ]


def uploaded_seqs(world: World, door: DoorFirmware) -> list[int]:
    return [
        decode_event(base64.b64decode(raw), door_key=door.door_key.public).event.seq
        for batch in uploaded(world, door.door_id.decode())
        for raw in batch["events"]
    ]


def test_a_visit_collects_the_log_from_the_bundle_position_without_a_denylist_change(
    world: World,
) -> None:
    lock = world.server.doors[DOOR]
    log_events(world.bed, lock, 5)  # seq 1..10 (the server "has" 1..6)
    world.server.last_seq[DOOR] = 6
    app = world.logged_in()
    assert app.live.denylist_version == world.bed.denylist_version  # nothing new to bring

    assert app.open(DOOR).ok
    app.sync()

    top = lock.flash.chain.next_seq - 1  # 11: the unlock itself
    assert uploaded_seqs(world, lock) == list(range(7, top + 1))
    [batch] = uploaded(world, DOOR)
    assert batch["next_seq"] == top + 1
    assert batch["first_seq"] == 1
    assert batch["events_dropped"] == 0
    assert app.state.log_read[DOOR] == top


def test_more_than_eight_events_are_collected_within_the_budget_and_the_rest_next_time(
    world: World,
) -> None:
    from carekey.link.logread import LOG_PAGES_PER_VISIT

    lock = world.server.doors[DOOR]
    log_events(world.bed, lock, 100)  # 200 events, more than the budget of one session
    app = world.logged_in()

    assert app.open(DOOR).ok
    first = app.last_log
    assert first is not None
    assert first.pages == LOG_PAGES_PER_VISIT
    assert 8 < len(first.events) < 200
    assert list(first.seqs) == list(range(1, len(first.events) + 1))
    assert not first.complete

    world.advance(minutes=20)
    assert app.lock_door(DOOR).ok  # the next session goes on where this one stopped
    second = app.last_log
    assert second is not None
    assert second.from_seq == len(first.events) + 1
    while not app.last_log.complete:  # type: ignore[union-attr]
        world.advance(minutes=1)
        assert app.lock_door(DOOR).ok
    app.sync()
    top = lock.flash.chain.next_seq - 1
    assert uploaded_seqs(world, lock) == list(range(1, top + 1))  # each once, none skipped


def test_the_position_survives_a_restart_of_the_app(world: World) -> None:
    lock = world.server.doors[DOOR]
    log_events(world.bed, lock, 3)
    app = world.logged_in()
    assert app.open(DOOR).ok
    read = app.state.log_read[DOOR]
    assert read == lock.flash.chain.next_seq - 1
    app.background()

    again = world.start()  # a new run: the bundle still says last_seq 0
    again.unlock(CODE)
    assert again.log_position(DOOR) == read + 1
    world.advance(minutes=20)
    assert again.lock_door(DOOR, CODE).ok
    assert again.last_log is not None
    assert again.last_log.from_seq == read + 1
    # Only what the door logged since (the auto-relock, the lock itself), nothing read before.
    assert again.last_log.seqs == tuple(range(read + 1, lock.flash.chain.next_seq))
    assert len(again.last_log.seqs) < read


def test_a_key_that_may_not_read_the_log_opens_and_uploads_nothing_from_it(
    world: World,
) -> None:
    entrance = world.bed.controller(b"OP-000001")
    world.server.doors["OP-000001"] = entrance  # type: ignore[assignment]
    world.server.door_ids = ["OP-000001"]
    world.server.subject_type = SubjectType.PARTNER
    world.server.kinds = (DoorKind.ENTRANCE,)
    log_events(world.bed, entrance, 2)
    app: KeyApp = world.logged_in()

    outcome = app.open("OP-000001")
    assert outcome.ok, outcome.message()
    assert app.last_log is not None
    assert app.last_log.refused == "not_permitted"
    assert app.last_log.events == ()
    world.advance(minutes=5)
    assert app.open("OP-000001", CODE).ok
    assert app.last_log is None  # not asked again with the same keys
    app.sync()
    assert uploaded(world, "OP-000001") == []
    assert "OP-000001" not in app.state.log_read
