"""All SQL of event ingest: doors and people an upload names, the stored chain of a door, and
the bulk inserts of door and app events.

Bulk by design (≥ 10,000 events/s): a handful of queries per door whatever the batch size, no
ORM object per event, and every ``IN (...)`` list cut into chunks of ``_IN_CHUNK`` values.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from typing import Any, Final, cast

from sqlalchemy import Row, Table, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from carekey.store.bulk import insert_rows

log = logging.getLogger(__name__)

_IN_CHUNK: Final = 500  # values per IN (...) list; keeps SQLite's variable limit far away

_AUDIT = cast(Table, m.AuditEvent.__table__)
AE = m.AuditEvent


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


# --- what an upload names ----------------------------------------------------------------------


def doors_by_serial(
    db: Session, *, municipality_id: int, serials: set[str]
) -> dict[str, m.DoorDevice]:
    """The municipality's doors with these serials, by serial (unknown serials are left out)."""
    found: dict[str, m.DoorDevice] = {}
    for chunk in _chunks(serials):
        for door in db.execute(
            select(m.DoorDevice)
            .where(m.DoorDevice.municipality_id == municipality_id)
            .where(m.DoorDevice.serial.in_(chunk))
        ).scalars():
            found[door.serial] = door
    return found


def credential_holders(
    db: Session, *, municipality_id: int, credential_ids: Iterable[bytes]
) -> Iterator[Row[bytes, int | None, int | None]]:
    """``credential_id``, ``employee_id`` and ``phone_id`` of the
    municipality's issued credentials among ``credential_ids``."""
    for chunk in _chunks(credential_ids):
        yield from db.execute(
            select(
                m.IssuedCredential.credential_id,
                m.IssuedCredential.employee_id,
                m.IssuedCredential.phone_id,
            )
            .where(m.IssuedCredential.municipality_id == municipality_id)
            .where(m.IssuedCredential.credential_id.in_(chunk))
        )


def known_employees(db: Session, *, municipality_id: int, employee_ids: Iterable[int]) -> set[int]:
    """Those of ``employee_ids`` that are employees of the municipality."""
    known: set[int] = set()
    for chunk in _chunks(employee_ids):
        known.update(
            db.execute(
                select(m.Employee.id)
                .where(m.Employee.municipality_id == municipality_id)
                .where(m.Employee.id.in_(chunk))
            ).scalars()
        )
    return known


def residents(
    db: Session, *, municipality_id: int, dwelling_id: int
) -> list[tuple[int, dt.datetime | None]]:
    """Every citizen who has lived in the dwelling, as ``(citizen id, removed at)`` by id."""
    return [
        (row.id, row.removed_at)
        for row in db.execute(
            select(m.Citizen.id, m.Citizen.removed_at)
            .where(m.Citizen.municipality_id == municipality_id)
            .where(m.Citizen.dwelling_id == dwelling_id)
            .order_by(m.Citizen.id)
        )
    ]


# --- a door's stored chain ---------------------------------------------------------------------


def chain_top(db: Session, *, door_device_id: int) -> Row[int | None, bytes | None] | None:
    """The door's stored event with the highest sequence (``door_seq``, ``event_hash``)."""
    return db.execute(
        select(AE.door_seq, AE.event_hash)
        .where(AE.door_device_id == door_device_id)
        .where(AE.door_seq.is_not(None))
        .order_by(AE.door_seq.desc())
        .limit(1)
    ).first()


def stored_events(
    db: Session, *, door_device_id: int, seqs: Iterable[int]
) -> Iterator[Row[int, int | None, bytes | None, bytes | None, bool, bool]]:
    """The door's stored events at these sequences: ``id``, ``door_seq``, ``event_hash``,
    ``prev_hash``, ``chain_gap``, ``chain_broken``."""
    for chunk in _chunks(sorted(set(seqs))):
        yield from db.execute(
            select(AE.id, AE.door_seq, AE.event_hash, AE.prev_hash, AE.chain_gap, AE.chain_broken)
            .where(AE.door_device_id == door_device_id)
            .where(AE.door_seq.in_(chunk))
        )


