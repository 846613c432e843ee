"""The SQL of a partner company's errands (``partners.errands``): the agreements an errand may
be made under, the entrances they cover, the company's workers, and the errands themselves.

Reach comes in as a ``Scope`` of one company and becomes SQL through the conditions of
``carekey.access.org_queries`` (``agreements_in``, ``errands_in``, ``org_people_in``), so that
another company's agreement, errand or worker is never selected here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from carekey.access import Scope
from carekey.access.org_queries import agreements_in, errands_in, org_people_in
from carekey.domain import enums as e
from carekey.store import models as m


@dataclass(frozen=True)
class ErrandRow:
    """An errand with what the company's pages show of it."""

    errand: m.Errand
    association_name: str
    entrance: m.Entrance
    property: m.Property
    worker_name: str | None


@dataclass(frozen=True)
class EntrancePlace:
    """An entrance an agreement covers (it has an entrance controller on the agreement)."""

    entrance: m.Entrance
    property: m.Property


def agreement_entrances(
    db: Session, agreement_ids: Collection[int]
) -> dict[int, list[EntrancePlace]]:
    """Each agreement's entrances: those of its entrance controllers, by address."""
    if not agreement_ids:
        return {}
    found: dict[int, list[EntrancePlace]] = {}
    seen: set[tuple[int, int]] = set()
    for agreement_id, entrance, prop in db.execute(
        select(m.AgreementDoor.agreement_id, m.Entrance, m.Property)
        .join(m.DoorDevice, m.DoorDevice.id == m.AgreementDoor.door_device_id)
        .join(m.Entrance, m.Entrance.id == m.DoorDevice.entrance_id)
        .join(m.Property, m.Property.id == m.Entrance.property_id)
        .where(m.AgreementDoor.agreement_id.in_(sorted(agreement_ids)))
        .where(m.DoorDevice.kind == e.DoorKind.ENTRANCE_CONTROLLER)
        .order_by(m.Property.street, m.Property.house_number, m.Entrance.label, m.Entrance.id)
    ):
        if (agreement_id, entrance.id) not in seen:
            seen.add((agreement_id, entrance.id))
            found.setdefault(agreement_id, []).append(EntrancePlace(entrance, prop))
    return found


def windows_of(db: Session, agreement_id: int) -> list[m.AgreementWindow]:
    """An agreement's weekly windows, Monday first."""
    return list(
        db.execute(
            select(m.AgreementWindow)
            .where(m.AgreementWindow.agreement_id == agreement_id)
            .order_by(m.AgreementWindow.weekday, m.AgreementWindow.start_minute)
        ).scalars()
    )


def errand_agreements(
    db: Session, scope: Scope, *, now: dt.datetime
) -> list[tuple[m.Agreement, str]]:
    """The company's agreements that need an errand per visit and still admit (not ended,
    not blocked), with the association's name: the ones the form offers."""
    return [
        (a, name)
        for a, name in db.execute(
            select(m.Agreement, m.HousingAssociation.name)
            .join(
                m.HousingAssociation,
                m.HousingAssociation.id == m.Agreement.housing_association_id,
            )
            .where(agreements_in(scope))
            .where(m.Agreement.requires_errand.is_(True))
            .where(m.Agreement.blocked.is_(False))
            .where(or_(m.Agreement.valid_until.is_(None), m.Agreement.valid_until > now))
            .order_by(m.HousingAssociation.name, m.Agreement.id)
        ).all()
    ]


def is_active_worker(db: Session, employee_id: int) -> bool:
    """Whether the employee is an active partner worker (not an administrator, not blocked)."""
    found = db.execute(
        select(m.EmployeeRole.employee_id)
        .join(m.Employee, m.Employee.id == m.EmployeeRole.employee_id)
        .where(m.EmployeeRole.employee_id == employee_id)
        .where(m.EmployeeRole.role == e.Role.PARTNER_WORKER)
        .where(m.Employee.status == e.EmployeeStatus.ACTIVE)
    ).first()
    return found is not None


def workers(db: Session, scope: Scope) -> list[m.Employee]:
    """The company's active workers, by name (for the form's choice)."""
    return list(
        db.execute(
            select(m.Employee)
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .where(org_people_in(scope))
            .where(m.EmployeeRole.role == e.Role.PARTNER_WORKER)
            .where(m.Employee.status == e.EmployeeStatus.ACTIVE)
            .order_by(m.Employee.full_name, m.Employee.id)
        ).scalars()
    )


def state_condition(state: e.ErrandStatus, now: dt.datetime) -> ColumnElement[bool]:
    """Errands in ``state`` as the pages show it: an approved errand whose period is over is
    expired (the row keeps ``approved``: nothing rewrites it when the period ends)."""
    status = m.Errand.status
    if state is e.ErrandStatus.APPROVED:
        return and_(status == e.ErrandStatus.APPROVED, m.Errand.not_after > now)
    if state is e.ErrandStatus.EXPIRED:
        return or_(
            status == e.ErrandStatus.EXPIRED,
            and_(status == e.ErrandStatus.APPROVED, m.Errand.not_after <= now),
        )
    return status == state


def errands(
    db: Session,
    scope: Scope,
    *,
    now: dt.datetime,
    state: e.ErrandStatus | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    errand_id: int | None = None,
    limit: int,
    offset: int = 0,
) -> tuple[list[ErrandRow], int]:
    """One page of the company's errands, the latest period first, and how many there are:
    in ``state`` (as the pages show it), overlapping ``[since, until)``."""
    where: Any = errands_in(scope)
    if state is not None:
        where = and_(where, state_condition(state, now))
    if since is not None:
        where = and_(where, m.Errand.not_after > since)
    if until is not None:
        where = and_(where, m.Errand.not_before < until)
    if errand_id is not None:
        where = and_(where, m.Errand.id == errand_id)
    total = db.execute(select(func.count()).select_from(m.Errand).where(where)).scalar_one()
    worker = aliased(m.Employee)
    rows = db.execute(
        select(m.Errand, m.HousingAssociation.name, m.Entrance, m.Property, worker.full_name)
        .join(m.Agreement, m.Agreement.id == m.Errand.agreement_id)
        .join(m.HousingAssociation, m.HousingAssociation.id == m.Agreement.housing_association_id)
        .join(m.Entrance, m.Entrance.id == m.Errand.entrance_id)
        .join(m.Property, m.Property.id == m.Entrance.property_id)
        .outerjoin(worker, worker.id == m.Errand.employee_id)
        .where(where)
        .order_by(m.Errand.not_before.desc(), m.Errand.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [ErrandRow(r[0], r[1], r[2], r[3], r[4]) for r in rows], int(total)
