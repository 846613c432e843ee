"""Upload attacks on a real door's log: tampered, reordered, deleted or duplicated events.

``tests/protocol/test_events.py`` checks ``verify_chain`` on hand-built chains and
``tests/ingest/test_ingest.py`` the ingest service on hand-built chains. Here the events come
from the door firmware itself (a home lock in the testbed, read back with READ_EVENTS by the care
worker's phone), including the door's signed refusal of an attack, and go through the ingest
service into the audit log, which is where an attacker would want to hide that refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.ingest import service as ingest
from carekey.keyservice.app_session import AppSession
from carekey.protocol import cbor
from carekey.protocol.events import EventKind, decode_event
from carekey.protocol.keys import DoorKey, parse_sign1, sign1
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed
from carekey.store import models as m
from tests.store.factories import make_world

T0 = dt.datetime(2026, 11, 26, 7, 10, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 26, 16, 0, tzinfo=dt.UTC)


@dataclass
class Bench:
    """A municipality in the database and the same home lock running in the testbed."""

    engine: Engine
    worker: int
    phone: int
    door_row: int
    serial: str
    lock: HomeLock
    log: list[bytes]  # the door's signed events as the worker's phone read them
    receipts: list[bytes]  # the receipts the worker's phone holds


def _visit_the_door(bed: Testbed, lock: HomeLock, mette: Phone) -> tuple[list[bytes], list[bytes]]:
    """A morning at the door: Mette opens, the lock relocks, a thief with a copy of her
    credential is refused, Mette opens and locks again, then reads the log."""
    receipts: list[bytes] = []
    result = bed.visit(mette, lock, Command.UNLOCK)
    assert result.response.receipt is not None
    receipts.append(result.response.receipt)
    bed.clock.advance(dt.timedelta(seconds=15))
    lock.tick()  # auto-relock
    thief = bed.phone("thief", online=False)
    thief.credentials[lock.door_id] = mette.credentials[lock.door_id]
    assert bed.visit(thief, lock, Command.UNLOCK).response.result == "bad_signature"
    bed.clock.advance(dt.timedelta(minutes=20))
    result = bed.visit(mette, lock, Command.UNLOCK, then=((Command.LOCK, None),))
    assert result.ok
    assert result.extra[0].ok
    assert result.response.receipt is not None
    assert result.extra[0].receipt is not None
    receipts += [result.response.receipt, result.extra[0].receipt]
    read = bed.visit(mette, lock, Command.READ_EVENTS)
    events = read.response.data["events"]
    assert isinstance(events, list)
    assert all(isinstance(raw, bytes) for raw in events)
    return list(events), receipts


@pytest.fixture
def bench(engine: Engine) -> Bench:
    with Session(engine) as session, session.begin():
        here = make_world(session)
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
        bed = Testbed(start=T0)
        lock = bed.home_lock(here.home_lock.serial.encode())
        here.home_lock.public_key = lock.door_key.public.key.raw
        mette = bed.phone(f"e{worker.id}")
        bed.credential(mette, lock.door_id)
        log, receipts = _visit_the_door(bed, lock, mette)
        return Bench(
            engine,
            worker.id,
            phone.id,
            here.home_lock.id,
            here.home_lock.serial,
            lock,
            log,
            receipts,
        )


def upload(b: Bench, raws: Sequence[bytes], *, receipts: Sequence[bytes] = ()) -> dict[str, object]:
    """Upload as the worker's phone and return the door's part of the JSON report."""
    with Session(b.engine) as session, session.begin():
        employee = session.get(m.Employee, b.worker)
        phone = session.get(m.Phone, b.phone)
        assert employee is not None
        assert phone is not None
        report = ingest.ingest_upload(
            session,
            session=AppSession(employee, phone, NOW + dt.timedelta(hours=1)),
            upload=ingest.Upload(
                doors=[ingest.DoorBatch(b.serial, list(raws))] if raws else [],
                receipts=[ingest.Receipt(b.serial, raw) for raw in receipts],
                app_events=[],
            ),
            now=NOW,
        )
        body = report.to_json()
    doors = body["doors"]
    assert isinstance(doors, list)
    assert len(doors) == 1
    door = doors[0]
    assert isinstance(door, dict)
    return door


def stored(b: Bench) -> list[m.AuditEvent]:
    with Session(b.engine) as session:
        return list(
            session.execute(
                select(m.AuditEvent)
                .where(m.AuditEvent.door_device_id == b.door_row)
                .order_by(m.AuditEvent.door_seq)
            ).scalars()
        )


def flags(door: dict[str, object]) -> dict[str, list[object]]:
    found = door["flags"]
    assert isinstance(found, dict)
    return found


def no_flags(door: dict[str, object]) -> bool:
    return not any(flags(door).values())


def seq_of(b: Bench, kind: EventKind, reason: str | None = None) -> int:
    """The seq of the (first) event of ``kind`` in the door's log."""
    for raw in b.log:
        event = decode_event(raw, door_key=b.lock.door_key.public).event
        if event.kind is kind and (reason is None or event.reason == reason):
            return event.seq
    raise AssertionError(f"no {kind.name} event")


def test_the_door_log_is_what_the_lock_signed_and_goes_in_clean(bench: Bench) -> None:
    kinds = [decode_event(raw, door_key=bench.lock.door_key.public).event.kind for raw in bench.log]
    assert kinds == [
        EventKind.UNLOCKED,
        EventKind.AUTO_RELOCKED,
        EventKind.REFUSED,
        EventKind.UNLOCKED,
        EventKind.LOCKED,
    ]
    door = upload(bench, bench.log)
    assert door["stored"] == 5
    assert no_flags(door)
    rows = stored(bench)
    assert [r.door_seq for r in rows] == [1, 2, 3, 4, 5]
    refused = rows[seq_of(bench, EventKind.REFUSED) - 1]
    assert refused.action is e.AuditAction.REFUSED
    assert refused.reason_code == "bad_signature"


