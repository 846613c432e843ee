"""Reading the log of administrative actions: who created, changed, blocked or granted what."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, reach
from carekey.audit import actions_log_queries as sql
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.store import models as m
from carekey.store.paging import page_of

RECENT_ACTIONS = 10
READS = frozenset({"audit.home_report_viewed"})
"""Actions that read rather than change: in the log of administrative actions, but not in an
object's history on its page, where ten report openings would push its changes out of sight."""


def list_admin_actions(
    db: Session,
    *,
    actor: Actor,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[m.AdminAction]:
    """The administrative actions of the actor's municipality, newest first, by action, target
    and time range (``since`` inclusive, ``until`` exclusive)."""
    reach(actor, Action.READ_ADMIN_ACTIONS)
    stmt = sql.actions_of(
        actor.municipality_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return page_of(db, stmt, order_by=sql.NEWEST_FIRST, limit=limit, offset=offset)


def recent_actions_on(
    db: Session, *, actor: Actor, target_type: str, target_id: int, limit: int = RECENT_ACTIONS
) -> list[m.AdminAction]:
    """The latest administrative actions on one object of the actor's municipality, newest
    first: the history a detail page shows. The caller has fetched the object through the
    access model, so whoever may read the object may read what was done to it."""
    return sql.latest_actions_on(
        db,
        municipality_id=actor.municipality_id,
        target_type=target_type,
        target_id=str(target_id),
        limit=limit,
        leave_out=READS,
    )
