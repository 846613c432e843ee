"""The housing association's portal under test: the seeded municipality (small profile, three
housing associations with users ``B001``…``B003``), with, on top of the seed:

- an open permission request at association A's (1) property and one at B's (2);
- home care at A's entrance: a care worker (renamed, so the name is unique) opens A's entrance
  controller 23 times in October 2026, 4 times in September and twice in November (the current
  month at the tests' clock, 26 November 2026), and the home lock of a citizen there;
- a partner worker (renamed) opening A's entrance controller, and B's;
- live credentials issued under A's agreements, for the revocation.

It also gives the names and serials that must never appear on an association's page.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_of
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import (  # noqa: F401 - fixtures
    START,
    Tenants,
    client,
    clock,
    sign_in,
    tenants,
)

CARE_WORKER_NAME = "Karla Kommunesen-Hjemmepleje"
PARTNER_WORKER_NAME = "Pelle Postbud-Partnersen"
CITIZEN_GIVEN, CITIZEN_FAMILY = "Gudrun", "Borgersen-Beboer"


@dataclass
class Portal:
    """Ids in the world, and what an association's page must never show."""

    a: int  # association 1
    b: int  # association 2
    a_user: int  # B001
    b_user: int  # B002
    a_property: int  # an A property with an entrance controller
    a_entrance: int
    a_controller: int
    a_home_lock: int
    a_gate: int | None  # an A gate with a controller, if A has one
    b_property: int
    b_controller: int
    a_request: int  # open permission requests
    b_request: int
    a_agreement: int  # one of A's seeded agreements
    b_agreement: int
    company: int  # a company A has an agreement with (and B too)
    care_worker: int
    partner_worker: int
    secret_texts: list[str] = field(default_factory=list)
    """Citizens' names, municipal employees' names, home lock serials."""


def _local(year: int, month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=COPENHAGEN).astimezone(dt.UTC)


def _event(
    db: Session, door: int, employee: int, when: dt.datetime, citizen: int | None = None
) -> None:
    db.add(
        m.AuditEvent(
            municipality_id=1,
            source=e.AuditSource.DOOR,
            action=e.AuditAction.RELAY_PULSED,
            door_device_id=door,
            employee_id=employee,
            citizen_id=citizen,
            occurred_at=when,
            received_at=when,
        )
    )


def _controller_of(db: Session, property_id: int) -> tuple[int, int] | None:
    row = db.execute(
        select(m.Entrance.id, m.DoorDevice.id)
        .join(m.DoorDevice, m.DoorDevice.entrance_id == m.Entrance.id)
        .where(m.Entrance.property_id == property_id)
        .order_by(m.Entrance.id)
    ).first()
    return (row[0], row[1]) if row else None


