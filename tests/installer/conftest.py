"""A municipality with an installer, their orders, a door in stock and a simulated door for it
(``carekey.sim.testbed``: real Ed25519 door keys and signed receipts). SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.keyservice.issuer import create_issuer_key
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed
from carekey.store import models as m
from tests.store.factories import World, door, make_world

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
SECRET = "test-secret-for-installer-tests-0123456789"


def employee(db: Session, world: World, number: str, role: e.Role) -> Actor:
    person = m.Employee(
        municipality_id=world.municipality.id,
        employee_number=number,
        full_name=f"Person {number}",
        roles=[m.EmployeeRole(role=role)],
    )
    db.add(person)
    db.flush()
    return Actor(person.id, world.municipality.id, frozenset({role}), f"Person ({number})")


def order(
    db: Session,
    world: World,
    *,
    assigned: Actor | None,
    kind: e.WorkOrderKind = e.WorkOrderKind.INSTALL,
    status: e.WorkOrderStatus = e.WorkOrderStatus.SCHEDULED,
    dwelling_id: int | None = None,
    scheduled_for: dt.datetime | None = NOW,
) -> m.WorkOrder:
    row = m.WorkOrder(
        municipality_id=world.municipality.id,
        kind=kind,
        status=status,
        dwelling_id=dwelling_id,
        assigned_to_employee_id=assigned.employee_id if assigned is not None else None,
        scheduled_for=scheduled_for,
    )
    db.add(row)
    db.flush()
    return row


@dataclass
class Site:
    db: Session
    world: World
    installer: Actor
    other_installer: Actor
    care: Actor
    admin: Actor
    dwelling: m.Dwelling
    stock: m.DoorDevice
    install: m.WorkOrder
    bed: Testbed
    lock: HomeLock
    phone: Phone

    def receipt(self, command: Command, args: dict[str, object] | None = None) -> bytes:
        result = self.bed.visit(self.phone, self.lock, command, args)
        assert result.response.receipt is not None, result
        return result.response.receipt

    @property
    def door_key(self) -> bytes:
        return self.lock.door_key.public.key.raw


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


@pytest.fixture
def site(session: Session) -> Site:
    world = make_world(session)
    create_issuer_key(
        session,
        municipality_id=world.municipality.id,
        secret=SECRET,
        now=NOW,
        status=e.IssuerKeyStatus.ACTIVE,
    )
    installer = employee(session, world, "I1", e.Role.INSTALLER)
    other = employee(session, world, "I2", e.Role.INSTALLER)
    care = employee(session, world, "C1", e.Role.CARE_WORKER)
    admin = employee(session, world, "A1", e.Role.ADMINISTRATOR)
    dwelling = m.Dwelling(entrance_id=world.entrance.id, floor="3", side="th")
    session.add(dwelling)
    session.flush()
    stock = door(session, world.municipality, e.DoorKind.HOME_LOCK, status=e.DoorStatus.STOCK)
    install = order(session, world, assigned=installer, dwelling_id=dwelling.id)
    bed = Testbed(start=NOW)
    lock = bed.home_lock(stock.serial.encode())
    phone = bed.phone(f"e{installer.employee_id}")
    bed.credential(phone, stock.serial.encode(), admin=True)
    session.commit()
    return Site(
        session, world, installer, other, care, admin, dwelling, stock, install, bed, lock, phone
    )