# --- deleted ---------------------------------------------------------------------------------


def test_a_deleted_refusal_leaves_a_flagged_gap(bench: Bench) -> None:
    refused = seq_of(bench, EventKind.REFUSED, "bad_signature")
    without = [raw for i, raw in enumerate(bench.log) if i + 1 != refused]
    door = upload(bench, without)
    assert door["stored"] == 4
    assert flags(door)["gaps"] == [[refused, refused]]
    by_seq = {r.door_seq: r for r in stored(bench)}
    assert refused not in by_seq
    assert by_seq[refused + 1].chain_gap
    # the door's log, read again by another phone, fills the gap and clears the flag
    later = upload(bench, bench.log)
    assert later["stored"] == 1
    assert no_flags(later)
    assert not any(r.chain_gap or r.chain_broken for r in stored(bench))


def test_a_deleted_tail_is_restored_by_the_phones_receipt(bench: Bench) -> None:
    """The chain cannot show a missing last event; the receipt the phone holds does."""
    door = upload(bench, bench.log[:-1], receipts=bench.receipts[-1:])
    assert door["stored"] == 5
    assert door["receipts"] == 1
    assert no_flags(door)
    assert [r.raw for r in stored(bench)] == bench.log


# --- tampered ----------------------------------------------------------------------------------


def _edit(field: int, value: object) -> Callable[[bytes, DoorKey], bytes]:
    def edit(raw: bytes, key: DoorKey) -> bytes:
        message = parse_sign1(raw, max_bytes=512)
        body = cbor.loads(message.payload)
        assert isinstance(body, list)
        body[field] = value
        return cbor.dumps(
            cbor.Tag(18, [message.protected, {}, cbor.dumps(body), message.signature])
        )

    return edit


def _resigned_by_another_key(raw: bytes, key: DoorKey) -> bytes:
    message = parse_sign1(raw, max_bytes=512)
    body = cbor.loads(message.payload)
    assert isinstance(body, list)
    body[3] = int(EventKind.LOCKED)
    return sign1(cbor.dumps(body), DoorKey.generate().signer)


@pytest.mark.parametrize(
    "tamper",
    [
        _edit(3, int(EventKind.LOCKED)),  # the refusal rewritten as a routine lock
        _edit(7, None),  # the reason erased
        _edit(6, "someone-else"),  # blamed on another subject
        _edit(2, int(T0.timestamp()) - 3600),  # moved an hour back
        _resigned_by_another_key,
    ],
    ids=["kind", "reason", "subject", "time", "resigned"],
)
def test_a_tampered_refusal_is_flagged_and_never_stored(
    bench: Bench, tamper: Callable[[bytes, DoorKey], bytes]
) -> None:
    refused = seq_of(bench, EventKind.REFUSED, "bad_signature")
    upload_raws = list(bench.log)
    upload_raws[refused - 1] = tamper(upload_raws[refused - 1], bench.lock.door_key)
    door = upload(bench, upload_raws)
    assert flags(door)["bad_signatures"] == [refused - 1]  # its position in the upload
    assert flags(door)["gaps"] == [[refused, refused]]
    assert door["stored"] == 4
    assert refused not in {r.door_seq for r in stored(bench)}


# --- reordered -------------------------------------------------------------------------------


def test_a_reordered_upload_is_stored_in_the_doors_order(bench: Bench) -> None:
    door = upload(bench, list(reversed(bench.log)))
    assert door["reordered"] is True
    assert door["stored"] == 5
    assert no_flags(door)
    assert [r.raw for r in stored(bench)] == bench.log


def test_a_reordering_resigned_with_the_door_key_breaks_the_chain(bench: Bench) -> None:
    """A compromised door key can re-sign events, but not undo the hash chain: moving the
    refusal after the next unlock (renumbered to look in order) breaks the links."""
    refused = seq_of(bench, EventKind.REFUSED, "bad_signature")
    bodies: list[list[object]] = []
    for raw in bench.log:
        body = cbor.loads(parse_sign1(raw, max_bytes=512).payload)
        assert isinstance(body, list)
        bodies.append(body)
    i = refused - 1
    bodies[i], bodies[i + 1] = bodies[i + 1], bodies[i]
    bodies[i][1], bodies[i + 1][1] = refused, refused + 1
    raws = [sign1(cbor.dumps(body), bench.lock.door_key.signer) for body in bodies]
    door = upload(bench, raws)
    assert flags(door)["broken_links"] == [refused, refused + 1, refused + 2]
    broken = {r.door_seq for r in stored(bench) if r.chain_broken}
    assert broken == {refused, refused + 1, refused + 2}


# --- duplicated --------------------------------------------------------------------------------


def test_duplicated_events_in_one_upload_and_across_uploads_are_stored_once(
    bench: Bench,
) -> None:
    doubled = [raw for raw in bench.log for _ in range(2)]
    door = upload(bench, doubled, receipts=bench.receipts)
    assert door["stored"] == 5
    assert door["duplicates"] == 5 + len(bench.receipts)
    assert no_flags(door)
    assert door["reordered"] is False
    again = upload(bench, bench.log[2:3])  # the refusal once more, from another phone
    assert again["stored"] == 0
    assert again["duplicates"] == 1
    assert no_flags(again)
    assert [r.raw for r in stored(bench)] == bench.log
