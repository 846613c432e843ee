"""The SQL of the municipality's register of housing associations and partner companies.

Every list and look-up goes through the conditions of ``access.org_queries``, so what a
municipality's administrator, an association's user and a partner administrator see of the
register is decided there and only there.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carekey.access import Scope
from carekey.access.org_queries import (
    agreements_in,
    associations_in,
    companies_in,
    org_people_in,
    properties_in,
)
from carekey.domain import enums as e
from carekey.store import models as m


def associations(db: Session, scope: Scope) -> list[m.HousingAssociation]:
    """The housing associations ``scope`` reaches, by name."""
    return list(
        db.execute(
            select(m.HousingAssociation)
            .where(associations_in(scope))
            .order_by(m.HousingAssociation.name, m.HousingAssociation.id)
        ).scalars()
    )


def companies(db: Session, scope: Scope) -> list[m.PartnerCompany]:
    """The partner companies ``scope`` reaches, by name."""
    return list(
        db.execute(
            select(m.PartnerCompany)
            .where(companies_in(scope))
            .order_by(m.PartnerCompany.name, m.PartnerCompany.id)
        ).scalars()
    )


def people_of_association(db: Session, scope: Scope, association_id: int) -> list[m.Employee]:
    """The association's users that ``scope`` reaches, by name."""
    return list(
        db.execute(
            select(m.Employee)
            .where(org_people_in(scope))
            .where(m.Employee.housing_association_id == association_id)
            .order_by(m.Employee.full_name, m.Employee.id)
        ).scalars()
    )


def people_of_company(db: Session, scope: Scope, company_id: int) -> list[m.Employee]:
    """The company's administrators and workers that ``scope`` reaches, by name."""
    return list(
        db.execute(
            select(m.Employee)
            .where(org_people_in(scope))
            .where(m.Employee.partner_company_id == company_id)
            .order_by(m.Employee.full_name, m.Employee.id)
        ).scalars()
    )


def property_counts(db: Session, scope: Scope, association_ids: Iterable[int]) -> dict[int, int]:
    """How many properties in ``scope`` each association owns."""
    rows = db.execute(
        select(m.Property.housing_association_id, func.count())
        .where(properties_in(scope))
        .where(m.Property.housing_association_id.in_(list(association_ids)))
        .group_by(m.Property.housing_association_id)
    ).all()
    return {int(k): int(n) for k, n in rows if k is not None}


def agreement_counts_of_associations(
    db: Session, scope: Scope, association_ids: Iterable[int]
) -> dict[int, int]:
    """How many agreements in ``scope`` each association has."""
    rows = db.execute(
        select(m.Agreement.housing_association_id, func.count())
        .where(agreements_in(scope))
        .where(m.Agreement.housing_association_id.in_(list(association_ids)))
        .group_by(m.Agreement.housing_association_id)
    ).all()
    return {int(k): int(n) for k, n in rows}


def agreement_counts_of_companies(
    db: Session, scope: Scope, company_ids: Iterable[int]
) -> dict[int, int]:
    """How many agreements in ``scope`` each company has."""
    rows = db.execute(
        select(m.Agreement.partner_company_id, func.count())
        .where(agreements_in(scope))
        .where(m.Agreement.partner_company_id.in_(list(company_ids)))
        .group_by(m.Agreement.partner_company_id)
    ).all()
    return {int(k): int(n) for k, n in rows}


def association_with_cvr(db: Session, municipality_id: int, cvr: str) -> int | None:
    """The id of the municipality's housing association with this CVR number, if any."""
    return db.execute(
        select(m.HousingAssociation.id)
        .where(m.HousingAssociation.municipality_id == municipality_id)
        .where(m.HousingAssociation.cvr == cvr)
    ).scalar_one_or_none()


def company_with_cvr(db: Session, municipality_id: int, cvr: str) -> int | None:
    """The id of the municipality's partner company with this CVR number, if any."""
    return db.execute(
        select(m.PartnerCompany.id)
        .where(m.PartnerCompany.municipality_id == municipality_id)
        .where(m.PartnerCompany.cvr == cvr)
    ).scalar_one_or_none()


def employee_number_taken(db: Session, municipality_id: int, employee_number: str) -> bool:
    """Whether anyone of the municipality (its staff or another party's people) has this
    employee number: it is the user name they sign in with."""
    return (
        db.execute(
            select(m.Employee.id)
            .where(m.Employee.municipality_id == municipality_id)
            .where(m.Employee.employee_number == employee_number)
        ).first()
        is not None
    )


def company_workers(db: Session, company_id: int, *, active_only: bool) -> list[m.Employee]:
    """The company's partner workers (those who may hold stairwell keys), by id; with
    ``active_only``, leaving out those blocked one by one."""
    stmt = (
        select(m.Employee)
        .where(m.Employee.partner_company_id == company_id)
        .where(
            select(m.EmployeeRole.employee_id)
            .where(m.EmployeeRole.employee_id == m.Employee.id)
            .where(m.EmployeeRole.role == e.Role.PARTNER_WORKER)
            .exists()
        )
    )
    if active_only:
        stmt = stmt.where(m.Employee.status == e.EmployeeStatus.ACTIVE)
    return list(db.execute(stmt.order_by(m.Employee.id)).scalars())
