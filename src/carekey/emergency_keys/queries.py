"""The SQL of emergency keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from carekey.access import Scope, grants_in
from carekey.store import models as m

NEWEST_FIRST = (m.EmergencyKeyGrant.starts_at.desc(), m.EmergencyKeyGrant.id.desc())


def grants(
    scope: Scope,
    *,
    live_at: dt.datetime | None = None,
    employee_id: int | None = None,
    citizen_id: int | None = None,
) -> Select[m.EmergencyKeyGrant]:
    """Emergency keys in ``scope``: those not revoked and not ended at ``live_at``, those of
    ``employee_id`` and those to ``citizen_id`` (each if given); unordered, for paging."""
    grant = m.EmergencyKeyGrant
    stmt = select(grant).where(grants_in(scope))
    if live_at is not None:
        stmt = stmt.where(grant.revoked_at.is_(None)).where(grant.ends_at > live_at)
    if employee_id is not None:
        stmt = stmt.where(grant.employee_id == employee_id)
    if citizen_id is not None:
        stmt = stmt.where(grant.citizen_id == citizen_id)
    return stmt


def employees_by_id(db: Session, employee_ids: Iterable[int]) -> dict[int, m.Employee]:
    """The employees with these ids."""
    return {
        x.id: x
        for x in db.execute(
            select(m.Employee).where(m.Employee.id.in_(list(employee_ids)))
        ).scalars()
    }


def citizens_by_id(db: Session, citizen_ids: Iterable[int]) -> dict[int, m.Citizen]:
    """The citizens with these ids."""
    return {
        c.id: c
        for c in db.execute(select(m.Citizen).where(m.Citizen.id.in_(list(citizen_ids)))).scalars()
    }


def municipality(db: Session, municipality_id: int) -> m.Municipality | None:
    """The municipality, with its limit on an emergency key's duration."""
    return db.get(m.Municipality, municipality_id)


def in_district(db: Session, employee_id: int, district_id: int) -> bool:
    """Whether the employee belongs to the district."""
    found = db.execute(
        select(m.EmployeeDistrict.district_id)
        .where(m.EmployeeDistrict.employee_id == employee_id)
        .where(m.EmployeeDistrict.district_id == district_id)
    ).first()
    return found is not None


def live_credentials_of(db: Session, grant_id: int, now: dt.datetime) -> list[m.IssuedCredential]:
    """The credentials issued for an emergency key that have not expired at ``now``."""
    return list(
        db.execute(
            select(m.IssuedCredential)
            .where(m.IssuedCredential.emergency_grant_id == grant_id)
            .where(m.IssuedCredential.expires_at > now)
        ).scalars()
    )
