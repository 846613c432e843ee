"""The scope of the other parties' actions as SQL: housing associations, partner companies,
their properties, agreements, people, phones and partner openings (issue 15).

The same discipline as ``access.queries``: a list filters with ``.where(agreements_in(scope))``,
an action on one object fetches it with ``get_org_object``, which applies the same condition.
Across organisations nothing exists: another association's agreement, another company's
worker, or a municipal employee asked for through a company's scope is **404**.

What an association never reaches: citizens, dwellings, home locks, the municipality's staff,
and any event by the municipality's staff (home care is health data). Its partner log holds
only events by partner workers at its own entrance and gate controllers.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from carekey.access.scope import Scope
from carekey.domain.enums import DoorKind
from carekey.domain.errors import not_found
from carekey.store import models as m

T = TypeVar("T")

MAX_ID = 2**31 - 1
PARTNER_DOOR_KINDS = (DoorKind.ENTRANCE_CONTROLLER, DoorKind.GATE_CONTROLLER)


def _association_ids(scope: Scope) -> Select[Any]:
    return select(m.HousingAssociation.id).where(
        m.HousingAssociation.municipality_id == scope.municipality_id
    )


def associations_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``HousingAssociation``: the municipality's (its own staff), the user's
    own, or for a company the associations it has an agreement with."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    own = m.HousingAssociation.municipality_id == scope.municipality_id
    if scope.association_id is not None:
        return and_(own, m.HousingAssociation.id == scope.association_id)
    if scope.company_id is not None:
        partners = select(m.Agreement.housing_association_id).where(
            m.Agreement.partner_company_id == scope.company_id
        )
        return and_(own, m.HousingAssociation.id.in_(partners))
    return own


def companies_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``PartnerCompany``: the municipality's register of approved companies,
    which an association chooses from (name, kind, CVR: public facts); a company sees only
    itself."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    own = m.PartnerCompany.municipality_id == scope.municipality_id
    if scope.company_id is not None:
        return and_(own, m.PartnerCompany.id == scope.company_id)
    return own


def properties_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Property``: the municipality's, or an association's own."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    own = m.Property.municipality_id == scope.municipality_id
    if scope.association_id is not None:
        return and_(own, m.Property.housing_association_id == scope.association_id)
    if scope.company_id is not None:
        return false()
    return own


def stairwell_door_ids(scope: Scope) -> Select[Any]:
    """The entrance and gate controllers on the properties in reach (never a home lock)."""
    properties = select(m.Property.id).where(properties_in(scope))
    entrances = select(m.Entrance.id).where(m.Entrance.property_id.in_(properties))
    gates = select(m.Gate.id).where(m.Gate.property_id.in_(properties))
    return (
        select(m.DoorDevice.id)
        .where(m.DoorDevice.municipality_id == scope.municipality_id)
        .where(m.DoorDevice.kind.in_(PARTNER_DOOR_KINDS))
        .where(or_(m.DoorDevice.entrance_id.in_(entrances), m.DoorDevice.gate_id.in_(gates)))
    )


def agreements_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Agreement``: the municipality's associations', an association's own,
    or a company's own."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    own = m.Agreement.housing_association_id.in_(_association_ids(scope))
    if scope.association_id is not None:
        return and_(own, m.Agreement.housing_association_id == scope.association_id)
    if scope.company_id is not None:
        return and_(own, m.Agreement.partner_company_id == scope.company_id)
    return own


def org_people_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Employee`` for the other parties' people: a company's administrators
    and workers, an association's users; the municipality's staff reach all of them (to
    register an organisation's first user and to see who acts), never the other way round."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    own = m.Employee.municipality_id == scope.municipality_id
    if scope.company_id is not None:
        return and_(own, m.Employee.partner_company_id == scope.company_id)
    if scope.association_id is not None:
        return and_(own, m.Employee.housing_association_id == scope.association_id)
    return and_(
        own,
        or_(
            m.Employee.partner_company_id.is_not(None),
            m.Employee.housing_association_id.is_not(None),
        ),
    )


def org_phones_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Phone`` for partner companies' phones."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    own = and_(
        m.Phone.municipality_id == scope.municipality_id, m.Phone.partner_company_id.is_not(None)
    )
    if scope.company_id is not None:
        return and_(own, m.Phone.partner_company_id == scope.company_id)
    if scope.association_id is not None:
        return false()
    return own


def partner_worker_ids(scope: Scope) -> Select[Any]:
    """The partner workers (and administrators) in reach: a company's own, or every company's
    for the municipality and for an association (whose log shows who opened its doors)."""
    people = select(m.Employee.id).where(m.Employee.municipality_id == scope.municipality_id)
    if scope.assigned_only:
        return people.where(false())
    if scope.company_id is not None:
        return people.where(m.Employee.partner_company_id == scope.company_id)
    return people.where(m.Employee.partner_company_id.is_not(None))


def partner_events_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``AuditEvent``: events by partner workers only (never the municipality's
    staff); for an association only at its own entrances and gates, for a company only its
    own workers'."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    ae = m.AuditEvent
    condition = and_(
        ae.municipality_id == scope.municipality_id,
        ae.employee_id.in_(partner_worker_ids(scope)),
    )
    if scope.association_id is not None:
        condition = and_(condition, ae.door_device_id.in_(stairwell_door_ids(scope)))
    return condition


def errands_in(scope: Scope) -> ColumnElement[bool]:
    """A condition on ``Errand``: those of the agreements in reach."""
    if scope.assigned_only:  # an installer reaches none of it
        return false()
    return m.Errand.agreement_id.in_(select(m.Agreement.id).where(agreements_in(scope)))


_CONDITIONS: dict[type[Any], Any] = {
    m.HousingAssociation: associations_in,
    m.PartnerCompany: companies_in,
    m.Property: properties_in,
    m.Agreement: agreements_in,
    m.Errand: errands_in,
}

_NAMES: dict[type[Any], tuple[str, str]] = {
    m.HousingAssociation: ("Boligforeningen", "housing association"),
    m.PartnerCompany: ("Firmaet", "company"),
    m.Property: ("Ejendommen", "property"),
    m.Agreement: ("Aftalen", "agreement"),
    m.Errand: ("Ærindet", "errand"),
    m.Employee: ("Brugeren", "user"),
    m.Phone: ("Telefonen", "phone"),
}


def get_org_object(db: Session, scope: Scope, model: type[T], object_id: int) -> T:
    """The object, if ``scope`` reaches it, else 404: between organisations (and between an
    organisation and the municipality's own staff and phones) nothing is revealed.

    ``Employee`` and ``Phone`` are looked up as the other parties' people and phones
    (:func:`org_people_in`, :func:`org_phones_in`)."""
    if model is m.Employee:
        condition = org_people_in(scope)
    elif model is m.Phone:
        condition = org_phones_in(scope)
    else:
        condition = _CONDITIONS[model](scope)
    found = None
    if 1 <= object_id <= MAX_ID:
        found = db.execute(
            select(model).where(model.id == object_id).where(condition)  # type: ignore[attr-defined]
        ).scalar_one_or_none()
    if found is None:
        raise not_found(*_NAMES[model])
    return found
