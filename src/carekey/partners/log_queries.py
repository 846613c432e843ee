"""The SQL of the partner company's log of its own staff's openings (``partners.log``).

The one condition on events is ``access.org_queries.partner_events_in`` for the company's scope
(events by the company's own workers, never the municipality's staff, never another company's),
narrowed to door events at entrance and gate controllers: never a home lock, never an app
event. Events are not narrowed to the doors the company's agreements cover today: an agreement
narrowed later must not erase the company's record of where its people were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from carekey.access import Scope
from carekey.access.org_queries import PARTNER_DOOR_KINDS, agreements_in, partner_events_in
from carekey.domain import enums as e
from carekey.store import models as m

AE = m.AuditEvent
DD = m.DoorDevice

DOOR_ACTIONS: Final = (
    e.AuditAction.UNLOCKED,
    e.AuditAction.RELAY_PULSED,
    e.AuditAction.REFUSED,
    e.AuditAction.LOCKED,
)
"""What the log shows: openings, refusals and lockings."""


@dataclass(frozen=True)
class DoorPlace:
    """A controller and where it sits: the entrance or gate, and the property."""

    door: m.DoorDevice
    property: m.Property
    entrance: m.Entrance | None
    gate: m.Gate | None


@dataclass(frozen=True)
class LogRow:
    """One of the company's workers' events at a stairwell controller."""

    event: m.AuditEvent
    worker_id: int
    worker_name: str
    place: DoorPlace


def _condition(
    scope: Scope,
    *,
    worker_id: int | None,
    door_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Any:
    condition = and_(
        partner_events_in(scope),
        AE.action.in_(DOOR_ACTIONS),
        AE.door_device_id.in_(select(DD.id).where(DD.kind.in_(PARTNER_DOOR_KINDS))),
    )
    if worker_id is not None:
        condition = and_(condition, AE.employee_id == worker_id)
    if door_id is not None:
        condition = and_(condition, AE.door_device_id == door_id)
    if since is not None:
        condition = and_(condition, AE.occurred_at >= since)
    if until is not None:
        condition = and_(condition, AE.occurred_at < until)
    return condition


def company_log(
    db: Session,
    scope: Scope,
    *,
    worker_id: int | None = None,
    door_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None,
    offset: int = 0,
) -> tuple[list[LogRow], int | None]:
    """The company's workers' events at stairwell controllers, newest first; and how many
    there are (None when ``limit`` is None: the export reads them all)."""
    condition = _condition(scope, worker_id=worker_id, door_id=door_id, since=since, until=until)
    total = None
    if limit is not None:
        total = int(
            db.execute(select(func.count()).select_from(AE).where(condition)).scalar_one() or 0
        )
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    worker = aliased(m.Employee)
    stmt = (
        select(AE, worker.id, worker.full_name, DD, prop, entrance, gate)
        .join(worker, worker.id == AE.employee_id)
        .join(DD, DD.id == AE.door_device_id)
        .outerjoin(entrance, entrance.id == DD.entrance_id)
        .outerjoin(gate, gate.id == DD.gate_id)
        .join(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
        .where(condition)
        .order_by(AE.occurred_at.desc(), AE.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = [
        LogRow(r[0], r[1], r[2], DoorPlace(r[3], r[4], r[5], r[6])) for r in db.execute(stmt).all()
    ]
    return rows, total


def agreement_doors(db: Session, scope: Scope) -> list[DoorPlace]:
    """The controllers the company's agreements cover, by address (the log's door filter)."""
    agreements = select(m.Agreement.id).where(agreements_in(scope))
    links = select(m.AgreementDoor.door_device_id).where(
        m.AgreementDoor.agreement_id.in_(agreements)
    )
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    return [
        DoorPlace(r[0], r[1], r[2], r[3])
        for r in db.execute(
            select(DD, prop, entrance, gate)
            .outerjoin(entrance, entrance.id == DD.entrance_id)
            .outerjoin(gate, gate.id == DD.gate_id)
            .join(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
            .where(DD.id.in_(links))
            .order_by(prop.street, prop.house_number, DD.kind, DD.serial)
        ).all()
    ]


def company_people(db: Session, scope: Scope) -> list[m.Employee]:
    """The company's people (administrators and workers), by name (the log's worker filter)."""
    assert scope.company_id is not None
    return list(
        db.execute(
            select(m.Employee)
            .where(m.Employee.municipality_id == scope.municipality_id)
            .where(m.Employee.partner_company_id == scope.company_id)
            .order_by(m.Employee.full_name, m.Employee.id)
        ).scalars()
    )
