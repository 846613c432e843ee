"""The SQL of signing in: employees by number, TOTP steps, office sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from carekey.store import models as m


def find_employee(db: Session, municipality_code: str, employee_number: str) -> m.Employee | None:
    """The employee with this number in the municipality with this code."""
    return db.execute(
        select(m.Employee)
        .join(m.Municipality, m.Municipality.id == m.Employee.municipality_id)
        .where(m.Municipality.code == municipality_code)
        .where(m.Employee.employee_number == employee_number)
    ).scalar_one_or_none()


def claim_totp_step(db: Session, employee_id: int, step: int) -> bool:
    """Record ``step`` as the last TOTP step used, if it is newer than the last one: a compare
    and set in one statement, so two requests with the same code cannot both win."""
    result = db.execute(
        update(m.Employee)
        .where(m.Employee.id == employee_id)
        .where(or_(m.Employee.totp_last_step.is_(None), m.Employee.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def add_office_session(
    db: Session,
    *,
    session_id: str,
    employee_id: int,
    kind: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    """Record a new signed-in session."""
    db.add(
        m.OfficeSession(
            id=session_id, employee_id=employee_id, kind=kind, created_at=now, expires_at=expires_at
        )
    )


def office_session_live(db: Session, session_id: str, employee_id: int, now: dt.datetime) -> bool:
    """Whether the session exists for this employee, has not ended and has not expired."""
    found = db.execute(
        select(m.OfficeSession.id)
        .where(m.OfficeSession.id == session_id)
        .where(m.OfficeSession.employee_id == employee_id)
        .where(m.OfficeSession.ended_at.is_(None))
        .where(m.OfficeSession.expires_at > now)
    ).first()
    return found is not None


def end_office_session(db: Session, session_id: str, now: dt.datetime) -> None:
    """Sign a session out."""
    db.execute(
        update(m.OfficeSession)
        .where(m.OfficeSession.id == session_id)
        .where(m.OfficeSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
