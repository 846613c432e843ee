"""The SQL of carekey.workorders: the scoped list of work orders, the installers to assign,
the places of an order, cost sums, and the rows a timeline is built from.

Every list starts from ``access.work_orders_in`` for the actor's scope, so a list and the action
on one of its rows can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from carekey.access import Scope, citizens_in, work_orders_in
from carekey.domain import enums as e
from carekey.store import models as m

WO = m.WorkOrder
BY_NEWEST: Final = (WO.ordered_at.desc(), WO.id.desc())


@dataclass(frozen=True)
class OrderFilter:
    """What the list of orders is narrowed to (None: any)."""

    status: e.WorkOrderStatus | None = None
    kind: e.WorkOrderKind | None = None
    trigger: e.WorkOrderTrigger | None = None
    installer_id: int | None = None
    citizen_id: int | None = None


def orders(scope: Scope, filters: OrderFilter) -> Select[m.WorkOrder]:
    """The orders in reach under ``filters`` (ordered by the caller)."""
    stmt = select(WO).where(work_orders_in(scope))
    if filters.status is not None:
        stmt = stmt.where(WO.status == filters.status)
    if filters.kind is not None:
        stmt = stmt.where(WO.kind == filters.kind)
    if filters.trigger is not None:
        stmt = stmt.where(WO.trigger == filters.trigger)
    if filters.installer_id is not None:
        stmt = stmt.where(WO.assigned_to_employee_id == filters.installer_id)
    if filters.citizen_id is not None:
        stmt = stmt.where(WO.citizen_id == filters.citizen_id)
    return stmt


def names_of(db: Session, employee_ids: Sequence[int | None]) -> dict[int, str]:
    """Employees' names by id (one query for a page)."""
    ids = {i for i in employee_ids if i is not None}
    if not ids:
        return {}
    rows = db.execute(select(m.Employee.id, m.Employee.full_name).where(m.Employee.id.in_(ids)))
    return {int(i): str(name) for i, name in rows}


def citizen_names(db: Session, citizen_ids: Sequence[int | None]) -> dict[int, str]:
    """Citizens' names by id (one query for a page)."""
    ids = {i for i in citizen_ids if i is not None}
    if not ids:
        return {}
    rows = db.execute(
        select(m.Citizen.id, m.Citizen.given_name, m.Citizen.family_name).where(
            m.Citizen.id.in_(ids)
        )
    )
    return {i: f"{g} {f}" for i, g, f in rows}


def serials_of(db: Session, door_ids: Sequence[int | None]) -> dict[int, str]:
    """Doors' serial numbers by id."""
    ids = {i for i in door_ids if i is not None}
    if not ids:
        return {}
    rows = db.execute(select(m.DoorDevice.id, m.DoorDevice.serial).where(m.DoorDevice.id.in_(ids)))
    return {int(i): str(s) for i, s in rows}


def installers(db: Session, municipality_id: int) -> list[m.Employee]:
    """The active installers of the municipality, by name."""
    stmt = (
        select(m.Employee)
        .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
        .where(
            m.Employee.municipality_id == municipality_id,
            m.EmployeeRole.role == e.Role.INSTALLER,
            m.Employee.status == e.EmployeeStatus.ACTIVE,
        )
        .order_by(m.Employee.full_name, m.Employee.id)
    )
    return list(db.execute(stmt).scalars())


def is_installer(db: Session, municipality_id: int, employee_id: int) -> bool:
    """Whether the employee is an active installer of the municipality."""
    found = db.execute(
        select(m.Employee.id)
        .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
        .where(
            m.Employee.id == employee_id,
            m.Employee.municipality_id == municipality_id,
            m.EmployeeRole.role == e.Role.INSTALLER,
            m.Employee.status == e.EmployeeStatus.ACTIVE,
        )
    ).first()
    return found is not None


def property_of_entrance(db: Session, entrance_id: int) -> m.Property | None:
    """The property an entrance belongs to."""
    return db.execute(
        select(m.Property)
        .join(m.Entrance, m.Entrance.property_id == m.Property.id)
        .where(m.Entrance.id == entrance_id)
    ).scalar_one_or_none()


def property_of_gate(db: Session, gate_id: int) -> m.Property | None:
    """The property a gate belongs to."""
    return db.execute(
        select(m.Property)
        .join(m.Gate, m.Gate.property_id == m.Property.id)
        .where(m.Gate.id == gate_id)
    ).scalar_one_or_none()


