"""An API under test: a seeded municipality (Copenhagen, small profile), a second one
(Frederiksberg) to prove tenant isolation, a frozen clock, and signed-in clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.auth.passwords import hash_password
from carekey.clock import FrozenClock
from carekey.config import Settings
from carekey.domain import enums as e
from carekey.keyservice.issuer import create_issuer_key
from carekey.seed.service import DEMO_PASSWORD, seed
from carekey.server.app import create_app
from carekey.store import models as m
from carekey.store.sealed import seal
from tests.store.factories import make_world

if TYPE_CHECKING:
    from tests.api.phone_sim import Scene

SECRET = "test-secret-for-the-api-tests-0123456789"
START = dt.datetime(2026, 11, 26, 6, 45, tzinfo=dt.UTC)


@dataclass
class Tenants:
    """Ids of the people and things the API tests use."""

    admin: int  # administrator of municipality 1 (Copenhagen, seeded "small")
    auditor: int
    lead: int  # district lead of district 1
    worker: int  # care worker in district 1, with phone ``worker_phone``
    worker_phone: int
    other_admin: int  # administrator of municipality 2 (Frederiksberg)
    other_citizen: int
    other_phone: int
    other_employee: int
    other_door: int
    other_district: int


def _employee(
    session: Session, municipality_id: int, number: str, name: str, role: e.Role
) -> m.Employee:
    employee = m.Employee(
        municipality_id=municipality_id,
        employee_number=number,
        full_name=name,
        password_hash=hash_password(DEMO_PASSWORD),
        roles=[m.EmployeeRole(role=role)],
    )
    session.add(employee)
    session.flush()
    return employee


@pytest.fixture
def tenants(engine: Engine) -> Tenants:
    with engine.begin() as connection:
        seed(connection, profile="small", seed=1, secret=SECRET)
    with Session(engine) as session, session.begin():
        roles = {
            role: session.execute(
                select(m.EmployeeRole.employee_id)
                .where(m.EmployeeRole.role == role)
                .order_by(m.EmployeeRole.employee_id)
            )
            .scalars()
            .first()
            for role in e.Role
        }
        worker = (
            session.execute(
                select(m.Employee.id)
                .join(m.EmployeeRole)
                .join(m.EmployeeDistrict)
                .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
                .where(m.EmployeeDistrict.district_id == 1)
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        auditor = _employee(session, 1, "A0001", "Revisor Rask", e.Role.AUDITOR)
        lead = _employee(session, 1, "L0001", "Leder Lund", e.Role.DISTRICT_LEAD)
        session.add(m.EmployeeDistrict(employee_id=lead.id, district_id=1, municipality_id=1))
        other = make_world(session, code="0147", name="Frederiksberg Kommune")
        create_issuer_key(
            session,
            municipality_id=other.municipality.id,
            secret=SECRET,
            now=START,
            status=e.IssuerKeyStatus.ACTIVE,
        )
        other_admin = _employee(
            session, other.municipality.id, "F0001", "Frida Admin", e.Role.ADMINISTRATOR
        )
        other_worker = _employee(
            session, other.municipality.id, "F0002", "Finn Hjælper", e.Role.CARE_WORKER
        )
        other_phone = m.Phone(
            municipality_id=other.municipality.id, employee_id=other_worker.id, label="FK-TLF-1"
        )
        session.add(other_phone)
        session.flush()
        assert roles[e.Role.ADMINISTRATOR] is not None
        assert worker is not None
        return Tenants(
            admin=roles[e.Role.ADMINISTRATOR],
            auditor=auditor.id,
            lead=lead.id,
            worker=worker,
            worker_phone=worker,  # the seed gives employee n the phone n
            other_admin=other_admin.id,
            other_citizen=other.citizen.id,
            other_phone=other_phone.id,
            other_employee=other_worker.id,
            other_door=other.home_lock.id,
            other_district=other.district.id,
        )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def client(engine: Engine, clock: FrozenClock, tenants: Tenants) -> Iterator[TestClient]:
    settings = Settings(secret_key=SECRET)  # type: ignore[arg-type]
    with TestClient(create_app(settings, engine=engine, clock=clock)) as test_client:
        yield test_client


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the test employees' authenticator secret


def totp_code_for(client: TestClient, employee_id: int, engine: Engine) -> str:
    """A fresh TOTP code for an office employee, setting up their second factor if needed.

    A code works once: if this employee's current step was used already, the app's frozen clock
    moves on to the next step (30 s), as a person would wait for the next code."""
    clock = client.app.state.clock  # type: ignore[attr-defined]
    with Session(engine) as session, session.begin():
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        if employee.totp_secret_sealed is None:
            employee.totp_secret_sealed = seal(TOTP_SECRET.encode(), secret=SECRET, purpose="totp")
        step = int(clock.now().timestamp()) // 30
        if employee.totp_last_step is not None and employee.totp_last_step >= step:
            clock.advance(dt.timedelta(seconds=30 * (employee.totp_last_step - step + 1)))
    return pyotp.TOTP(TOTP_SECRET).at(clock.now())


def sign_in(client: TestClient, employee_id: int, engine: Engine) -> dict[str, str]:
    """Authorization headers for an office employee, signed in through the API (password and
    TOTP code)."""
    code = totp_code_for(client, employee_id, engine)
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        municipality = session.get(m.Municipality, employee.municipality_id)
        assert municipality is not None
        body = {
            "municipality": municipality.code,
            "employee_number": employee.employee_number,
            "password": DEMO_PASSWORD,
            "totp_code": code,
        }
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def scene(client: TestClient, engine: Engine, clock: FrozenClock, tenants: Tenants) -> Scene:
    """The seeded municipality over HTTP, an administrator signed in, doors to simulate."""
    from tests.api.phone_sim import Scene

    return Scene(client, engine, clock, sign_in(client, tenants.admin, engine))
