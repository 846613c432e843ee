"""Event ingest: door chains verified across uploads, stored once, gaps and tampering flagged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.ingest import service as ingest
from carekey.keyservice.app_session import AppSession
from carekey.protocol.events import EventChain, EventKind, SignedEvent
from carekey.protocol.keys import DoorKey
from carekey.store import models as m
from tests.store.factories import make_world

T0 = dt.datetime(2026, 11, 26, 7, 10, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 26, 16, 0, tzinfo=dt.UTC)


@dataclass
class Door:
    """A simulated door: its key and chain, registered on a door row."""

    device_id: int
    serial: str
    key: DoorKey
    chain: EventChain

    def log(
        self,
        kind: EventKind,
        *,
        minutes: int = 0,
        subject: str | None = None,
        reason: str | None = None,
    ) -> bytes:
        signed: SignedEvent
        signed, self.chain = self.chain.append(
            self.key,
            kind=kind,
            time=T0 + dt.timedelta(minutes=minutes),
            subject=subject,
            credential_id=b"\x01" * 16 if subject else None,
            reason=reason,
        )
        return signed.raw

    def visits(self, count: int, subject: str) -> list[bytes]:
        """``count`` events: unlocked and locked in turn, a minute apart."""
        kinds = (EventKind.UNLOCKED, EventKind.LOCKED)
        return [self.log(kinds[i % 2], minutes=i, subject=subject) for i in range(count)]


@dataclass
class World:
    engine: Engine
    worker: int
    phone: int
    citizen: int
    home: Door
    entrance: Door
    other_door: Door  # a door of another municipality


def _door(session: Session, row: m.DoorDevice) -> Door:
    key = DoorKey.generate()
    row.public_key = key.public.key.raw
    return Door(row.id, row.serial, key, EventChain(row.serial.encode()))


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine) as session, session.begin():
        here = make_world(session)
        other = make_world(session, code="0147", name="Frederiksberg Kommune")
        worker = m.Employee(
            municipality_id=here.municipality.id,
            employee_number="H0001",
            full_name="Mette Hjælper",
            roles=[m.EmployeeRole(role=e.Role.CARE_WORKER)],
        )
        session.add(worker)
        session.flush()
        phone = m.Phone(
            municipality_id=here.municipality.id,
            employee_id=worker.id,
            label="KK-TLF-1",
            public_key=b"\x02" + bytes(32),
        )
        session.add(phone)
        session.flush()
        return World(
            engine,
            worker.id,
            phone.id,
            here.citizen.id,
            _door(session, here.home_lock),
            _door(session, here.entrance_controller),
            _door(session, other.home_lock),
        )


def upload(
    w: World,
    *,
    doors: Sequence[tuple[Door | str, Sequence[bytes]]] = (),
    receipts: Sequence[tuple[Door, bytes]] = (),
    app_events: Sequence[ingest.AppEvent] = (),
) -> dict[str, object]:
    """Upload as the worker's phone, in one transaction, and return the JSON report."""
    with Session(w.engine) as session, session.begin():
        employee = session.get(m.Employee, w.worker)
        phone = session.get(m.Phone, w.phone)
        assert employee is not None
        assert phone is not None
        report = ingest.ingest_upload(
            session,
            session=AppSession(employee, phone, NOW + dt.timedelta(hours=1)),
            upload=ingest.Upload(
                doors=[
                    ingest.DoorBatch(d if isinstance(d, str) else d.serial, list(raws))
                    for d, raws in doors
                ],
                receipts=[ingest.Receipt(d.serial, raw) for d, raw in receipts],
                app_events=list(app_events),
            ),
            now=NOW,
        )
        return report.to_json()


def rows(w: World, door: Door) -> list[m.AuditEvent]:
    with Session(w.engine) as session:
        return list(
            session.execute(
                select(m.AuditEvent)
                .where(m.AuditEvent.door_device_id == door.device_id)
                .order_by(m.AuditEvent.door_seq)
            ).scalars()
        )


def count(w: World) -> int:
    with Session(w.engine) as session:
        return int(session.execute(select(func.count(m.AuditEvent.id))).scalar_one())


def door_report(report: dict[str, object], door: Door | str) -> dict[str, object]:
    serial = door if isinstance(door, str) else door.serial
    doors = report["doors"]
    assert isinstance(doors, list)
    return next(d for d in doors if d["door_id"] == serial)


def flags(report: dict[str, object], door: Door) -> dict[str, object]:
    found = door_report(report, door)["flags"]
    assert isinstance(found, dict)
    return found


