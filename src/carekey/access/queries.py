"""The scope of an action as SQL: one condition per kind of thing, used by every query.

A list filters with ``.where(employees_in(scope))``; an action on one object fetches it with
``get_in_scope``, which applies the same condition. The chain citizen → dwelling → entrance →
property → gate → door is written here once (``door_ids_on_the_way_to``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, or_, select, true
from sqlalchemy.orm import Session

from carekey.access.scope import Scope
from carekey.domain.enums import Role
from carekey.domain.errors import forbidden, not_found
from carekey.store import models as m

T = TypeVar("T")

# Ids are 32-bit in the schema; anything larger cannot exist, and PostgreSQL would refuse to
# compare it, so it is "not found" before it reaches the database.
MAX_ID = 2**31 - 1


def district_ids_of(db: Session, employee_id: int) -> frozenset[int]:
    """The districts an employee belongs to."""
    return frozenset(
        db.execute(
            select(m.EmployeeDistrict.district_id).where(
                m.EmployeeDistrict.employee_id == employee_id
            )
        ).scalars()
    )


def _ids(scope: Scope) -> list[int]:
    return sorted(scope.district_ids or ())


def _employee_condition(scope: Scope, employee_id: Any) -> ColumnElement[bool]:
    """Employees in reach, given a column holding an employee id."""
    if scope.district_ids is None:
        return true()
    mine = select(m.EmployeeDistrict.employee_id).where(
        m.EmployeeDistrict.district_id.in_(_ids(scope))
    )
    condition: ColumnElement[bool] = employee_id.in_(mine)
    if scope.exclude_administrators:
        administrators = select(m.EmployeeRole.employee_id).where(
            m.EmployeeRole.role == Role.ADMINISTRATOR
        )
        condition = and_(condition, not_(employee_id.in_(administrators)))
    return condition


def employees_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Employee`` keeping the municipality's own employees in reach (never a
    housing association's or a partner company's people: ``access.org_queries``)."""
    if scope.restricted:
        return false()
    return and_(
        m.Employee.municipality_id == scope.municipality_id,
        m.Employee.housing_association_id.is_(None),
        m.Employee.partner_company_id.is_(None),
        _employee_condition(scope, m.Employee.id),
    )


def employee_ids_in(scope: Scope, column: Any) -> ColumnElement[bool]:
    """A condition keeping rows whose ``column`` names an employee in reach (or no one, for the
    whole municipality)."""
    return _employee_condition(scope, column)


def phones_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Phone``: the municipality's own phones (never a partner company's); a
    district lead reaches the phones of employees in reach."""
    if scope.restricted:
        return false()
    own = and_(
        m.Phone.municipality_id == scope.municipality_id, m.Phone.partner_company_id.is_(None)
    )
    if scope.district_ids is None:
        return own
    return and_(
        own, m.Phone.employee_id.is_not(None), _employee_condition(scope, m.Phone.employee_id)
    )


def districts_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``District``."""
    if scope.restricted:
        return false()
    own = m.District.municipality_id == scope.municipality_id
    if scope.district_ids is None:
        return own
    return and_(own, m.District.id.in_(_ids(scope)))


