"""Commissioning doors: the key and status a door gets, what is refused, and the log it leaves.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, NotFoundError
from carekey.doors.commissioning import (
    DoorKeyReport,
    commission_door,
    commission_doors,
)
from carekey.protocol.keys import DoorKey
from carekey.store import models as m
from tests.store.factories import World, door, make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _key(n: int = 1) -> bytes:
    return DoorKey.from_seed(bytes([n]) * 32).public.key.raw


def _actions(db: Session) -> list[m.AdminAction]:
    return list(db.execute(select(m.AdminAction).order_by(m.AdminAction.id)).scalars())


def _installer(world: World, db: Session) -> Actor:
    employee = m.Employee(
        municipality_id=world.municipality.id,
        employee_number="I1",
        full_name="Ivan Installatør",
        roles=[m.EmployeeRole(role=e.Role.ADMINISTRATOR)],
    )
    db.add(employee)
    db.flush()
    return Actor(employee.id, world.municipality.id, frozenset({e.Role.ADMINISTRATOR}), "Ivan (I1)")


def _reread(db: Session, device: m.DoorDevice) -> m.DoorDevice:
    db.commit()
    db.expire_all()
    fresh = db.get(m.DoorDevice, device.id)
    assert fresh is not None
    return fresh


def test_an_installed_door_is_commissioned_with_its_key_and_firmware(
    session: Session, world: World
) -> None:
    device = door(
        session,
        world.municipality,
        e.DoorKind.GATE_CONTROLLER,
        status=e.DoorStatus.INSTALLED,
        gate_id=world.gate.id,
    )
    done = commission_door(
        session, door_id=device.id, public_key=_key(), firmware_version=" 2.1.0 ", now=NOW
    )
    assert done.changed
    assert done.previous_status is e.DoorStatus.INSTALLED
    assert done.status is e.DoorStatus.COMMISSIONED
    stored = _reread(session, device)
    assert stored.public_key == _key()
    assert stored.firmware_version == "2.1.0"
    assert stored.status is e.DoorStatus.COMMISSIONED
    [action] = _actions(session)
    assert action.action == "door.commissioned"
    assert (action.target_type, action.target_id) == ("door_device", str(device.id))
    assert action.municipality_id == world.municipality.id
    assert action.actor_employee_id is None
    assert action.actor_label == "system"
    assert action.at == NOW
    assert action.details is not None
    assert action.details["serial"] == device.serial
    assert action.details["status"] == "commissioned"
    assert action.details["previous_status"] == "installed"
    assert action.details["firmware_version"] == "2.1.0"
    assert action.details["key_id"] != action.details["previous_key_id"]


@pytest.mark.parametrize("status", [e.DoorStatus.ACTIVE, e.DoorStatus.FAULTY])
def test_a_live_door_gets_its_new_key_and_keeps_its_status(
    session: Session, world: World, status: e.DoorStatus
) -> None:
    world.home_lock.status = status
    session.flush()
    done = commission_door(session, door_id=world.home_lock.id, public_key=_key(2), now=NOW)
    assert done.changed
    assert done.status is status
    stored = _reread(session, world.home_lock)
    assert stored.public_key == _key(2)
    assert stored.status is status
    assert stored.firmware_version == "1.0.0"  # not reported: unchanged


def test_commissioning_again_with_the_same_key_changes_and_logs_nothing(
    session: Session, world: World
) -> None:
    first = commission_door(session, door_id=world.home_lock.id, public_key=_key(), now=NOW)
    again = commission_door(
        session, door_id=world.home_lock.id, public_key=_key(), firmware_version="1.0.0", now=NOW
    )
    assert first.changed
    assert not again.changed
    assert len(_actions(session)) == 1


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33), bytes(64)], ids=len)
def test_a_key_that_is_not_32_bytes_is_refused(session: Session, world: World, key: bytes) -> None:
    with pytest.raises(DomainError) as refused:
        commission_door(session, door_id=world.home_lock.id, public_key=key, now=NOW)
    assert refused.value.code == "door.public_key_invalid"
    assert _reread(session, world.home_lock).public_key == bytes(32)
    assert _actions(session) == []


@pytest.mark.parametrize("version", ["", "   ", "x" * 33])
def test_a_firmware_version_must_fit(session: Session, world: World, version: str) -> None:
    with pytest.raises(DomainError) as refused:
        commission_door(
            session,
            door_id=world.home_lock.id,
            public_key=_key(),
            firmware_version=version,
            now=NOW,
        )
    assert refused.value.code == "door.firmware_version_invalid"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (e.DoorStatus.STOCK, "door.not_installed"),
        (e.DoorStatus.DECOMMISSIONED, "door.decommissioned"),
    ],
)
def test_a_door_in_stock_or_decommissioned_cannot_be_commissioned(
    session: Session, world: World, status: e.DoorStatus, code: str
) -> None:
    device = door(session, world.municipality, e.DoorKind.HOME_LOCK, status=status)
    with pytest.raises(ConflictError) as refused:
        commission_door(session, door_id=device.id, public_key=_key(), now=NOW)
    assert refused.value.code == code
    assert device.serial in refused.value.message_en
    stored = _reread(session, device)
    assert stored.status is status
    assert stored.public_key == bytes(32)


def test_an_unknown_door_is_not_found(session: Session, world: World) -> None:
    with pytest.raises(NotFoundError) as refused:
        commission_door(session, door_id=world.home_lock.id + 1000, public_key=_key(), now=NOW)
    assert refused.value.code == "door.not_found"


def test_an_actor_commissions_only_their_own_municipalitys_doors(
    session: Session, world: World
) -> None:
    actor = _installer(world, session)
    other = make_world(session, code="0147", name="Frederiksberg Kommune")
    with pytest.raises(NotFoundError):
        commission_door(
            session, door_id=other.home_lock.id, public_key=_key(), now=NOW, actor=actor
        )
    done = commission_door(
        session,
        door_id=world.home_lock.id,
        public_key=_key(),
        now=NOW,
        actor=actor,
        reason="ny printplade / new board",
    )
    assert done.changed
    [action] = _actions(session)
    assert action.actor_employee_id == actor.employee_id
    assert action.actor_label == "Ivan (I1)"
    assert action.reason == "ny printplade / new board"


def test_one_bad_door_in_a_batch_changes_nothing(session: Session, world: World) -> None:
    stock = door(session, world.municipality, e.DoorKind.HOME_LOCK, status=e.DoorStatus.STOCK)
    with pytest.raises(ConflictError):
        commission_doors(
            session,
            doors=[
                DoorKeyReport(world.home_lock.id, _key(1)),
                DoorKeyReport(world.entrance_controller.id, _key(2)),
                DoorKeyReport(stock.id, _key(3)),
            ],
            now=NOW,
        )
    assert _reread(session, world.home_lock).public_key == bytes(32)
    assert _reread(session, world.entrance_controller).public_key == bytes(32)
    assert _actions(session) == []


def test_a_door_listed_twice_is_refused(session: Session, world: World) -> None:
    with pytest.raises(DomainError) as refused:
        commission_doors(
            session,
            doors=[
                DoorKeyReport(world.home_lock.id, _key(1)),
                DoorKeyReport(world.home_lock.id, _key(2)),
            ],
            now=NOW,
        )
    assert refused.value.code == "door.listed_twice"
    assert _actions(session) == []


def test_a_large_batch_commissions_every_door_in_order(session: Session, world: World) -> None:
    # More doors than one IN list of the query module holds, given out of id order.
    entrances = [
        door(
            session,
            world.municipality,
            e.DoorKind.ENTRANCE_CONTROLLER,
            status=e.DoorStatus.INSTALLED,
            entrance_id=world.entrance.id,
        )
        for _ in range(620)
    ]
    keys = {d.id: DoorKey.from_seed(d.id.to_bytes(32, "big")).public.key.raw for d in entrances}
    order = list(reversed(entrances))
    done = commission_doors(
        session, doors=[DoorKeyReport(d.id, keys[d.id]) for d in order], now=NOW
    )
    assert [c.door_id for c in done] == [d.id for d in order]
    assert all(c.changed and c.status is e.DoorStatus.COMMISSIONED for c in done)
    session.commit()
    stored = dict(
        session.execute(
            select(m.DoorDevice.id, m.DoorDevice.public_key).where(m.DoorDevice.id.in_(list(keys)))
        ).all()
    )
    assert stored == keys
    assert len(_actions(session)) == len(entrances)
