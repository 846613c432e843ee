"""Small look-ups in the seeded world for the consents' tests."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_of
from carekey.domain import enums as e
from carekey.store import models as m


def actor(engine: Engine, employee_id: int) -> Actor:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return actor_of(db, employee)


def citizen_in(engine: Engine, district_id: int) -> int:
    """The first active citizen of the district with a home lock."""
    with Session(engine) as db:
        found = (
            db.execute(
                select(m.Citizen.id)
                .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
                .where(m.Citizen.district_id == district_id)
                .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
        assert found is not None
        return found


def drop_consents(engine: Engine, citizen_id: int) -> None:
    """As if the citizen's consent had never been recorded."""
    with Session(engine) as db, db.begin():
        db.execute(delete(m.ConsentRecord).where(m.ConsentRecord.citizen_id == citizen_id))


def live_consent_id(engine: Engine, citizen_id: int) -> int:
    with Session(engine) as db:
        found = db.execute(
            select(m.ConsentRecord.id)
            .where(m.ConsentRecord.citizen_id == citizen_id)
            .where(m.ConsentRecord.withdrawn_at.is_(None))
        ).scalar_one()
        return int(found)


def home_lock_of(engine: Engine, citizen_id: int) -> m.DoorDevice:
    with Session(engine) as db:
        citizen = db.get(m.Citizen, citizen_id)
        assert citizen is not None
        lock = db.execute(
            select(m.DoorDevice).where(m.DoorDevice.dwelling_id == citizen.dwelling_id)
        ).scalar_one()
        db.expunge(lock)
        return lock


def count(engine: Engine, model: type[object]) -> int:
    with Session(engine) as db:
        return len(db.execute(select(model)).scalars().all())


def association_user(engine: Engine, association_id: int) -> int:
    with Session(engine) as db:
        found = (
            db.execute(
                select(m.Employee.id)
                .where(m.Employee.housing_association_id == association_id)
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        assert found is not None
        return found


def property_of(engine: Engine, association_id: int) -> tuple[int, int]:
    """A property of the association with an entrance: (property id, entrance id)."""
    with Session(engine) as db:
        row = db.execute(
            select(m.Property.id, m.Entrance.id)
            .join(m.Entrance, m.Entrance.property_id == m.Property.id)
            .where(m.Property.housing_association_id == association_id)
            .where(m.Property.municipality_id == 1)
            .order_by(m.Property.id, m.Entrance.id)
        ).first()
        assert row is not None
        return int(row[0]), int(row[1])
