"""The SQL of employees: lists and look-ups, their districts and phones."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from carekey.access import Scope, employees_in
from carekey.domain import enums as e
from carekey.store import models as m
from carekey.store.search import contains

BY_NAME = (m.Employee.full_name, m.Employee.id)


def employees(
    scope: Scope,
    *,
    q: str | None = None,
    role: e.Role | None = None,
    district_id: int | None = None,
    status: e.EmployeeStatus | None = None,
) -> Select[m.Employee]:
    """Employees in ``scope`` whose name or number contains ``q``, with ``role``, in
    ``district_id`` and with ``status`` (each if given); unordered, for paging."""
    stmt = select(m.Employee).where(employees_in(scope))
    if role is not None:
        stmt = stmt.where(
            exists().where(m.EmployeeRole.employee_id == m.Employee.id, m.EmployeeRole.role == role)
        )
    if q and q.strip():
        pattern = contains(q)
        stmt = stmt.where(
            or_(
                m.Employee.full_name.ilike(pattern, escape="\\"),
                m.Employee.employee_number.ilike(pattern, escape="\\"),
            )
        )
    if district_id is not None:
        stmt = stmt.where(
            exists().where(
                m.EmployeeDistrict.employee_id == m.Employee.id,
                m.EmployeeDistrict.district_id.in_([district_id]),
            )
        )
    if status is not None:
        stmt = stmt.where(m.Employee.status == status)
    return stmt


def employee_by_number_any_case(
    db: Session, scope: Scope, employee_number: str
) -> m.Employee | None:
    """The employee in ``scope`` with this employee number, in any case."""
    return db.execute(
        select(m.Employee)
        .where(employees_in(scope))
        .where(func.lower(m.Employee.employee_number) == employee_number.strip().lower())
    ).scalar_one_or_none()


def employee_with_number(
    db: Session, municipality_id: int, employee_number: str
) -> m.Employee | None:
    """The municipality's employee with exactly this employee number (unique there)."""
    return db.execute(
        select(m.Employee)
        .where(m.Employee.municipality_id == municipality_id)
        .where(m.Employee.employee_number == employee_number)
    ).scalar_one_or_none()


def employee_numbers(db: Session, municipality_id: int) -> dict[str, tuple[int, str]]:
    """Every employee number of the municipality in lower case, with the employee's id and the
    number as stored (the first by id where numbers differing only in case were ever stored)."""
    found: dict[str, tuple[int, str]] = {}
    for employee_id, number in db.execute(
        select(m.Employee.id, m.Employee.employee_number)
        .where(m.Employee.municipality_id == municipality_id)
        .order_by(m.Employee.id)
    ):
        found.setdefault(number.lower(), (employee_id, number))
    return found


def districts_of(db: Session, employee_ids: Iterable[int]) -> dict[int, list[m.District]]:
    """Each employee's districts, by code."""
    found: dict[int, list[m.District]] = {}
    for employee_id, district in db.execute(
        select(m.EmployeeDistrict.employee_id, m.District)
        .join(m.District, m.District.id == m.EmployeeDistrict.district_id)
        .where(m.EmployeeDistrict.employee_id.in_(list(employee_ids)))
        .order_by(m.District.code)
    ):
        found.setdefault(employee_id, []).append(district)
    return found


def phones_of(db: Session, employee_ids: Iterable[int]) -> dict[int, list[m.Phone]]:
    """Each employee's phones, oldest first."""
    found: dict[int, list[m.Phone]] = {}
    for phone in db.execute(
        select(m.Phone).where(m.Phone.employee_id.in_(list(employee_ids))).order_by(m.Phone.id)
    ).scalars():
        assert phone.employee_id is not None
        found.setdefault(phone.employee_id, []).append(phone)
    return found


def memberships(db: Session, employee_id: int) -> list[m.EmployeeDistrict]:
    """The employee's memberships of districts."""
    return list(
        db.execute(
            select(m.EmployeeDistrict).where(m.EmployeeDistrict.employee_id == employee_id)
        ).scalars()
    )
