"""The SQL of districts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carekey.access import Scope, districts_in
from carekey.domain import enums as e
from carekey.store import models as m


def districts_in_scope(db: Session, scope: Scope) -> list[m.District]:
    """The districts ``scope`` reaches, by code."""
    stmt = select(m.District).where(districts_in(scope))
    return list(db.execute(stmt.order_by(m.District.code, m.District.id)).scalars())


def employee_counts(db: Session, district_ids: Iterable[int]) -> dict[int, int]:
    """How many employees belong to each district."""
    return dict(
        db.execute(
            select(m.EmployeeDistrict.district_id, func.count())
            .where(m.EmployeeDistrict.district_id.in_(list(district_ids)))
            .group_by(m.EmployeeDistrict.district_id)
        ).all()
    )


def citizen_counts(db: Session, district_ids: Iterable[int]) -> dict[int, int]:
    """How many citizens (not removed) each district has."""
    return dict(
        db.execute(
            select(m.Citizen.district_id, func.count())
            .where(m.Citizen.district_id.in_(list(district_ids)))
            .where(m.Citizen.status != e.CitizenStatus.REMOVED)
            .group_by(m.Citizen.district_id)
        ).all()
    )


def code_taken(db: Session, municipality_id: int, code: str, but: int | None = None) -> bool:
    """Whether another district of the municipality (not ``but``) has ``code``."""
    stmt = (
        select(m.District.id)
        .where(m.District.municipality_id == municipality_id)
        .where(m.District.code == code)
    )
    if but is not None:
        stmt = stmt.where(m.District.id != but)
    return db.execute(stmt).first() is not None