def property_in_reach(db: Session, scope: Scope, property_id: int) -> bool:
    """Whether a property is on the way to a home of a citizen in reach (or the scope is the
    whole municipality and the property is its own)."""
    own = select(m.Property.id).where(
        m.Property.id == property_id, m.Property.municipality_id == scope.municipality_id
    )
    if scope.district_ids is None:
        return db.execute(own).first() is not None
    citizens = select(m.Citizen.dwelling_id).where(citizens_in(scope))
    entrances = select(m.Dwelling.entrance_id).where(m.Dwelling.id.in_(citizens))
    found = db.execute(
        own.where(
            m.Property.id.in_(select(m.Entrance.property_id).where(m.Entrance.id.in_(entrances)))
        )
    ).first()
    return found is not None


def open_battery_order(db: Session, door_id: int) -> m.WorkOrder | None:
    """The door's open battery service order, if any."""
    return db.execute(
        select(WO)
        .where(
            WO.door_device_id == door_id,
            WO.kind == e.WorkOrderKind.SERVICE,
            WO.service_kind == e.ServiceKind.BATTERY,
            WO.status.in_(e.OPEN_WORK_ORDER_STATUSES),
        )
        .limit(1)
    ).scalar_one_or_none()


def home_lock_of(db: Session, dwelling_id: int) -> m.DoorDevice | None:
    """The home lock at a dwelling that is still at the door."""
    return db.execute(
        select(m.DoorDevice)
        .where(
            m.DoorDevice.dwelling_id == dwelling_id,
            m.DoorDevice.kind == e.DoorKind.HOME_LOCK,
            m.DoorDevice.status.not_in(e.GONE_DOOR_STATUSES),
        )
        .order_by(m.DoorDevice.id.desc())
        .limit(1)
    ).scalar_one_or_none()


# --- costs -------------------------------------------------------------------------------------


