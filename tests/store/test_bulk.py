"""``store.bulk.insert_rows``: COPY on PostgreSQL, executemany on SQLite; the same rows, the
same refusal of a duplicate, and the savepoint undoes a refused batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from carekey.store.bulk import insert_rows
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
AUDIT = cast(Table, m.AuditEvent.__table__)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


def _row(municipality_id: int, door_id: int, seq: int, reason: str | None) -> dict[str, Any]:
    return {
        "municipality_id": municipality_id,
        "source": e.AuditSource.DOOR,
        "action": e.AuditAction.UNLOCKED if seq % 2 else e.AuditAction.LOCKED,
        "door_device_id": door_id,
        "reason_code": reason,
        "occurred_at": NOW + dt.timedelta(seconds=seq),
        "received_at": NOW,
        "door_seq": seq,
        "prev_hash": bytes([seq]) * 32,
        "event_hash": bytes([seq + 1]) * 32,
        "signature": b"\x00\xff" * 32,
        "raw": b"\x00'\"\\\n\t,;" + bytes(range(256)),  # every byte, COPY's special ones too
        "chain_gap": seq == 3,
        "chain_broken": False,
    }


def test_rows_arrive_as_given(session: Session) -> None:
    world = make_world(session)
    rows = [
        _row(world.municipality.id, world.home_lock.id, seq, reason)
        for seq, reason in ((1, "tab\tand\nnewline"), (2, None), (3, "ÆØÅ æøå \\N"))
    ]
    with session.begin_nested():
        insert_rows(session.connection(), AUDIT, rows)
    stored = (
        session.execute(
            select(m.AuditEvent)
            .where(m.AuditEvent.door_device_id == world.home_lock.id)
            .order_by(m.AuditEvent.door_seq)
        )
        .scalars()
        .all()
    )
    assert [s.door_seq for s in stored] == [1, 2, 3]
    for event, row in zip(stored, rows, strict=True):
        assert event.source is e.AuditSource.DOOR  # the enum's value went in, not its name
        assert event.action is row["action"]
        assert event.reason_code == row["reason_code"]  # "\\N" stays text, None stays NULL
        assert event.raw == row["raw"]
        assert event.signature == row["signature"]
        assert event.prev_hash == row["prev_hash"]
        assert event.chain_gap is row["chain_gap"]
        assert event.occurred_at.astimezone(dt.UTC) == row["occurred_at"]


def test_a_duplicate_refuses_the_whole_batch(session: Session) -> None:
    world = make_world(session)
    mid, door_id = world.municipality.id, world.home_lock.id
    with session.begin_nested():
        insert_rows(session.connection(), AUDIT, [_row(mid, door_id, 1, None)])
    with pytest.raises(IntegrityError), session.begin_nested():
        insert_rows(
            session.connection(), AUDIT, [_row(mid, door_id, 2, None), _row(mid, door_id, 1, None)]
        )
    # The savepoint undid the refused batch; the transaction goes on.
    seqs = (
        session.execute(select(m.AuditEvent.door_seq).where(m.AuditEvent.door_device_id == door_id))
        .scalars()
        .all()
    )
    assert seqs == [1]
    with session.begin_nested():
        insert_rows(session.connection(), AUDIT, [_row(mid, door_id, 2, None)])
    assert session.execute(select(m.AuditEvent.door_seq)).scalars().all() == [1, 2]


def test_no_rows_touch_nothing_and_unknown_columns_are_refused(session: Session) -> None:
    insert_rows(cast(Any, None), AUDIT, [])  # nothing to do: the connection is not touched
    world = make_world(session)
    row = {**_row(world.municipality.id, world.home_lock.id, 1, None), "no_such_column": 1}
    with pytest.raises(ValueError, match="no_such_column"), session.begin_nested():
        insert_rows(session.connection(), AUDIT, [row])
