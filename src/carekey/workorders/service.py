"""Work orders (issue 16): the office's orders to install, service and restore, and the
orders the system makes by itself (a removed citizen or a withdrawn consent: restore)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m

RESTORE_NOTE = "Genetabler den oprindelige lås uden spor / restore the original lock"


def order_restore(
    db: Session,
    *,
    citizen: m.Citizen,
    door: m.DoorDevice,
    trigger: e.WorkOrderTrigger,
    now: dt.datetime,
    created_by_employee_id: int | None = None,
) -> m.WorkOrder:
    """A restore order for the citizen's home lock: take the motor turner down, put the
    original cylinder and thumb-turn back, without traces."""
    order = m.WorkOrder(
        municipality_id=citizen.municipality_id,
        kind=e.WorkOrderKind.RESTORE,
        status=e.WorkOrderStatus.ORDERED,
        trigger=trigger,
        citizen_id=citizen.id,
        dwelling_id=citizen.dwelling_id,
        door_device_id=door.id,
        created_by_employee_id=created_by_employee_id,
        ordered_at=now,
        notes=RESTORE_NOTE,
    )
    db.add(order)
    return order