@pytest.fixture
def portal(engine: Engine, tenants: Tenants) -> Portal:  # noqa: F811 - the fixture
    with Session(engine) as db, db.begin():
        user = {
            n: db.execute(select(m.Employee.id).where(m.Employee.employee_number == n)).scalar_one()
            for n in ("B001", "B002")
        }
        places: dict[int, tuple[int, int, int]] = {}
        for association in (1, 2):
            for prop in db.execute(
                select(m.Property.id)
                .where(m.Property.housing_association_id == association)
                .order_by(m.Property.id)
            ).scalars():
                found = _controller_of(db, prop)
                if found:
                    places[association] = (prop, *found)
                    break
        a_property, a_entrance, a_controller = places[1]
        b_property, _b_entrance, b_controller = places[2]
        a_gate = db.execute(
            select(m.Gate.id)
            .join(m.Property, m.Property.id == m.Gate.property_id)
            .where(m.Property.housing_association_id == 1)
            .order_by(m.Gate.id)
        ).scalar()
        citizen = (
            db.execute(
                select(m.Citizen)
                .join(m.Dwelling, m.Dwelling.id == m.Citizen.dwelling_id)
                .where(m.Dwelling.entrance_id == a_entrance)
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
        assert citizen is not None
        citizen.given_name, citizen.family_name = CITIZEN_GIVEN, CITIZEN_FAMILY
        home_lock = db.execute(
            select(m.DoorDevice.id).where(m.DoorDevice.dwelling_id == citizen.dwelling_id)
        ).scalar_one()
        worker = db.get(m.Employee, tenants.worker)
        assert worker is not None
        worker.full_name = CARE_WORKER_NAME
        partner = db.execute(
            select(m.Employee).where(m.Employee.employee_number == "P01-001")
        ).scalar_one()
        partner.full_name = PARTNER_WORKER_NAME
        requests = []
        for association, prop in ((1, a_property), (2, b_property)):
            request = m.PermissionRequest(
                municipality_id=1,
                housing_association_id=association,
                property_id=prop,
                covers_entrances=True,
                covers_gates=False,
                status=e.PermissionStatus.REQUESTED,
                requested_at=START - dt.timedelta(days=3),
            )
            db.add(request)
            requests.append(request)
        # Home care at A's entrance: October 23, September 4, November (this month) 2.
        for n in range(23):
            _event(db, a_controller, worker.id, _local(2026, 10, 1 + n, 8), citizen.id)
        for n in range(4):
            _event(db, a_controller, worker.id, _local(2026, 9, 2 + n, 9), citizen.id)
        for n in range(2):
            _event(db, a_controller, worker.id, _local(2026, 11, 2 + n, 9), citizen.id)
        db.add(
            m.AuditEvent(
                municipality_id=1,
                source=e.AuditSource.DOOR,
                action=e.AuditAction.UNLOCKED,
                door_device_id=home_lock,
                employee_id=worker.id,
                citizen_id=citizen.id,
                occurred_at=_local(2026, 10, 3, 8),
            )
        )
        # A partner worker at A's entrance and at B's.
        _event(db, a_controller, partner.id, _local(2026, 11, 20, 7))
        _event(db, b_controller, partner.id, _local(2026, 11, 21, 7))
        company = partner.partner_company_id
        assert company is not None
        agreement_of = {
            association: db.execute(
                select(m.Agreement.id)
                .where(m.Agreement.housing_association_id == association)
                .where(m.Agreement.partner_company_id == company)
            ).scalar_one()
            for association in (1, 2)
        }
        _credential(db, partner.id, agreement_of[1], a_controller)
        _credential(db, partner.id, agreement_of[2], b_controller)
        db.flush()
        secret_texts = [f"{CITIZEN_GIVEN} {CITIZEN_FAMILY}", CITIZEN_FAMILY, CARE_WORKER_NAME]
        secret_texts += list(
            db.execute(
                select(m.DoorDevice.serial).where(m.DoorDevice.kind == e.DoorKind.HOME_LOCK)
            ).scalars()
        )
        # Every citizen's and municipal employee's name, but for names that a partner worker or
        # an association's user happens to share (the seed draws all names from one list).
        shown = set(
            db.execute(
                select(m.Employee.full_name).where(
                    (m.Employee.partner_company_id.is_not(None))
                    | (m.Employee.housing_association_id.is_not(None))
                )
            ).scalars()
        )
        people = [
            f"{g} {f}" for g, f in db.execute(select(m.Citizen.given_name, m.Citizen.family_name))
        ]
        people += list(
            db.execute(
                select(m.Employee.full_name)
                .where(m.Employee.partner_company_id.is_(None))
                .where(m.Employee.housing_association_id.is_(None))
            ).scalars()
        )
        secret_texts += sorted({n for n in people if n not in shown} - set(secret_texts))
        return Portal(
            a=1,
            b=2,
            a_user=user["B001"],
            b_user=user["B002"],
            a_property=a_property,
            a_entrance=a_entrance,
            a_controller=a_controller,
            a_home_lock=home_lock,
            a_gate=a_gate,
            b_property=b_property,
            b_controller=b_controller,
            a_request=requests[0].id,
            b_request=requests[1].id,
            a_agreement=agreement_of[1],
            b_agreement=agreement_of[2],
            company=company,
            care_worker=worker.id,
            partner_worker=partner.id,
            secret_texts=secret_texts,
        )


def _credential(db: Session, employee: int, agreement: int, door: int) -> None:
    db.add(
        m.IssuedCredential(
            credential_id=secrets.token_bytes(16),
            municipality_id=1,
            issuer_kid=bytes(16),
            subject_type=e.SubjectType.EMPLOYEE,
            employee_id=employee,
            agreement_id=agreement,
            kind=e.CredentialKind.ENTRANCE,
            serial=1,
            denylist_version=0,
            door_device_ids=[door],
            not_before=START - dt.timedelta(hours=1),
            expires_at=START + dt.timedelta(hours=6),
            issued_at=START - dt.timedelta(hours=1),
        )
    )


def actor(engine: Engine, employee_id: int) -> Actor:
    """The actor of one person, as a request would build it."""
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return actor_of(db, employee)


def headers(http: TestClient, engine: Engine, employee_id: int) -> dict[str, str]:
    """Bearer headers of one person, signed in through the API (password and TOTP)."""
    return sign_in(http, employee_id, engine)


def leaks(text: str, portal: Portal) -> list[str]:
    """The texts of home care that ``text`` shows (none may be shown)."""
    return [s for s in portal.secret_texts if s in text]
