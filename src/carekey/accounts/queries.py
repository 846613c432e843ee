"""The SQL of accounts: set-password links and ending an employee's office sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carekey.store import models as m
from carekey.store.account_models import PasswordLink


def link_by_hash(db: Session, token_hash: bytes) -> PasswordLink | None:
    """The set-password link with this token hash, if any."""
    return db.execute(
        select(PasswordLink).where(PasswordLink.token_hash == token_hash)
    ).scalar_one_or_none()


def void_unused_links(db: Session, employee_id: int, now: dt.datetime) -> int:
    """Mark every unused link of the employee as spent (a new link replaces them)."""
    result = db.execute(
        update(PasswordLink)
        .where(PasswordLink.employee_id == employee_id)
        .where(PasswordLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def claim_link(db: Session, link_id: int, now: dt.datetime) -> bool:
    """Mark a link used, if it still is unused and unexpired: a compare and set in one
    statement, so two requests with the same link cannot both win."""
    result = db.execute(
        update(PasswordLink)
        .where(PasswordLink.id == link_id)
        .where(PasswordLink.used_at.is_(None))
        .where(PasswordLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_office_sessions(
    db: Session, employee_id: int, now: dt.datetime, *, keep: str | None = None
) -> int:
    """End every live office session (web and API) of the employee but ``keep``."""
    stmt = (
        update(m.OfficeSession)
        .where(m.OfficeSession.employee_id == employee_id)
        .where(m.OfficeSession.ended_at.is_(None))
    )
    if keep is not None:
        stmt = stmt.where(m.OfficeSession.id != keep)
    result = db.execute(stmt.values(ended_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
