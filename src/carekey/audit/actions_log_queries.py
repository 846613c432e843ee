"""The SQL of the log of administrative actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from carekey.store import models as m


def actions_of(
    municipality_id: int,
    *,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select[m.AdminAction]:
    """A municipality's administrative actions by action, target and time range (``since``
    inclusive, ``until`` exclusive); unordered, for paging."""
    row = m.AdminAction
    stmt = select(row).where(row.municipality_id == municipality_id)
    if action:
        stmt = stmt.where(row.action == action)
    if target_type:
        stmt = stmt.where(row.target_type == target_type)
    if target_id:
        stmt = stmt.where(row.target_id == target_id)
    if since is not None:
        stmt = stmt.where(row.at >= since)
    if until is not None:
        stmt = stmt.where(row.at < until)
    return stmt


NEWEST_FIRST = (m.AdminAction.at.desc(), m.AdminAction.id.desc())


def latest_actions_on(
    db: Session,
    *,
    municipality_id: int,
    target_type: str,
    target_id: str,
    limit: int,
    leave_out: Collection[str] = (),
) -> list[m.AdminAction]:
    """The latest ``limit`` actions on one object, newest first, but those in ``leave_out``."""
    stmt = actions_of(municipality_id, target_type=target_type, target_id=target_id)
    if leave_out:
        stmt = stmt.where(m.AdminAction.action.not_in(list(leave_out)))
    return list(db.execute(stmt.order_by(*NEWEST_FIRST).limit(limit)).scalars())
