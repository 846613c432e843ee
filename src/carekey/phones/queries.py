"""The SQL of work phones."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from carekey.access import Scope, phones_in
from carekey.domain import enums as e
from carekey.store import models as m
from carekey.store.search import contains

BY_LABEL = (m.Phone.label, m.Phone.id)


def phones(
    scope: Scope,
    *,
    q: str | None = None,
    employee_id: int | None = None,
    status: e.PhoneStatus | None = None,
) -> Select[m.Phone]:
    """Phones in ``scope`` whose label contains ``q``, of ``employee_id`` and with ``status``
    (each if given); unordered, for paging."""
    stmt = select(m.Phone).where(phones_in(scope))
    if q and q.strip():
        stmt = stmt.where(m.Phone.label.ilike(contains(q), escape="\\"))
    if employee_id is not None:
        stmt = stmt.where(m.Phone.employee_id == employee_id)
    if status is not None:
        stmt = stmt.where(m.Phone.status == status)
    return stmt


def employees_by_id(db: Session, employee_ids: Iterable[int]) -> dict[int, m.Employee]:
    """The employees with these ids."""
    return {
        x.id: x
        for x in db.execute(
            select(m.Employee).where(m.Employee.id.in_(list(employee_ids)))
        ).scalars()
    }


def label_taken(db: Session, municipality_id: int, label: str, but: int | None = None) -> bool:
    """Whether another phone of the municipality (not ``but``) has ``label``."""
    stmt = (
        select(m.Phone.id)
        .where(m.Phone.municipality_id == municipality_id)
        .where(m.Phone.label == label)
    )
    if but is not None:
        stmt = stmt.where(m.Phone.id != but)
    return db.execute(stmt).first() is not None
