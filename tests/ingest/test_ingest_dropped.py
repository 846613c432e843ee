"""What a door's ring evicted (issue 13): the phone's unsigned ``events_dropped`` is stored, only
ever raised, and shown; a gap is *evicted* only when the door's own signed LOG_OVERFLOW marker
explains it, never because the phone says events were dropped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from carekey.ingest import service as ingest
from carekey.keyservice.app_session import AppSession
from carekey.protocol.events import EventKind
from carekey.store import models as m
from tests.ingest.test_ingest import NOW, Door, World, world  # noqa: F401


def send(
    w: World, door: Door, raws: Sequence[bytes], *, events_dropped: int | None = None
) -> dict[str, object]:
    """Upload one door batch with the page's ``events_dropped``; the door's JSON report."""
    with Session(w.engine) as session, session.begin():
        employee = session.get(m.Employee, w.worker)
        phone = session.get(m.Phone, w.phone)
        assert employee is not None
        assert phone is not None
        report = ingest.ingest_upload(
            session,
            session=AppSession(employee, phone, NOW + dt.timedelta(hours=1)),
            upload=ingest.Upload(
                doors=[ingest.DoorBatch(door.serial, list(raws), events_dropped=events_dropped)]
            ),
            now=NOW,
        )
        body = report.to_json()
    doors = body["doors"]
    assert isinstance(doors, list)
    return dict(doors[0])


def stored_dropped(w: World, door: Door) -> int:
    with Session(w.engine) as session:
        row = session.get(m.DoorDevice, door.device_id)
        assert row is not None
        return row.events_dropped


def test_events_dropped_is_stored_and_only_ever_raised(world: World) -> None:  # noqa: F811
    subject = f"e{world.worker}"
    assert (
        send(world, world.home, world.home.visits(20, subject), events_dropped=5)["events_dropped"]
        == 5
    )
    assert stored_dropped(world, world.home) == 5
    # An older reading (another phone, earlier) does not lower it.
    assert (
        send(world, world.home, world.home.visits(2, subject), events_dropped=3)["events_dropped"]
        == 5
    )
    assert stored_dropped(world, world.home) == 5
    assert (
        send(world, world.home, world.home.visits(2, subject), events_dropped=9)["events_dropped"]
        == 9
    )
    # No value (an older app): unchanged.
    assert send(world, world.home, world.home.visits(2, subject))["events_dropped"] == 9
    assert stored_dropped(world, world.home) == 9


def test_more_dropped_than_the_door_ever_signed_is_not_stored(world: World) -> None:  # noqa: F811
    report = send(world, world.home, world.home.visits(4, f"e{world.worker}"), events_dropped=10**6)
    assert report["events_dropped"] == 0
    assert stored_dropped(world, world.home) == 0


def test_a_gap_below_the_doors_overflow_marker_is_evicted_not_flagged(
    world: World,  # noqa: F811
) -> None:
    subject = f"e{world.worker}"
    send(world, world.home, world.home.visits(10, subject))  # seq 1..10
    world.home.visits(10, subject)  # 11..20: evicted from the ring before anyone read them
    marker = world.home.log(EventKind.LOG_OVERFLOW)  # 21
    after = world.home.visits(4, subject)  # 22..25

    report = send(world, world.home, [marker, *after], events_dropped=10)
    assert report["evicted"] == [[11, 20]]
    assert report["flags"]["gaps"] == []  # type: ignore[index]
    assert report["events_dropped"] == 10


def test_a_gap_without_a_marker_stays_a_gap_whatever_the_phone_claims(
    world: World,  # noqa: F811
) -> None:
    subject = f"e{world.worker}"
    send(world, world.home, world.home.visits(10, subject))  # seq 1..10
    world.home.visits(10, subject)  # 11..20: withheld by a phone
    after = world.home.visits(5, subject)  # 21..25, no LOG_OVERFLOW

    report = send(world, world.home, after, events_dropped=10)
    assert report["flags"]["gaps"] == [[11, 20]]  # type: ignore[index]
    assert report["evicted"] == []
    with Session(world.engine) as session:
        row = (
            session.query(m.AuditEvent)
            .filter_by(door_device_id=world.home.device_id, door_seq=21)
            .one()
        )
        assert row.chain_gap


def test_a_gap_above_the_last_marker_is_not_explained_by_it(world: World) -> None:  # noqa: F811
    subject = f"e{world.worker}"
    send(world, world.home, world.home.visits(10, subject))  # 1..10
    marker = world.home.log(EventKind.LOG_OVERFLOW)  # 11
    read = world.home.visits(4, subject)  # 12..15
    world.home.visits(5, subject)  # 16..20: missing
    after = world.home.visits(2, subject)  # 21..22

    report = send(world, world.home, [marker, *read, *after], events_dropped=5)
    assert report["flags"]["gaps"] == [[16, 20]]  # type: ignore[index]
    assert report["evicted"] == []


def test_the_eviction_rule() -> None:
    assert ingest.explained_by_eviction((11, 20), 21)
    assert not ingest.explained_by_eviction((11, 21), 21)
    assert not ingest.explained_by_eviction((11, 20), 0)


def audit_flags(w: World, door: Door) -> dict[int, list[str]]:
    """The audit log's flags per seq of the door, as the office sees them."""
    from carekey.access import Scope
    from carekey.audit import queries as audit_sql
    from carekey.audit.service import _row

    with Session(w.engine) as session:
        employee = session.get(m.Employee, w.worker)
        assert employee is not None
        scope = Scope(employee.municipality_id, None, w.worker)
        where = audit_sql.LogFilter(door_device_id=door.device_id)
        rows = [_row(r) for r in audit_sql.log_rows(session, scope, where, limit=500, offset=0)]
    return {r.door_seq: r.flags for r in rows if r.door_seq is not None}


def test_the_audit_log_tells_an_evicted_gap_from_an_unexplained_one(
    world: World,  # noqa: F811
) -> None:
    subject = f"e{world.worker}"
    send(world, world.home, world.home.visits(4, subject))  # 1..4
    world.home.visits(3, subject)  # 5..7: withheld, no marker (yet)
    send(world, world.home, world.home.visits(2, subject))  # 8..9
    assert audit_flags(world, world.home)[8] == ["chain_gap"]

    world.home.visits(3, subject)  # 10..12: evicted
    marker = world.home.log(EventKind.LOG_OVERFLOW)  # 13
    send(world, world.home, [marker], events_dropped=6)
    flags = audit_flags(world, world.home)
    # The door's signed marker lies above both gaps: each is explained by an eviction.
    assert flags[13] == ["chain_evicted"]
    assert flags[8] == ["chain_evicted"]
    assert flags[9] == []