def citizens_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Citizen``."""
    if scope.restricted:
        return false()
    own = m.Citizen.municipality_id == scope.municipality_id
    if scope.district_ids is None:
        return own
    return and_(own, m.Citizen.district_id.in_(_ids(scope)))


def door_ids_on_the_way_to(citizen_ids: Select[Any], municipality_id: int) -> Select[Any]:
    """The ids of the doors on the way to the homes of ``citizen_ids``: each home lock, the
    stairwell door of its entrance, and the gates of its property."""
    dwellings = (
        select(m.Citizen.dwelling_id)
        .where(m.Citizen.id.in_(citizen_ids))
        .where(m.Citizen.dwelling_id.is_not(None))
    )
    entrances = select(m.Dwelling.entrance_id).where(m.Dwelling.id.in_(dwellings))
    properties = select(m.Entrance.property_id).where(m.Entrance.id.in_(entrances))
    gates = select(m.Gate.id).where(m.Gate.property_id.in_(properties))
    return (
        select(m.DoorDevice.id)
        .where(m.DoorDevice.municipality_id == municipality_id)
        .where(
            or_(
                m.DoorDevice.dwelling_id.in_(dwellings),
                m.DoorDevice.entrance_id.in_(entrances),
                m.DoorDevice.gate_id.in_(gates),
            )
        )
    )


def _citizen_ids(scope: Scope) -> Select[Any]:
    return select(m.Citizen.id).where(citizens_in(scope))


def doors_in(scope: Scope, door_id: Any = None) -> ColumnElement[bool]:
    """A condition on ``DoorDevice`` (or on a column holding a door id): the doors on the way to
    the homes of the citizens in reach."""
    column = m.DoorDevice.id if door_id is None else door_id
    if scope.restricted:
        return false()
    if scope.district_ids is None:
        if door_id is None:
            return m.DoorDevice.municipality_id == scope.municipality_id
        own = select(m.DoorDevice.id).where(m.DoorDevice.municipality_id == scope.municipality_id)
        return column.in_(own)
    return column.in_(door_ids_on_the_way_to(_citizen_ids(scope), scope.municipality_id))


def audit_events_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``AuditEvent``: every event of the municipality, or the events at the
    doors, or about the citizens, of the districts in reach."""
    if scope.restricted:
        return false()
    own = m.AuditEvent.municipality_id == scope.municipality_id
    if scope.district_ids is None:
        return own
    return and_(
        own,
        or_(
            doors_in(scope, m.AuditEvent.door_device_id),
            m.AuditEvent.citizen_id.in_(_citizen_ids(scope)),
        ),
    )


def grants_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``EmergencyKeyGrant``: for a district lead, grants whose citizen **and**
    employee are both in the lead's districts."""
    grant = m.EmergencyKeyGrant
    if scope.restricted:
        return false()
    own = grant.municipality_id == scope.municipality_id
    if scope.district_ids is None:
        return own
    return and_(
        own,
        exists().where(m.Citizen.id == grant.citizen_id, m.Citizen.district_id.in_(_ids(scope))),
        _employee_condition(scope, grant.employee_id),
    )


_CONDITIONS: dict[type[Any], Any] = {
    m.Employee: employees_in,
    m.Phone: phones_in,
    m.District: districts_in,
    m.Citizen: citizens_in,
    m.DoorDevice: doors_in,
    m.EmergencyKeyGrant: grants_in,
}

_NAMES: dict[type[Any], tuple[str, str]] = {
    m.Employee: ("Medarbejderen", "employee"),
    m.Phone: ("Telefonen", "phone"),
    m.District: ("Distriktet", "district"),
    m.Citizen: ("Borgeren", "citizen"),
    m.DoorDevice: ("Døren", "door"),
    m.EmergencyKeyGrant: ("Akutnøglen", "emergency key"),
}


def _of_another_party(obj: object) -> bool:
    """A housing association's or partner company's person or phone: not the municipality's
    to see (404, like another municipality's)."""
    return (
        getattr(obj, "housing_association_id", None) is not None
        or getattr(obj, "partner_company_id", None) is not None
    )


def in_scope(db: Session, scope: Scope, model: type[Any], object_id: int) -> bool:
    """Whether the object is in reach."""
    if not 1 <= object_id <= MAX_ID:
        return False
    condition = _CONDITIONS[model](scope)
    found = db.execute(select(model.id).where(model.id == object_id).where(condition)).first()
    return found is not None


def get_in_scope(db: Session, scope: Scope, model: type[T], object_id: int) -> T:
    """The object, if ``scope`` reaches it.

    Another municipality's object, or none at all, is 404 (its existence is not revealed); an
    object of the actor's own municipality outside their reach is 403.
    """
    what = _NAMES[model]
    obj = db.get(model, object_id) if 1 <= object_id <= MAX_ID else None
    if (
        obj is None
        or getattr(obj, "municipality_id", None) != scope.municipality_id
        or scope.restricted
        or _of_another_party(obj)
    ):
        raise not_found(*what)
    if scope.district_ids is not None and not in_scope(db, scope, model, object_id):
        raise forbidden()
    return obj
