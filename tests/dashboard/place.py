"""A municipality for the dashboard's tests: ``make_world``'s district with Else's home, and a
second district with Poul's, their care workers, an administrator and Poul's district lead;
and the events, keys and phones the tests add to it."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.protocol.keys import DevicePublicKey
from carekey.store import models as m
from tests.store.factories import World, door, make_world

# 09:00 in Copenhagen (winter time): the local day began at 23:00 UTC the day before.
NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


@dataclass
class Place:
    """A second district with its own citizen and home lock, next to ``make_world``'s."""

    world: World
    district: m.District
    citizen: m.Citizen
    home_lock: m.DoorDevice
    worker: m.Employee
    other_worker: m.Employee
    admin: Actor
    lead: Actor


def add_employee(
    db: Session, world: World, number: str, name: str, role: e.Role, district: int | None
) -> m.Employee:
    """An employee of ``world`` with one role, in ``district`` (or none)."""
    employee = m.Employee(
        municipality_id=world.municipality.id,
        employee_number=number,
        full_name=name,
        roles=[m.EmployeeRole(role=role)],
    )
    db.add(employee)
    db.flush()
    if district is not None:
        db.add(
            m.EmployeeDistrict(
                employee_id=employee.id,
                district_id=district,
                municipality_id=world.municipality.id,
            )
        )
        db.flush()
    return employee


def make_place(db: Session) -> Place:
    """``make_world`` plus district D02 (Vesterbro) with Poul Jensen's home lock, a care worker
    in each district, an administrator and D02's district lead."""
    world = make_world(db)
    district = m.District(municipality_id=world.municipality.id, code="D02", name="Vesterbro")
    db.add(district)
    db.flush()
    dwelling = m.Dwelling(entrance_id=world.entrance.id, floor="3", side="th")
    db.add(dwelling)
    db.flush()
    citizen = m.Citizen(
        municipality_id=world.municipality.id,
        district_id=district.id,
        dwelling_id=dwelling.id,
        given_name="Poul",
        family_name="Jensen",
        status=e.CitizenStatus.ACTIVE,
    )
    db.add(citizen)
    lock = door(db, world.municipality, e.DoorKind.HOME_LOCK, dwelling_id=dwelling.id)
    worker = add_employee(db, world, "W1", "Ali Hassan", e.Role.CARE_WORKER, world.district.id)
    other = add_employee(db, world, "W2", "Bente Berg", e.Role.CARE_WORKER, district.id)
    admin = add_employee(db, world, "A1", "Anne Admin", e.Role.ADMINISTRATOR, None)
    lead = add_employee(db, world, "L2", "Lis Leder", e.Role.DISTRICT_LEAD, district.id)
    return Place(
        world,
        district,
        citizen,
        lock,
        worker,
        other,
        Actor(admin.id, world.municipality.id, frozenset({e.Role.ADMINISTRATOR}), "Anne"),
        Actor(
            lead.id,
            world.municipality.id,
            frozenset({e.Role.DISTRICT_LEAD}),
            "Lis",
            district_ids=frozenset({district.id}),
        ),
    )


def add_event(
    db: Session,
    device: m.DoorDevice,
    action: e.AuditAction,
    at: dt.datetime,
    *,
    employee: m.Employee | None = None,
    citizen: m.Citizen | None = None,
    reason: str | None = None,
) -> None:
    """A door event at ``device``, next in its chain."""
    device.last_event_seq += 1
    db.add(
        m.AuditEvent(
            municipality_id=device.municipality_id,
            source=e.AuditSource.DOOR,
            action=action,
            door_device_id=device.id,
            employee_id=employee.id if employee else None,
            citizen_id=citizen.id if citizen else None,
            reason_code=reason,
            occurred_at=at,
            received_at=at,
            door_seq=device.last_event_seq,
        )
    )
    db.flush()


def add_credential(
    db: Session,
    employee: m.Employee,
    doors: list[m.DoorDevice],
    *,
    expires_at: dt.datetime,
    phone: m.Phone | None = None,
) -> m.IssuedCredential:
    """A nine-hour home key of ``employee`` to ``doors``, ending at ``expires_at``."""
    credential = m.IssuedCredential(
        credential_id=secrets.token_bytes(16),
        municipality_id=employee.municipality_id,
        issuer_kid=bytes(16),
        subject_type=e.SubjectType.EMPLOYEE,
        employee_id=employee.id,
        phone_id=phone.id if phone else None,
        kind=e.CredentialKind.HOME,
        serial=secrets.randbelow(2**31),
        denylist_version=0,
        door_device_ids=[d.id for d in doors],
        not_before=expires_at - dt.timedelta(hours=9),
        expires_at=expires_at,
        issued_at=expires_at - dt.timedelta(hours=9),
    )
    db.add(credential)
    db.flush()
    return credential


def add_phone(db: Session, employee: m.Employee, label: str) -> m.Phone:
    """A phone of ``employee`` with a fresh device key."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    phone = m.Phone(
        municipality_id=employee.municipality_id,
        employee_id=employee.id,
        label=label,
        public_key=DevicePublicKey.from_cryptography(public).compressed,
    )
    db.add(phone)
    db.flush()
    return phone
