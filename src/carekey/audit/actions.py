"""The audit trail: administrative actions, and queries over what happened at the doors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.store import models as m


def record_admin_action(
    db: Session,
    *,
    actor: Actor | None,
    municipality_id: int | None,
    action: str,
    target_type: str,
    target_id: object,
    now: dt.datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> m.AdminAction:
    """Write who did what to whom, when and why. Called in the same transaction as the action."""
    row = m.AdminAction(
        municipality_id=municipality_id,
        actor_employee_id=actor.employee_id if actor else None,
        actor_label=actor.label if actor else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason,
        details=details,
        at=now,
    )
    db.add(row)
    return row
