"""The SQL of the partner company's portal: its people and phones, its agreements with their
controllers and windows. Every statement is narrowed by the company's scope
(``access.org_queries``): another company's people, phones and agreements, and the
municipality's own staff and phones, are in none of these lists."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, aliased

from carekey.access import Scope
from carekey.access.org_queries import agreements_in, org_people_in, org_phones_in
from carekey.domain import enums as e
from carekey.store import models as m

BY_NAME: Final = (m.Employee.full_name, m.Employee.id)
BY_LABEL: Final = (m.Phone.label, m.Phone.id)


@dataclass(frozen=True, slots=True)
class DoorPlace:
    """A controller an agreement covers, and where it sits."""

    door: m.DoorDevice
    property: m.Property
    entrance: m.Entrance | None
    gate: m.Gate | None


def people(scope: Scope, *, role: e.Role | None = None) -> Select[m.Employee]:
    """The company's people (administrators and workers), with ``role`` if given; unordered,
    for paging."""
    stmt = select(m.Employee).where(org_people_in(scope))
    if role is not None:
        stmt = stmt.where(
            exists().where(m.EmployeeRole.employee_id == m.Employee.id, m.EmployeeRole.role == role)
        )
    return stmt


def phones(scope: Scope) -> Select[m.Phone]:
    """The company's phones; unordered, for paging."""
    return select(m.Phone).where(org_phones_in(scope))


def phones_of(db: Session, scope: Scope, employee_ids: Collection[int]) -> dict[int, list[m.Phone]]:
    """Each of these people's phones (the company's own), by label."""
    found: dict[int, list[m.Phone]] = {}
    if not employee_ids:
        return found
    for phone in db.execute(
        select(m.Phone)
        .where(org_phones_in(scope))
        .where(m.Phone.employee_id.in_(sorted(employee_ids)))
        .order_by(*BY_LABEL)
    ).scalars():
        assert phone.employee_id is not None
        found.setdefault(phone.employee_id, []).append(phone)
    return found


def people_by_id(db: Session, scope: Scope, employee_ids: Collection[int]) -> dict[int, m.Employee]:
    """The company's people with these ids."""
    if not employee_ids:
        return {}
    return {
        x.id: x
        for x in db.execute(
            select(m.Employee)
            .where(org_people_in(scope))
            .where(m.Employee.id.in_(sorted(employee_ids)))
        ).scalars()
    }


def staff_counts(db: Session, scope: Scope) -> dict[str, int]:
    """How many people (``people``, active ``active``), workers (``workers``) and phones
    (``phones``) the company has."""
    people_total, active = db.execute(
        select(
            func.count(m.Employee.id),
            func.count(m.Employee.id).filter(m.Employee.status == e.EmployeeStatus.ACTIVE),
        ).where(org_people_in(scope))
    ).one()
    workers = db.execute(
        select(func.count()).select_from(people(scope, role=e.Role.PARTNER_WORKER).subquery())
    ).scalar_one()
    phone_count = db.execute(
        select(func.count(m.Phone.id)).where(org_phones_in(scope))
    ).scalar_one()
    return {
        "people": int(people_total),
        "active": int(active),
        "workers": int(workers),
        "phones": int(phone_count),
    }


def employee_number_taken(db: Session, municipality_id: int, number: str) -> bool:
    """Whether anyone of the municipality (its own staff included) has this employee number."""
    return (
        db.execute(
            select(m.Employee.id)
            .where(m.Employee.municipality_id == municipality_id)
            .where(m.Employee.employee_number == number)
        ).first()
        is not None
    )


def phone_label_taken(db: Session, municipality_id: int, label: str) -> bool:
    """Whether any phone of the municipality (its own included) has this label."""
    return (
        db.execute(
            select(m.Phone.id)
            .where(m.Phone.municipality_id == municipality_id)
            .where(m.Phone.label == label)
        ).first()
        is not None
    )


def agreements(db: Session, scope: Scope) -> list[tuple[m.Agreement, m.HousingAssociation]]:
    """The company's agreements with the association of each, newest first."""
    return [
        (row[0], row[1])
        for row in db.execute(
            select(m.Agreement, m.HousingAssociation)
            .join(
                m.HousingAssociation,
                m.HousingAssociation.id == m.Agreement.housing_association_id,
            )
            .where(agreements_in(scope))
            .order_by(m.Agreement.valid_from.desc(), m.Agreement.id.desc())
        ).all()
    ]


def doors_of(db: Session, agreement_ids: Collection[int]) -> dict[int, list[DoorPlace]]:
    """Each agreement's controllers with their place, by address."""
    if not agreement_ids:
        return {}
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    dd = m.DoorDevice
    rows: list[Any] = list(
        db.execute(
            select(m.AgreementDoor.agreement_id, dd, prop, entrance, gate)
            .join(dd, dd.id == m.AgreementDoor.door_device_id)
            .outerjoin(entrance, entrance.id == dd.entrance_id)
            .outerjoin(gate, gate.id == dd.gate_id)
            .join(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
            .where(m.AgreementDoor.agreement_id.in_(sorted(agreement_ids)))
            .order_by(prop.street, prop.house_number, dd.kind, dd.serial)
        ).all()
    )
    found: dict[int, list[DoorPlace]] = {}
    for agreement_id, door, place, at_entrance, at_gate in rows:
        found.setdefault(agreement_id, []).append(DoorPlace(door, place, at_entrance, at_gate))
    return found


def windows_of(db: Session, agreement_ids: Collection[int]) -> dict[int, list[m.AgreementWindow]]:
    """Each agreement's weekly windows, Monday first."""
    found: dict[int, list[m.AgreementWindow]] = {}
    if not agreement_ids:
        return found
    for window in db.execute(
        select(m.AgreementWindow)
        .where(m.AgreementWindow.agreement_id.in_(sorted(agreement_ids)))
        .order_by(
            m.AgreementWindow.agreement_id,
            m.AgreementWindow.weekday,
            m.AgreementWindow.start_minute,
        )
    ).scalars():
        found.setdefault(window.agreement_id, []).append(window)
    return found
