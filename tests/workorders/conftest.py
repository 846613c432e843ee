"""Work orders under test: the seeded municipality (small profile) of ``tests.api.conftest``,
with two installers of its own, and Frederiksberg as the other municipality."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_of
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import (  # noqa: F401 - fixtures
    START,
    Tenants,
    _employee,
    client,
    clock,
    sign_in,
    tenants,
)


@dataclass(frozen=True)
class Installers:
    """Two installers of municipality 1, a citizen with a home lock, an entrance and its
    controller (a property with the association's permission)."""

    one: int
    two: int
    citizen: int
    home_lock: int
    entrance: int
    entrance_door: int


@pytest.fixture
def installers(engine: Engine, tenants: Tenants) -> Installers:  # noqa: F811 - the fixture
    del tenants
    with Session(engine) as db, db.begin():
        one = _employee(db, 1, "M0001", "Montør Mads", e.Role.INSTALLER)
        two = _employee(db, 1, "M0002", "Montør Mette", e.Role.INSTALLER)
        citizen = (
            db.execute(
                select(m.Citizen)
                .where(m.Citizen.municipality_id == 1, m.Citizen.district_id == 1)
                .where(m.Citizen.dwelling_id.is_not(None))
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
        assert citizen is not None
        lock = (
            db.execute(select(m.DoorDevice).where(m.DoorDevice.dwelling_id == citizen.dwelling_id))
            .scalars()
            .first()
        )
        assert lock is not None
        door = (
            db.execute(
                select(m.DoorDevice)
                .join(m.Entrance, m.Entrance.id == m.DoorDevice.entrance_id)
                .join(
                    m.PermissionRequest, m.PermissionRequest.property_id == m.Entrance.property_id
                )
                .where(m.PermissionRequest.status == e.PermissionStatus.GRANTED)
                .where(m.DoorDevice.municipality_id == 1)
                .order_by(m.DoorDevice.id)
            )
            .scalars()
            .first()
        )
        assert door is not None
        assert door.entrance_id is not None
        return Installers(one.id, two.id, citizen.id, lock.id, door.entrance_id, door.id)


def actor(engine: Engine, employee_id: int) -> Actor:
    """The actor of one person, as a request would build it."""
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return actor_of(db, employee)


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session; each test commits what it needs."""
    with Session(engine) as session:
        yield session
