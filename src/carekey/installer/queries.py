"""The SQL of carekey.installer: an installer's orders, the doors in stock, the door at a place."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from carekey.access import Scope, work_orders_in
from carekey.domain import enums as e
from carekey.store import models as m

_OPEN = sorted(s.value for s in e.OPEN_WORK_ORDER_STATUSES)


def orders_in(db: Session, scope: Scope, *, open_only: bool = False) -> list[m.WorkOrder]:
    """The work orders in ``scope`` (an installer: their assigned ones), open ones first, then by
    the time they are scheduled for and by id."""
    is_open = m.WorkOrder.status.in_(_OPEN)
    stmt = select(m.WorkOrder).where(work_orders_in(scope))
    if open_only:
        stmt = stmt.where(is_open)
    stmt = stmt.order_by(
        case((is_open, 0), else_=1),
        m.WorkOrder.scheduled_for.is_(None),
        m.WorkOrder.scheduled_for,
        m.WorkOrder.id,
    )
    return list(db.scalars(stmt))


def door_by_serial(db: Session, *, municipality_id: int, serial: str) -> m.DoorDevice | None:
    """The municipality's door device with this serial, locked for the change (None if none)."""
    stmt = (
        select(m.DoorDevice)
        .where(m.DoorDevice.municipality_id == municipality_id, m.DoorDevice.serial == serial)
        .with_for_update()
    )
    return db.scalars(stmt).first()


def live_door_at(
    db: Session,
    *,
    municipality_id: int,
    dwelling_id: int | None,
    entrance_id: int | None,
    gate_id: int | None,
) -> m.DoorDevice | None:
    """The door device placed at a dwelling, an entrance or a gate and not gone."""
    d = m.DoorDevice
    if dwelling_id is not None:
        at = d.dwelling_id == dwelling_id
    elif entrance_id is not None:
        at = d.entrance_id == entrance_id
    elif gate_id is not None:
        at = d.gate_id == gate_id
    else:
        return None
    gone = sorted(s.value for s in e.GONE_DOOR_STATUSES | {e.DoorStatus.STOCK})
    stmt = (
        select(d)
        .where(d.municipality_id == municipality_id, at, d.status.not_in(gone))
        .order_by(d.id)
    )
    return db.scalars(stmt).first()


def place_label(db: Session, order: m.WorkOrder) -> str:
    """The order's place as an installer reads it: an entrance's or gate's label, a dwelling's
    entrance label with floor and side."""
    if order.dwelling_id is not None:
        dwelling = db.get(m.Dwelling, order.dwelling_id)
        if dwelling is not None:
            entrance = db.get(m.Entrance, dwelling.entrance_id)
            street = entrance.label if entrance is not None else ""
            return f"{street}, {dwelling.floor}. {dwelling.side}".strip(", ")
    if order.entrance_id is not None:
        entrance = db.get(m.Entrance, order.entrance_id)
        if entrance is not None:
            return entrance.label
    if order.gate_id is not None:
        gate = db.get(m.Gate, order.gate_id)
        if gate is not None:
            return gate.label
    return f"door {order.door_device_id}"