def last_stored_below(db: Session, *, door_device_id: int, seq: int) -> int:
    """The highest sequence stored for the door below ``seq`` (0 if none)."""
    found = db.execute(
        select(AE.door_seq)
        .where(AE.door_device_id == door_device_id)
        .where(AE.door_seq < seq)
        .order_by(AE.door_seq.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else 0


def set_chain_flags(db: Session, *, event_id: int, gap: bool, broken: bool) -> None:
    """Set a stored event's ``chain_gap`` and ``chain_broken``."""
    db.execute(
        update(_AUDIT).where(_AUDIT.c.id == event_id).values(chain_gap=gap, chain_broken=broken)
    )


def mark_broken(db: Session, *, event_ids: Iterable[int]) -> None:
    """Flag stored events as contested (``chain_broken``)."""
    for chunk in _chunks(event_ids):
        db.execute(update(_AUDIT).where(_AUDIT.c.id.in_(chunk)).values(chain_broken=True))


def last_overflow_marker(db: Session, *, door_device_id: int) -> int:
    """The highest seq of a LOG_OVERFLOW marker stored for the door (0 if none)."""
    found = db.execute(
        select(AE.door_seq)
        .where(AE.door_device_id == door_device_id)
        .where(AE.action == e.AuditAction.LOG_OVERFLOW)
        .where(AE.door_seq.is_not(None))
        .order_by(AE.door_seq.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else 0


def raise_events_dropped(door: m.DoorDevice, count: int) -> None:
    """Move the door's ``events_dropped`` up to ``count`` when flushed, never down (as
    :func:`raise_last_event_seq`)."""
    door.events_dropped = case(
        (m.DoorDevice.events_dropped < count, count),
        else_=m.DoorDevice.events_dropped,
    )


def raise_last_event_seq(door: m.DoorDevice, seq: int) -> None:
    """Move the door's ``last_event_seq`` up to ``seq`` when it is flushed, unless it is higher
    already then: an expression, not a Python max, since a concurrent upload may have moved it."""
    door.last_event_seq = case(
        (m.DoorDevice.last_event_seq < seq, seq),
        else_=m.DoorDevice.last_event_seq,
    )


# --- storing events ----------------------------------------------------------------------------


def insert_door_events(db: Session, *, door_device_id: int, rows: list[dict[str, Any]]) -> set[int]:
    """Insert a door's new events (``audit_event`` rows) in one statement (``COPY`` on
    PostgreSQL); if a concurrent upload stored some seqs first, fall back to one savepoint per
    row. Returns the seqs this call stored."""
    if not rows:
        return set()
    try:
        with db.begin_nested():
            insert_rows(db.connection(), _AUDIT, rows)
        return {int(r["door_seq"]) for r in rows}
    except IntegrityError:
        log.info("ingest: door %s raced with another upload; inserting one by one", door_device_id)
    inserted: set[int] = set()
    for row in rows:
        try:
            with db.begin_nested():
                db.execute(insert(_AUDIT), [row])
            inserted.add(int(row["door_seq"]))
        except IntegrityError:
            continue
    return inserted


def stored_idempotency_keys(db: Session, *, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` that a stored app event carries already."""
    existing: set[str] = set()
    for chunk in _chunks(keys):
        for stored_key in db.execute(
            select(AE.idempotency_key).where(AE.idempotency_key.in_(chunk))
        ).scalars():
            existing.add(str(stored_key))
    return existing


def insert_app_events(db: Session, *, rows: list[dict[str, Any]]) -> int:
    """Insert app events (``audit_event`` rows, each with its idempotency key) in one statement;
    if some key is stored already (a concurrent retry), one savepoint per row, skipping those.
    Returns how many this call stored."""
    try:
        with db.begin_nested():
            db.execute(insert(_AUDIT), rows)
        return len(rows)
    except IntegrityError:
        pass
    stored = 0
    for row in rows:
        try:
            with db.begin_nested():
                db.execute(insert(_AUDIT), [row])
            stored += 1
        except IntegrityError:
            continue
    return stored
