"""Fixtures of the register's use-case tests: a municipality (Copenhagen) with its
administrator and auditor, a second one (Frederiksberg) with its administrator, and helpers
that make the actors of the other parties' people as the sign-in would."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_of
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import client, clock, tenants  # noqa: F401 - fixtures of the API tests
from tests.store.factories import World, make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
PASSWORD = "en-god-adgangskode"


@dataclass
class Place:
    world: World  # Copenhagen
    admin: Actor
    auditor: Actor
    other_admin: Actor  # Frederiksberg's


def person(
    db: Session, municipality_id: int, number: str, *roles: e.Role, **organisation: int
) -> m.Employee:
    """An employee (of an organisation, when ``housing_association_id`` or
    ``partner_company_id`` is given), flushed."""
    employee = m.Employee(
        municipality_id=municipality_id,
        employee_number=number,
        full_name=f"Person {number}",
        roles=[m.EmployeeRole(role=r) for r in roles],
        **organisation,
    )
    db.add(employee)
    db.flush()
    return employee


def actor(db: Session, employee: m.Employee) -> Actor:
    """The actor the sign-in makes of ``employee``."""
    return actor_of(db, employee)


def credential(
    db: Session, employee: m.Employee, doors: list[m.DoorDevice], *, hours_left: float = 4
) -> m.IssuedCredential:
    """A live stairwell credential of a partner worker to ``doors``."""
    row = m.IssuedCredential(
        credential_id=secrets.token_bytes(16),
        municipality_id=employee.municipality_id,
        issuer_kid=bytes(16),
        subject_type=e.SubjectType.PARTNER_STAFF,
        employee_id=employee.id,
        kind=e.CredentialKind.ENTRANCE,
        serial=secrets.randbelow(2**31),
        denylist_version=0,
        door_device_ids=[d.id for d in doors],
        not_before=NOW - dt.timedelta(hours=1),
        expires_at=NOW + dt.timedelta(hours=hours_left),
        issued_at=NOW - dt.timedelta(hours=1),
    )
    db.add(row)
    db.flush()
    return row


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


@pytest.fixture
def place(session: Session) -> Place:
    world = make_world(session)
    other = make_world(session, code="0147", name="Frederiksberg Kommune")
    admin = person(session, world.municipality.id, "A1", e.Role.ADMINISTRATOR)
    auditor = person(session, world.municipality.id, "R1", e.Role.AUDITOR)
    other_admin = person(session, other.municipality.id, "F1", e.Role.ADMINISTRATOR)
    return Place(world, actor(session, admin), actor(session, auditor), actor(session, other_admin))