def test_a_door_upload_stores_who_which_door_when_and_what(world: World) -> None:
    raws = world.home.visits(2, subject=f"e{world.worker}")
    report = upload(world, doors=[(world.home, raws)])

    assert report["stored"] == 2
    assert report["duplicates"] == 0
    assert not any(report["flagged"].values())  # type: ignore[union-attr]
    stored = rows(world, world.home)
    assert [(r.action, r.door_seq) for r in stored] == [
        (e.AuditAction.UNLOCKED, 1),
        (e.AuditAction.LOCKED, 2),
    ]
    first = stored[0]
    assert first.source is e.AuditSource.DOOR
    assert first.employee_id == world.worker
    assert first.citizen_id == world.citizen
    assert first.occurred_at == T0
    assert first.raw == raws[0]
    assert len(first.signature or b"") == 64
    assert stored[1].prev_hash == first.event_hash
    assert not any(r.chain_gap or r.chain_broken for r in stored)
    with Session(world.engine) as session:
        door = session.get(m.DoorDevice, world.home.device_id)
        assert door is not None
        assert door.last_event_seq == 2
        assert door.last_seen_at == NOW


def test_the_same_upload_twice_is_stored_once(world: World) -> None:
    raws = world.home.visits(4, subject=f"e{world.worker}")
    app = [ingest.AppEvent("k-1", ingest.AppEventKind.LOGIN, T0)]
    first = upload(world, doors=[(world.home, raws)], app_events=app)
    total = count(world)
    second = upload(world, doors=[(world.home, raws)], app_events=app)

    assert count(world) == total == 5
    assert second["stored"] == 0
    assert second["duplicates"] == 4
    assert second["app_events"] == {"stored": 0, "duplicates": 1}
    assert second["flagged"] == first["flagged"]
    assert flags(second, world.home) == flags(first, world.home)


def test_continuity_is_checked_across_uploads_and_a_gap_is_flagged(world: World) -> None:
    raws = world.home.visits(7, subject=f"e{world.worker}")
    upload(world, doors=[(world.home, raws[:3])])
    report = upload(world, doors=[(world.home, raws[5:])])  # 4 and 5 never arrived

    assert report["stored"] == 2
    assert flags(report, world.home)["gaps"] == [[4, 5]]
    assert report["flagged"]["gaps"] == 1  # type: ignore[index]
    by_seq = {r.door_seq: r for r in rows(world, world.home)}
    assert by_seq[6].chain_gap
    assert not by_seq[7].chain_gap

    # Another phone brings the missing events later: the gap closes, nothing is flagged.
    late = upload(world, doors=[(world.home, raws[3:5])])
    assert late["stored"] == 2
    assert flags(late, world.home)["gaps"] == []
    assert not any(r.chain_gap or r.chain_broken for r in rows(world, world.home))


def test_an_edited_event_is_flagged_and_leaves_a_gap(world: World) -> None:
    raws = world.home.visits(3, subject=f"e{world.worker}")
    edited = bytearray(raws[1])
    edited[-70] ^= 0x01  # a byte of the payload: say, the time
    report = upload(world, doors=[(world.home, [raws[0], bytes(edited), raws[2]])])

    assert flags(report, world.home)["bad_signatures"] == [1]
    assert flags(report, world.home)["gaps"] == [[2, 2]]
    assert report["flagged"]["bad_signatures"] == 1  # type: ignore[index]
    assert [r.door_seq for r in rows(world, world.home)] == [1, 3]


def test_a_different_event_under_a_stored_seq_is_tampering_and_never_replaces_it(
    world: World,
) -> None:
    raws = world.home.visits(2, subject=f"e{world.worker}")
    upload(world, doors=[(world.home, raws)])
    # The door's key signs another event 2 (a cloned or rolled-back door).
    forked = EventChain(world.home.chain.door_id, 2, rows(world, world.home)[0].event_hash or b"")
    signed, _ = forked.append(world.home.key, kind=EventKind.UNLOCKED, time=T0)

    report = upload(world, doors=[(world.home, [signed.raw])])

    assert report["stored"] == 0
    assert flags(report, world.home)["conflicts"] == [2]
    assert report["flagged"]["edits"] == 1  # type: ignore[index]
    stored = rows(world, world.home)
    assert [r.raw for r in stored] == raws
    assert stored[1].chain_broken  # contested


