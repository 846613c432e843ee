"""The other parties in the access tests' world: housing associations and partner companies
(issue 15), all registered with Copenhagen.

Two sides, each an association with a property and a company with an agreement into it:

    own   association A (a property with an entrance controller and a gate controller) and
          partner company P (a newspaper distributor), agreement A ↔ P over both doors;
    out   association B (a property with an entrance controller) and partner company Q (a
          parcel service, errands required), agreement B ↔ Q over B's entrance.

Every organisation has its people: A's and B's association user, P's and Q's partner
administrator, and a partner worker of each company with a phone of the company
(``phone.partner_company_id``). The actors ``assoc`` (A's user), ``padmin`` (P's
administrator) and ``pworker`` (P's worker) act on the ``own`` side; ``assoc_out`` and
``padmin_out`` are the same people aiming at the ``out`` side's objects (another association's,
another company's). Each partner worker opened their agreement's entrance once, for a partner
log to show. Names, numbers and serials are distinctive, for a page or a list to be searched.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.partner_policy import LegalBasis, OrganisationKind, valid_cvr_near
from carekey.store import models as m

COPENHAGEN = 1


@dataclass(frozen=True)
class OrgSide:
    """One housing association, one partner company, the agreement between them, and the
    people and phones of both."""

    association: int
    association_name: str
    association_cvr: str | None
    association_user: int  # the association's user (role association_user)
    association_user_number: str
    property: int
    property_street: str
    entrance: int
    entrance_door: int  # the entrance controller of ``entrance``
    entrance_door_serial: str
    gate_door: int | None  # the gate controller (own side only)
    company: int
    company_name: str
    company_cvr: str
    partner_admin: int  # the company's administrator (role partner_admin)
    partner_admin_number: str
    worker: int  # the company's worker (role partner_worker)
    worker_number: str
    worker_name: str
    phone: int  # the worker's phone, a phone of the company
    phone_label: str
    agreement: int


@dataclass(frozen=True)
class OrgPeople:
    """The employee rows of the people who sign in, for the world to give them credentials."""

    assoc: m.Employee
    padmin: m.Employee
    pworker: m.Employee
    pworker_phone: int


def _person(
    session: Session,
    number: str,
    name: str,
    role: e.Role,
    password_hash: str,
    *,
    association: int | None = None,
    company: int | None = None,
) -> m.Employee:
    person = m.Employee(
        municipality_id=COPENHAGEN,
        employee_number=number,
        full_name=name,
        email=f"{number.lower()}@org.example",
        password_hash=password_hash,
        housing_association_id=association,
        partner_company_id=company,
        roles=[m.EmployeeRole(role=role)],
    )
    session.add(person)
    session.flush()
    return person


def _controller(
    session: Session, kind: e.DoorKind, serial: str, now: dt.datetime, **place: int
) -> m.DoorDevice:
    door = m.DoorDevice(
        municipality_id=COPENHAGEN,
        kind=kind,
        serial=serial,
        public_key=secrets.token_bytes(32),
        firmware_version="1.8.0",
        status=e.DoorStatus.ACTIVE,
        installed_at=now - dt.timedelta(days=60),
        **place,
    )
    session.add(door)
    session.flush()
    return door


def _side(
    session: Session,
    tag: str,
    company_tag: str,
    *,
    category: e.PartnerCategory,
    basis: LegalBasis,
    cvr_seed: int,
    association_cvr: str | None,
    with_gate: bool,
    password_hash: str,
    now: dt.datetime,
) -> tuple[OrgSide, m.Employee, m.Employee, m.Employee]:
    association = m.HousingAssociation(
        municipality_id=COPENHAGEN,
        name=f"Probe Boligforening {tag}",
        cvr=association_cvr,
        contact_email=f"forening-{tag.lower()}@org.example",
    )
    company = m.PartnerCompany(
        municipality_id=COPENHAGEN,
        name=f"Probe Partner {company_tag} ApS",
        cvr=valid_cvr_near(cvr_seed),
        organisation_kind=OrganisationKind.COMPANY,
        category=category,
        contact_email=f"partner-{company_tag.lower()}@org.example",
    )
    session.add_all([association, company])
    session.flush()
    street = f"Probevej {tag}"
    place = m.Property(
        municipality_id=COPENHAGEN,
        housing_association_id=association.id,
        street=street,
        house_number="1",
        postal_code="2200",
        city="København N",
    )
    session.add(place)
    session.flush()
    entrance = m.Entrance(property_id=place.id, label=f"{street} 1")
    session.add(entrance)
    session.flush()
    entrance_door = _controller(
        session,
        e.DoorKind.ENTRANCE_CONTROLLER,
        f"PROBE-ORG-{tag}-EC",
        now,
        entrance_id=entrance.id,
    )
    doors = [entrance_door]
    if with_gate:
        gate = m.Gate(property_id=place.id, label=f"{street} port")
        session.add(gate)
        session.flush()
        doors.append(
            _controller(
                session, e.DoorKind.GATE_CONTROLLER, f"PROBE-ORG-{tag}-GC", now, gate_id=gate.id
            )
        )
    agreement = m.Agreement(
        housing_association_id=association.id,
        partner_company_id=company.id,
        legal_basis=basis,
        valid_from=now - dt.timedelta(days=30),
        requires_errand=basis is LegalBasis.NAMED_RESIDENT,
    )
    session.add(agreement)
    session.flush()
    session.add_all(
        m.AgreementDoor(agreement_id=agreement.id, door_device_id=d.id, door_kind=d.kind)
        for d in doors
    )
    # Thursdays (the world's day) 07:00-17:00 local time.
    session.add(
        m.AgreementWindow(agreement_id=agreement.id, weekday=3, start_minute=420, end_minute=1020)
    )
    user = _person(
        session,
        f"ORG-{tag}-USER",
        f"Foreningsbruger {tag}",
        e.Role.ASSOCIATION_USER,
        password_hash,
        association=association.id,
    )
    admin = _person(
        session,
        f"ORG-{company_tag}-ADM",
        f"Partneradministrator {company_tag}",
        e.Role.PARTNER_ADMIN,
        password_hash,
        company=company.id,
    )
    worker = _person(
        session,
        f"ORG-{company_tag}-W01",
        f"Partnerbud {company_tag}",
        e.Role.PARTNER_WORKER,
        password_hash,
        company=company.id,
    )
    phone = m.Phone(
        municipality_id=COPENHAGEN,
        employee_id=worker.id,
        label=f"ORG-{company_tag}-TLF-1",
        partner_company_id=company.id,
    )
    session.add(phone)
    session.flush()
    session.add(
        m.AuditEvent(
            municipality_id=COPENHAGEN,
            source=e.AuditSource.SERVER,
            action=e.AuditAction.UNLOCKED,
            employee_id=worker.id,
            phone_id=phone.id,
            door_device_id=entrance_door.id,
            occurred_at=now - dt.timedelta(minutes=30),
            received_at=now - dt.timedelta(minutes=30),
        )
    )
    session.flush()
    side = OrgSide(
        association=association.id,
        association_name=association.name,
        association_cvr=association.cvr,
        association_user=user.id,
        association_user_number=user.employee_number,
        property=place.id,
        property_street=street,
        entrance=entrance.id,
        entrance_door=entrance_door.id,
        entrance_door_serial=entrance_door.serial,
        gate_door=doors[1].id if with_gate else None,
        company=company.id,
        company_name=company.name,
        company_cvr=company.cvr or "",
        partner_admin=admin.id,
        partner_admin_number=admin.employee_number,
        worker=worker.id,
        worker_number=worker.employee_number,
        worker_name=worker.full_name,
        phone=phone.id,
        phone_label=phone.label,
        agreement=agreement.id,
    )
    return side, user, admin, worker


def build_orgs(
    session: Session, *, password_hash: str, now: dt.datetime
) -> tuple[dict[str, OrgSide], OrgPeople]:
    """Associations A and B, companies P and Q, their agreements, people and phones."""
    own, assoc, padmin, pworker = _side(
        session,
        "A",
        "P",
        category=e.PartnerCategory.NEWSPAPER,
        basis=LegalBasis.GOODS_OR_SERVICES,
        cvr_seed=31_000_000,
        association_cvr=valid_cvr_near(32_000_000),
        with_gate=True,
        password_hash=password_hash,
        now=now,
    )
    out, _user, _admin, _worker = _side(
        session,
        "B",
        "Q",
        category=e.PartnerCategory.PARCEL,
        basis=LegalBasis.NAMED_RESIDENT,
        cvr_seed=33_000_000,
        association_cvr=None,
        with_gate=False,
        password_hash=password_hash,
        now=now,
    )
    return {"own": own, "out": out}, OrgPeople(assoc, padmin, pworker, own.phone)