def _month_key(db: Session, column: Any) -> Any:
    if db.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def cost_rows(
    db: Session,
    scope: Scope,
    *,
    group: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[tuple[Any, Any, int, int, int, int, int]]:
    """Sums per group: (key, label, orders, paid, pending, material, labour).

    Paid is the cost of signed-off orders; pending of done ones not signed off yet. Only done
    and signed-off orders count. The month is the month of completion (UTC)."""
    done = (e.WorkOrderStatus.DONE, e.WorkOrderStatus.SIGNED_OFF)
    signed = WO.status == e.WorkOrderStatus.SIGNED_OFF
    paid = func.sum(case((signed, WO.cost_ore), else_=0))
    pending = func.sum(case((WO.status == e.WorkOrderStatus.DONE, WO.cost_ore), else_=0))
    condition: ColumnElement[bool] = and_(work_orders_in(scope), WO.status.in_(done))
    if since is not None:
        condition = and_(condition, WO.completed_at >= since)
    if until is not None:
        condition = and_(condition, WO.completed_at < until)
    sums = (
        func.count(WO.id),
        paid,
        pending,
        func.sum(WO.material_ore),
        func.sum(WO.labour_ore),
    )
    key: Any
    label: Any
    stmt: Select[Any]
    if group == "month":
        key = _month_key(db, WO.completed_at)
        stmt = select(key, key, *sums).where(condition).group_by(key).order_by(key.desc())
    elif group == "citizen":
        key, label = m.Citizen.id, m.Citizen.family_name + ", " + m.Citizen.given_name
        stmt = (
            select(key, label, *sums)
            .join(m.Citizen, m.Citizen.id == WO.citizen_id)
            .where(condition)
            .group_by(m.Citizen.id, m.Citizen.family_name, m.Citizen.given_name)
            .order_by(m.Citizen.family_name, m.Citizen.given_name, m.Citizen.id)
        )
    elif group == "district":
        key, label = m.District.id, m.District.name
        stmt = (
            select(key, label, *sums)
            .join(m.Citizen, m.Citizen.id == WO.citizen_id)
            .join(m.District, m.District.id == m.Citizen.district_id)
            .where(condition)
            .group_by(m.District.id, m.District.name)
            .order_by(m.District.name)
        )
    else:  # property
        prop = _property_of_order()
        key = prop
        stmt = (
            select(prop.label("pid"), m.Property.street, m.Property.house_number, *sums)
            .join(m.Property, m.Property.id == prop)
            .where(condition)
            .group_by(prop, m.Property.street, m.Property.house_number)
            .order_by(m.Property.street, m.Property.house_number)
        )
        return [
            (pid, f"{street} {number}", int(n), int(p or 0), int(q or 0), int(a or 0), int(b or 0))
            for pid, street, number, n, p, q, a, b in db.execute(stmt)
        ]
    return [
        (k, str(lbl), int(n), int(p or 0), int(q or 0), int(a or 0), int(b or 0))
        for k, lbl, n, p, q, a, b in db.execute(stmt)
    ]


def _property_of_order() -> Any:
    """The property of an order's place, as a scalar expression."""
    dwelling = (
        select(m.Entrance.property_id)
        .join(m.Dwelling, m.Dwelling.entrance_id == m.Entrance.id)
        .where(m.Dwelling.id == WO.dwelling_id)
        .scalar_subquery()
    )
    entrance = select(m.Entrance.property_id).where(m.Entrance.id == WO.entrance_id)
    gate = select(m.Gate.property_id).where(m.Gate.id == WO.gate_id)
    return func.coalesce(dwelling, entrance.scalar_subquery(), gate.scalar_subquery())


# --- timelines ---------------------------------------------------------------------------------


def consents_of(db: Session, citizen_id: int) -> list[m.ConsentRecord]:
    """A citizen's consents, oldest first."""
    return list(
        db.execute(
            select(m.ConsentRecord)
            .where(m.ConsentRecord.citizen_id == citizen_id)
            .order_by(m.ConsentRecord.given_at, m.ConsentRecord.id)
        ).scalars()
    )


def permissions_of(db: Session, property_id: int) -> list[m.PermissionRequest]:
    """A property's permission requests, oldest first."""
    return list(
        db.execute(
            select(m.PermissionRequest)
            .where(m.PermissionRequest.property_id == property_id)
            .order_by(m.PermissionRequest.requested_at, m.PermissionRequest.id)
        ).scalars()
    )


def orders_of_citizen(db: Session, citizen_id: int, dwelling_id: int | None) -> list[m.WorkOrder]:
    """The orders of a citizen's home, oldest first."""
    place: ColumnElement[bool] = WO.citizen_id == citizen_id
    if dwelling_id is not None:
        place = or_(place, WO.dwelling_id == dwelling_id)
    return list(db.execute(select(WO).where(place).order_by(WO.ordered_at, WO.id)).scalars())


def orders_of_property(db: Session, property_id: int) -> list[m.WorkOrder]:
    """The module orders of a property's entrances and gates, oldest first."""
    entrances = select(m.Entrance.id).where(m.Entrance.property_id == property_id)
    gates = select(m.Gate.id).where(m.Gate.property_id == property_id)
    return list(
        db.execute(
            select(WO)
            .where(or_(WO.entrance_id.in_(entrances), WO.gate_id.in_(gates)))
            .where(WO.dwelling_id.is_(None))
            .order_by(WO.ordered_at, WO.id)
        ).scalars()
    )


def doors_of_citizen(db: Session, dwelling_id: int | None, door_ids: Sequence[int]) -> list[Any]:
    """The home locks at the dwelling, or named by its orders."""
    place: ColumnElement[bool] = m.DoorDevice.id.in_(list(door_ids))
    if dwelling_id is not None:
        place = or_(place, m.DoorDevice.dwelling_id == dwelling_id)
    stmt = select(m.DoorDevice).where(place, m.DoorDevice.kind == e.DoorKind.HOME_LOCK)
    return list(db.execute(stmt.order_by(m.DoorDevice.id)).scalars())


def doors_of_property(db: Session, property_id: int) -> list[m.DoorDevice]:
    """The entrance and gate controllers of a property."""
    entrances = select(m.Entrance.id).where(m.Entrance.property_id == property_id)
    gates = select(m.Gate.id).where(m.Gate.property_id == property_id)
    stmt = select(m.DoorDevice).where(
        or_(m.DoorDevice.entrance_id.in_(entrances), m.DoorDevice.gate_id.in_(gates))
    )
    return list(db.execute(stmt.order_by(m.DoorDevice.id)).scalars())


def admin_actions_on(
    db: Session, municipality_id: int, target_type: str, target_ids: Sequence[int], prefix: str
) -> list[m.AdminAction]:
    """The administrative actions on some targets whose action starts with ``prefix``."""
    if not target_ids:
        return []
    return list(
        db.execute(
            select(m.AdminAction)
            .where(
                m.AdminAction.municipality_id == municipality_id,
                m.AdminAction.target_type == target_type,
                m.AdminAction.target_id.in_([str(i) for i in target_ids]),
                m.AdminAction.action.startswith(prefix),
            )
            .order_by(m.AdminAction.at, m.AdminAction.id)
        ).scalars()
    )


def property_of_dwelling(db: Session, dwelling_id: int | None) -> int | None:
    """The property a dwelling is in."""
    if dwelling_id is None:
        return None
    found = db.execute(
        select(m.Entrance.property_id)
        .join(m.Dwelling, m.Dwelling.entrance_id == m.Entrance.id)
        .where(m.Dwelling.id == dwelling_id)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def open_order_at(db: Session, scope: Scope, door_id: int) -> m.WorkOrder | None:
    """The oldest open order in reach at a door."""
    return (
        db.execute(
            select(WO)
            .where(work_orders_in(scope))
            .where(WO.door_device_id == door_id, WO.status.in_(e.OPEN_WORK_ORDER_STATUSES))
            .order_by(WO.ordered_at, WO.id)
            .limit(1)
        )
        .scalars()
        .first()
    )