def test_a_reordered_upload_is_stored_in_order_without_flags(world: World) -> None:
    raws = world.home.visits(5, subject=f"e{world.worker}")
    report = upload(world, doors=[(world.home, list(reversed(raws)))])

    assert report["stored"] == 5
    assert door_report(report, world.home)["reordered"] is True
    assert not any(report["flagged"].values())  # type: ignore[union-attr]
    assert [r.raw for r in rows(world, world.home)] == raws
    assert not any(r.chain_gap or r.chain_broken for r in rows(world, world.home))


def test_a_forged_signature_is_flagged_and_not_stored(world: World) -> None:
    raws = world.home.visits(2, subject=f"e{world.worker}")
    forger = Door(world.home.device_id, world.home.serial, DoorKey.generate(), world.home.chain)
    forged = forger.log(EventKind.UNLOCKED, minutes=30, subject=f"e{world.worker}")

    report = upload(world, doors=[(world.home, [*raws, forged])])

    assert report["stored"] == 2
    assert flags(report, world.home)["bad_signatures"] == [2]
    assert len(rows(world, world.home)) == 2


def test_unknown_doors_and_other_municipalities_doors_are_refused_per_batch(
    world: World,
) -> None:
    mine = world.home.visits(2, subject=f"e{world.worker}")
    theirs = world.other_door.visits(2, subject="e999")

    report = upload(
        world,
        doors=[("NO-SUCH-DOOR", mine), (world.other_door, theirs), (world.home, mine)],
    )

    assert report["stored"] == 2  # the good batch went in
    assert report["flagged"]["unknown_doors"] == 2  # type: ignore[index]
    for serial in ("NO-SUCH-DOOR", world.other_door.serial):
        error = door_report(report, serial)["error"]
        assert isinstance(error, dict)
        assert error["code"] == "ingest.unknown_door"
    assert rows(world, world.other_door) == []


def test_events_of_another_door_in_a_batch_are_flagged(world: World) -> None:
    # Signed by this door's key but naming another door id: a confused or malicious phone.
    stray = Door(world.home.device_id, "x", world.home.key, EventChain(b"T-0101-999999"))
    report = upload(world, doors=[(world.home, stray.visits(1, subject=f"e{world.worker}"))])
    assert report["stored"] == 0
    assert flags(report, world.home)["wrong_door"] == [0]


def test_a_receipt_the_door_log_lacks_is_stored_and_the_log_later_matches_it(
    world: World,
) -> None:
    raws = world.entrance.visits(3, subject=f"e{world.worker}")
    first = upload(world, receipts=[(world.entrance, raws[2])])
    assert first["stored"] == 1
    assert door_report(first, world.entrance)["receipts"] == 1
    assert flags(first, world.entrance)["gaps"] == [[1, 2]]
    stored = rows(world, world.entrance)
    assert stored[0].citizen_id is None  # a stairwell is nobody's home
    assert stored[0].employee_id == world.worker

    later = upload(world, doors=[(world.entrance, raws)])
    assert later["stored"] == 2
    assert later["duplicates"] == 1
    assert not any(r.chain_gap for r in rows(world, world.entrance))


def test_app_events_are_stored_once_per_key(world: World) -> None:
    events = [
        ingest.AppEvent("a-1", ingest.AppEventKind.LOGIN, T0),
        ingest.AppEvent(
            "a-2", ingest.AppEventKind.REFUSED, T0, door_id=world.home.serial, reason="expired"
        ),
        ingest.AppEvent("a-2", ingest.AppEventKind.REFUSED, T0, door_id=world.home.serial),
    ]
    report = upload(world, app_events=events)
    assert report["app_events"] == {"stored": 2, "duplicates": 1}
    with Session(world.engine) as session:
        refused = session.execute(
            select(m.AuditEvent).where(m.AuditEvent.action == e.AuditAction.REFUSED)
        ).scalar_one()
    assert refused.source is e.AuditSource.APP
    assert refused.employee_id == world.worker
    assert refused.door_device_id == world.home.device_id
    assert refused.citizen_id == world.citizen
    assert refused.reason_code == "expired"


def test_an_oversized_upload_is_refused_whole(world: World) -> None:
    raws = world.home.visits(2, subject=f"e{world.worker}")
    too_many = [raws[0]] * (ingest.MAX_EVENTS_PER_UPLOAD + 1)
    with pytest.raises(ingest.UploadError) as refused:
        upload(world, doors=[(world.home, too_many)])
    assert refused.value.code == "ingest.too_many_events"
    with pytest.raises(ingest.UploadError) as too_big:
        upload(world, doors=[(world.home, [raws[0], b"\x00" * 1025])])
    assert too_big.value.code == "ingest.event_too_large"
    assert count(world) == 0


