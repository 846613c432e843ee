"""The SQL of the municipality's permission requests to housing associations (issue 16): the
property list with each property's latest request, the requests themselves, the overdue ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from carekey.access import Scope, citizens_in, permission_requests_in
from carekey.domain import enums as e
from carekey.store import models as m
from carekey.store.paging import count_of

PR = m.PermissionRequest
P = m.Property
HA = m.HousingAssociation

NONE = "none"
"""The state of a property no request was ever sent for."""


def _properties_in(scope: Scope) -> ColumnElement[bool]:
    """The municipality's properties with an association: all of them for the office, a
    district lead's only those where their districts' citizens live."""
    own = and_(P.municipality_id == scope.municipality_id, P.housing_association_id.is_not(None))
    if scope.district_ids is None:
        return own
    dwellings = select(m.Citizen.dwelling_id).where(citizens_in(scope))
    entrances = select(m.Dwelling.entrance_id).where(m.Dwelling.id.in_(dwellings))
    properties = select(m.Entrance.property_id).where(m.Entrance.id.in_(entrances))
    return and_(own, P.id.in_(properties))


def _latest_ids(municipality_id: int) -> Any:
    return (
        select(PR.property_id, func.max(PR.id).label("latest_id"))
        .where(PR.municipality_id == municipality_id)
        .group_by(PR.property_id)
        .subquery("latest_request")
    )


def property_states(
    db: Session,
    scope: Scope,
    *,
    state: str | None,
    overdue_at: dt.datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[m.Property, m.HousingAssociation, m.PermissionRequest | None]], int]:
    """The properties in reach with their association and latest permission request (or none),
    by address; ``state`` narrows to one status (or ``"none"``), ``overdue_at`` to the open
    requests due before it. And how many there are."""
    latest = _latest_ids(scope.municipality_id)
    stmt: Any = (
        select(P, HA, PR)
        .join(HA, HA.id == P.housing_association_id)
        .outerjoin(latest, latest.c.property_id == P.id)
        .outerjoin(PR, PR.id == latest.c.latest_id)
        .where(_properties_in(scope))
    )
    if state == NONE:
        stmt = stmt.where(PR.id.is_(None))
    elif state is not None:
        stmt = stmt.where(PR.status == state)
    if overdue_at is not None:
        stmt = stmt.where(PR.status == e.PermissionStatus.REQUESTED, PR.due_at < overdue_at)
    total = count_of(db, stmt)
    rows = db.execute(
        stmt.order_by(P.street, P.house_number, P.id).limit(limit).offset(offset)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows], total


def property_in(db: Session, scope: Scope, property_id: int) -> m.Property | None:
    """One of the municipality's properties with an association, in reach."""
    return db.execute(
        select(P).where(P.id == property_id).where(_properties_in(scope))
    ).scalar_one_or_none()


def open_request_for(db: Session, *, municipality_id: int, property_id: int) -> PR | None:
    """The property's open (unanswered) request, if any."""
    return db.execute(
        select(PR)
        .where(PR.municipality_id == municipality_id, PR.property_id == property_id)
        .where(PR.status == e.PermissionStatus.REQUESTED)
        .order_by(PR.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def requests(
    db: Session,
    scope: Scope,
    *,
    status: e.PermissionStatus | None,
    property_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[m.PermissionRequest], int]:
    """The requests in reach, newest first, and how many there are."""
    stmt = select(PR).where(permission_requests_in(scope))
    if status is not None:
        stmt = stmt.where(PR.status == status)
    if property_id is not None:
        stmt = stmt.where(PR.property_id == property_id)
    total = count_of(db, stmt)
    rows = db.execute(stmt.order_by(PR.id.desc()).limit(limit).offset(offset)).scalars()
    return list(rows), total


def due_for_reminder(
    db: Session, *, now: dt.datetime, interval: dt.timedelta
) -> list[m.PermissionRequest]:
    """Every open request, of every municipality, that is due for a reminder: past its due date
    (or, without one, unanswered for ``interval``) and not reminded within ``interval``."""
    return list(
        db.execute(
            select(PR)
            .where(PR.status == e.PermissionStatus.REQUESTED)
            .where(
                or_(
                    PR.due_at <= now,
                    and_(PR.due_at.is_(None), PR.requested_at <= now - interval),
                )
            )
            .where(or_(PR.last_reminded_at.is_(None), PR.last_reminded_at <= now - interval))
            .order_by(PR.id)
            .with_for_update()
        ).scalars()
    )


def association_names(db: Session, ids: set[int]) -> dict[int, str]:
    """The names of the associations by id."""
    if not ids:
        return {}
    return dict(db.execute(select(HA.id, HA.name).where(HA.id.in_(ids))).tuples().all())


def properties_by_id(db: Session, ids: set[int]) -> dict[int, m.Property]:
    """The properties by id."""
    if not ids:
        return {}
    return {p.id: p for p in db.execute(select(P).where(P.id.in_(ids))).scalars()}
