"""The scope of the installation lifecycle as SQL (issue 16): consents, permission requests and
work orders, for the office, a district lead, an auditor, an installer and an association.

- the municipality's office: every row of its municipality; a district lead the rows of the
  citizens of their districts, and the module orders on the way to those citizens' homes;
- an installer (``Scope.assigned_only``): the work orders assigned to them, nothing else;
- a housing association: the permission requests to it and the module orders on its own
  properties, never a home's order nor a consent;
- a partner company: nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from carekey.access.queries import MAX_ID, citizens_in, door_ids_on_the_way_to
from carekey.access.scope import Scope
from carekey.domain.errors import forbidden, not_found
from carekey.store import models as m

T = TypeVar("T")

WO = m.WorkOrder


def _citizen_ids(scope: Scope) -> Select[Any]:
    return select(m.Citizen.id).where(citizens_in(scope))


def _association_places(association_id: int, municipality_id: int) -> ColumnElement[bool]:
    properties = select(m.Property.id).where(
        m.Property.municipality_id == municipality_id,
        m.Property.housing_association_id == association_id,
    )
    entrances = select(m.Entrance.id).where(m.Entrance.property_id.in_(properties))
    gates = select(m.Gate.id).where(m.Gate.property_id.in_(properties))
    return or_(WO.entrance_id.in_(entrances), WO.gate_id.in_(gates))


def work_orders_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``WorkOrder``."""
    own = WO.municipality_id == scope.municipality_id
    if scope.company_id is not None:
        return false()
    if scope.association_id is not None:
        return and_(
            own,
            WO.dwelling_id.is_(None),
            _association_places(scope.association_id, scope.municipality_id),
        )
    if scope.assigned_only:
        return and_(own, WO.assigned_to_employee_id == scope.actor_employee_id)
    if scope.district_ids is None:
        return own
    citizens = _citizen_ids(scope)
    dwellings = select(m.Citizen.dwelling_id).where(m.Citizen.id.in_(citizens))
    entrances = select(m.Dwelling.entrance_id).where(m.Dwelling.id.in_(dwellings))
    properties = select(m.Entrance.property_id).where(m.Entrance.id.in_(entrances))
    gates = select(m.Gate.id).where(m.Gate.property_id.in_(properties))
    return and_(
        own,
        or_(
            WO.citizen_id.in_(citizens),
            WO.dwelling_id.in_(dwellings),
            WO.entrance_id.in_(entrances),
            WO.gate_id.in_(gates),
            WO.door_device_id.in_(door_ids_on_the_way_to(citizens, scope.municipality_id)),
        ),
    )


def consents_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``ConsentRecord``: the consents of the citizens in reach (an installer,
    an association and a company: none)."""
    if scope.restricted:
        return false()
    return and_(
        m.ConsentRecord.municipality_id == scope.municipality_id,
        m.ConsentRecord.citizen_id.in_(_citizen_ids(scope)),
    )


def permission_requests_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``PermissionRequest``: the municipality's, a district lead's on the way
    to their citizens, an association's own (an installer and a company: none)."""
    pr = m.PermissionRequest
    own = pr.municipality_id == scope.municipality_id
    if scope.association_id is not None:
        return and_(own, pr.housing_association_id == scope.association_id)
    if scope.restricted:
        return false()
    if scope.district_ids is None:
        return own
    dwellings = select(m.Citizen.dwelling_id).where(m.Citizen.id.in_(_citizen_ids(scope)))
    entrances = select(m.Dwelling.entrance_id).where(m.Dwelling.id.in_(dwellings))
    properties = select(m.Entrance.property_id).where(m.Entrance.id.in_(entrances))
    return and_(own, pr.property_id.in_(properties))


_CONDITIONS: dict[type[Any], Any] = {
    m.WorkOrder: work_orders_in,
    m.ConsentRecord: consents_in,
    m.PermissionRequest: permission_requests_in,
}

_NAMES: dict[type[Any], tuple[str, str]] = {
    m.WorkOrder: ("Arbejdsordren", "work order"),
    m.ConsentRecord: ("Samtykket", "consent"),
    m.PermissionRequest: ("Anmodningen om tilladelse", "permission request"),
}


def get_installation_object(db: Session, scope: Scope, model: type[T], object_id: int) -> T:
    """The object, if ``scope`` reaches it.

    Another municipality's object, none at all, or (for an installer or another party) one
    outside their reach is 404: nothing is revealed. Inside the municipality's office, an
    object outside a district lead's districts is 403.
    """
    obj = db.get(model, object_id) if 1 <= object_id <= MAX_ID else None
    if obj is None or getattr(obj, "municipality_id", None) != scope.municipality_id:
        raise not_found(*_NAMES[model])
    condition = _CONDITIONS[model](scope)
    found = db.execute(
        select(model.id).where(model.id == object_id).where(condition)  # type: ignore[attr-defined]
    ).first()
    if found is None:
        if scope.restricted:
            raise not_found(*_NAMES[model])
        raise forbidden()
    return obj