# --- door states (issue 13): the bolt and the leaf as the newest signed events show them ---


def door_row(w: World, door: Door) -> m.DoorDevice:
    with Session(w.engine) as session:
        row = session.get(m.DoorDevice, door.device_id)
        assert row is not None
        return row


@pytest.mark.parametrize(
    ("kind", "reason", "lock_state", "door_state"),
    [
        (EventKind.UNLOCKED, None, e.LockState.UNLOCKED, None),
        (EventKind.AUTO_RELOCKED, None, e.LockState.LOCKED, None),
        (EventKind.MANUAL_TURN, "unlocked", e.LockState.UNLOCKED, None),
        (EventKind.JAMMED, None, e.LockState.JAMMED, None),
        (EventKind.POWER_RESTORED, "interrupted=unlock", e.LockState.UNKNOWN, None),
        (EventKind.FORCED_OPEN, "state=locked", None, e.DoorSensorState.FORCED_OPEN),
        (EventKind.DOOR_AJAR, "after_s=120", None, e.DoorSensorState.AJAR),
    ],
)
def test_the_door_row_shows_the_state_its_signed_events_report(
    world: World,
    kind: EventKind,
    reason: str | None,
    lock_state: e.LockState | None,
    door_state: e.DoorSensorState | None,
) -> None:
    assert door_row(world, world.home).lock_state is None
    raws = [world.home.log(EventKind.LOCKED), world.home.log(kind, minutes=1, reason=reason)]
    upload(world, doors=[(world.home, raws)])
    row = door_row(world, world.home)
    assert row.lock_state is (lock_state or e.LockState.LOCKED)
    assert row.door_state is door_state


def test_closing_the_leaf_and_a_plain_power_restore_clear_and_keep_what_they_should(
    world: World,
) -> None:
    raws = [
        world.home.log(EventKind.UNLOCKED),
        world.home.log(EventKind.DOOR_AJAR, minutes=2),
        world.home.log(EventKind.DOOR_CLOSED, minutes=3, reason="alarm=ajar"),
        world.home.log(EventKind.POWER_RESTORED, minutes=4),
    ]
    upload(world, doors=[(world.home, raws)])
    row = door_row(world, world.home)
    assert row.door_state is e.DoorSensorState.CLOSED
    assert row.lock_state is e.LockState.UNLOCKED  # a restore without a cut-off turn: as it was


def test_an_older_upload_arriving_late_does_not_overwrite_the_newer_state(world: World) -> None:
    # Phone A read the forced opening; phone B, later, the close and relock. B uploads first.
    first = [world.home.log(EventKind.LOCKED), world.home.log(EventKind.FORCED_OPEN, minutes=1)]
    later = [
        world.home.log(EventKind.DOOR_CLOSED, minutes=5, reason="alarm=forced_open"),
        world.home.log(EventKind.JAMMED, minutes=6),
    ]
    upload(world, doors=[(world.home, later)])
    assert door_row(world, world.home).door_state is e.DoorSensorState.CLOSED
    report = upload(world, doors=[(world.home, first)])
    assert report["stored"] == 2  # the gap is filled...
    row = door_row(world, world.home)
    assert row.door_state is e.DoorSensorState.CLOSED  # ...but the newer state stays
    assert row.lock_state is e.LockState.JAMMED


def test_the_newest_event_in_one_upload_wins_whatever_the_upload_order(world: World) -> None:
    raws = [
        world.home.log(EventKind.FORCED_OPEN),
        world.home.log(EventKind.DOOR_CLOSED, minutes=1, reason="alarm=forced_open"),
        world.home.log(EventKind.UNLOCKED, minutes=2),
        world.home.log(EventKind.LOCKED, minutes=3),
    ]
    upload(world, doors=[(world.home, list(reversed(raws)))])
    row = door_row(world, world.home)
    assert row.door_state is e.DoorSensorState.CLOSED
    assert row.lock_state is e.LockState.LOCKED


def test_a_controller_has_no_bolt_but_its_leaf_is_reported(world: World) -> None:
    raws = [
        world.entrance.log(EventKind.RELAY_PULSE, subject=f"e{world.worker}"),
        world.entrance.log(EventKind.LOCKED, minutes=1),
        world.entrance.log(EventKind.FORCED_OPEN, minutes=2),
    ]
    upload(world, doors=[(world.entrance, raws)])
    row = door_row(world, world.entrance)
    assert row.lock_state is None
    assert row.door_state is e.DoorSensorState.FORCED_OPEN
