"""The partners' world in the seeded database (issue 15): the companies with their workers and
phones, the agreements with their doors and weekly windows, and who lives behind which stairwell.
Read once at the start of the day by :mod:`carekey.sim.day_partners`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    category: str
    admin_id: int | None
    workers: tuple[tuple[int, str, int], ...]  # (employee id, number, phone id), by number


@dataclass(frozen=True)
class Agreement:
    id: int
    association_id: int
    association: str
    company_id: int
    requires_errand: bool
    doors: tuple[str, ...]  # entrance and gate controllers (serials)
    windows: dict[int, tuple[int, int]]  # weekday -> (start minute, end minute)


@dataclass(frozen=True)
class PartnerWorld:
    companies: dict[int, Company]
    agreements: dict[int, Agreement]
    property_of: dict[str, int]  # entrance/gate serial -> property id
    entrance_id: dict[str, int]  # entrance controller serial -> entrance id
    residents: dict[str, list[tuple[str, str]]]  # entrance serial -> (home serial, name)
    worker_ids: frozenset[int]  # every partner worker of the municipality


def load_partner_world(engine: Engine) -> PartnerWorld:
    """The companies, their workers and phones, the agreements with their doors and windows,
    and who lives behind which stairwell (the errand's named resident, the home lock tried)."""
    with Session(engine) as s:
        people = s.execute(
            select(
                m.Employee.id,
                m.Employee.employee_number,
                m.Employee.partner_company_id,
                m.EmployeeRole.role,
                m.Phone.id.label("phone_id"),
            )
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .outerjoin(m.Phone, m.Phone.employee_id == m.Employee.id)
            .where(m.Employee.partner_company_id.is_not(None))
            .order_by(m.Employee.employee_number)
        ).all()
        workers: dict[int, list[tuple[int, str, int]]] = {}
        admins: dict[int, int] = {}
        for p in people:
            if p.role is e.Role.PARTNER_WORKER and p.phone_id is not None:
                workers.setdefault(p.partner_company_id, []).append(
                    (p.id, p.employee_number, p.phone_id)
                )
            elif p.role is e.Role.PARTNER_ADMIN:
                admins.setdefault(p.partner_company_id, p.id)
        companies = {
            c.id: Company(
                c.id, c.name, c.category.value, admins.get(c.id), tuple(workers.get(c.id, []))
            )
            for c in s.execute(select(m.PartnerCompany).order_by(m.PartnerCompany.id)).scalars()
        }
        doors: dict[int, list[str]] = {}
        for a in s.execute(
            select(m.AgreementDoor.agreement_id, m.DoorDevice.serial)
            .join(m.DoorDevice, m.DoorDevice.id == m.AgreementDoor.door_device_id)
            .order_by(m.DoorDevice.serial)
        ).all():
            doors.setdefault(a.agreement_id, []).append(a.serial)
        windows: dict[int, dict[int, tuple[int, int]]] = {}
        for w in s.execute(select(m.AgreementWindow)).scalars():
            windows.setdefault(w.agreement_id, {})[w.weekday] = (w.start_minute, w.end_minute)
        agreements = {
            a.id: Agreement(
                a.id,
                a.housing_association_id,
                a.name,
                a.partner_company_id,
                a.requires_errand,
                tuple(doors.get(a.id, ())),
                windows.get(a.id, {}),
            )
            for a in s.execute(
                select(
                    m.Agreement.id,
                    m.Agreement.housing_association_id,
                    m.Agreement.partner_company_id,
                    m.Agreement.requires_errand,
                    m.HousingAssociation.name,
                )
                .join(
                    m.HousingAssociation,
                    m.HousingAssociation.id == m.Agreement.housing_association_id,
                )
                .where(m.Agreement.blocked.is_(False))
                .order_by(m.Agreement.id)
            ).all()
        }
        property_of: dict[str, int] = {}
        entrance_id: dict[str, int] = {}
        for d in s.execute(
            select(
                m.DoorDevice.serial,
                m.DoorDevice.entrance_id,
                m.Entrance.property_id.label("entrance_property"),
                m.Gate.property_id.label("gate_property"),
            )
            .outerjoin(m.Entrance, m.Entrance.id == m.DoorDevice.entrance_id)
            .outerjoin(m.Gate, m.Gate.id == m.DoorDevice.gate_id)
            .where(
                m.DoorDevice.kind.in_([e.DoorKind.ENTRANCE_CONTROLLER, e.DoorKind.GATE_CONTROLLER])
            )
        ).all():
            place = d.entrance_property if d.entrance_property is not None else d.gate_property
            if place is not None:
                property_of[d.serial] = int(place)
            if d.entrance_id is not None:
                entrance_id[d.serial] = int(d.entrance_id)
        stairwell = {v: k for k, v in entrance_id.items()}
        residents: dict[str, list[tuple[str, str]]] = {}
        for r in s.execute(
            select(
                m.Dwelling.entrance_id,
                m.DoorDevice.serial,
                m.Citizen.given_name,
                m.Citizen.family_name,
            )
            .join(m.Dwelling, m.Dwelling.id == m.Citizen.dwelling_id)
            .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Dwelling.id)
            .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
            .order_by(m.DoorDevice.serial)
        ).all():
            entrance = stairwell.get(r.entrance_id)
            if entrance is not None:
                residents.setdefault(entrance, []).append(
                    (r.serial, f"{r.given_name} {r.family_name}")
                )
    return PartnerWorld(
        companies=companies,
        agreements=agreements,
        property_of=property_of,
        entrance_id=entrance_id,
        residents=residents,
        worker_ids=frozenset(i for ws in workers.values() for i, _, _ in ws),
    )
