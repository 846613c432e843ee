"""The partner company's portal under test (errands and the company's log): the seeded
municipality (small profile) with, on top of the seed:

- company P: the parcel company, its administrator, its first worker (with a phone) and its
  first agreement, which needs an errand per visit (Monday–Saturday 08:00–21:00 Danish time),
  with an entrance the agreement covers and one it does not;
- company Q: another company (meal boxes, pharmacy or post), given an errand agreement with
  the same association over the same entrance, its administrator and worker;
- a newspaper agreement of another company (no errands), for the refusal.

The fixture lives here, not in a ``conftest.py``: the test modules import it by name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.partner_policy import LegalBasis
from carekey.store import models as m
from tests.api.conftest import START, Tenants, sign_in


@dataclass(frozen=True)
class Company:
    """A partner company's ids: the company, its administrator, its first worker and phone,
    and its first errand agreement with one of its entrances."""

    id: int
    admin: int
    worker: int
    worker_number: str
    worker_name: str
    phone: int
    agreement: int
    entrance: int
    entrance_serial: str
    entrance_door: int


@dataclass(frozen=True)
class ErrandWorld:
    p: Company
    q: Company
    uncovered_entrance: int  # an entrance P's agreement does not cover
    windowed_agreement: int  # an agreement without errands (newspapers)


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in November 2026, Danish time, as UTC (26 November is a Thursday)."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=COPENHAGEN).astimezone(dt.UTC)


def _company(db: Session, company_id: int) -> Company:
    def person(role: e.Role) -> m.Employee:
        found = (
            db.execute(
                select(m.Employee)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .where(m.Employee.partner_company_id == company_id)
                .where(m.EmployeeRole.role == role)
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        assert found is not None
        return found

    admin, worker = person(e.Role.PARTNER_ADMIN), person(e.Role.PARTNER_WORKER)
    phone = db.execute(select(m.Phone.id).where(m.Phone.employee_id == worker.id)).scalar_one()
    row = db.execute(
        select(m.Agreement.id, m.DoorDevice.entrance_id, m.DoorDevice.serial, m.DoorDevice.id)
        .join(m.AgreementDoor, m.AgreementDoor.agreement_id == m.Agreement.id)
        .join(m.DoorDevice, m.DoorDevice.id == m.AgreementDoor.door_device_id)
        .where(m.Agreement.partner_company_id == company_id)
        .where(m.Agreement.requires_errand.is_(True))
        .where(m.DoorDevice.kind == e.DoorKind.ENTRANCE_CONTROLLER)
        .order_by(m.Agreement.id, m.DoorDevice.id)
    ).first()
    assert row is not None
    return Company(
        company_id,
        admin.id,
        worker.id,
        worker.employee_number,
        worker.full_name,
        phone,
        row[0],
        row[1],
        row[2],
        row[3],
    )


def _errand_agreement_for(db: Session, company_id: int, like: int) -> None:
    """Give ``company_id`` an errand agreement with the association of agreement ``like``,
    over its first entrance controller, Monday-Saturday 08:00-21:00."""
    model = db.get(m.Agreement, like)
    assert model is not None
    door = (
        db.execute(
            select(m.AgreementDoor)
            .where(m.AgreementDoor.agreement_id == like)
            .where(m.AgreementDoor.door_kind == e.DoorKind.ENTRANCE_CONTROLLER)
            .order_by(m.AgreementDoor.door_device_id)
        )
        .scalars()
        .first()
    )
    assert door is not None
    agreement = m.Agreement(
        housing_association_id=model.housing_association_id,
        partner_company_id=company_id,
        legal_basis=LegalBasis.NAMED_RESIDENT,
        valid_from=START - dt.timedelta(days=30),
        requires_errand=True,
    )
    db.add(agreement)
    db.flush()
    db.add(
        m.AgreementDoor(
            agreement_id=agreement.id, door_device_id=door.door_device_id, door_kind=door.door_kind
        )
    )
    db.add_all(
        m.AgreementWindow(agreement_id=agreement.id, weekday=d, start_minute=480, end_minute=1260)
        for d in range(6)
    )


@pytest.fixture
def world(engine: Engine, tenants: Tenants) -> ErrandWorld:
    with Session(engine) as db, db.begin():
        parcel = db.execute(
            select(m.PartnerCompany.id).where(m.PartnerCompany.category == e.PartnerCategory.PARCEL)
        ).scalar_one()
        other = db.execute(
            select(m.PartnerCompany.id)
            .where(m.PartnerCompany.id != parcel)
            .where(
                m.PartnerCompany.category.in_(
                    [e.PartnerCategory.MEAL_BOX, e.PartnerCategory.PHARMACY, e.PartnerCategory.POST]
                )
            )
            .order_by(m.PartnerCompany.id)
        ).scalar()
        assert other is not None
        p = _company(db, parcel)
        _errand_agreement_for(db, other, p.agreement)
        q = _company(db, other)
        covered = (
            select(m.DoorDevice.entrance_id)
            .join(m.AgreementDoor, m.AgreementDoor.door_device_id == m.DoorDevice.id)
            .where(m.AgreementDoor.agreement_id == p.agreement)
            .where(m.DoorDevice.entrance_id.is_not(None))  # NOT IN and NULL: no row at all
        )
        uncovered = db.execute(
            select(m.DoorDevice.entrance_id)
            .where(m.DoorDevice.kind == e.DoorKind.ENTRANCE_CONTROLLER)
            .where(m.DoorDevice.municipality_id == 1)
            .where(m.DoorDevice.entrance_id.not_in(covered))
            .order_by(m.DoorDevice.id)
        ).scalar()
        windowed = db.execute(
            select(m.Agreement.id)
            .where(m.Agreement.requires_errand.is_(False))
            .order_by(m.Agreement.id)
        ).scalar()
        assert uncovered is not None
        assert windowed is not None
        return ErrandWorld(p, q, uncovered, windowed)


def headers(client: TestClient, engine: Engine, employee_id: int) -> dict[str, str]:
    """Bearer headers of one person, signed in through the API (password and TOTP)."""
    return sign_in(client, employee_id, engine)


def errand_body(c: Company, **changes: object) -> dict[str, object]:
    """A valid errand for company ``c``: Thursday 26 November 09:00–11:00 Danish time."""
    body: dict[str, object] = {
        "agreement_id": c.agreement,
        "entrance_id": c.entrance,
        "reference": "PKG-4711",
        "recipient": "Jensen, 3. tv.",
        "not_before": local(26, 9).isoformat(),
        "not_after": local(26, 11).isoformat(),
    }
    body.update(changes)
    return body


assert local(26, 7, 45) == START  # the fixtures' clock: Thursday 07:45 Danish time
