"""The SQL of the housing association's portal: its properties and the modules fitted there,
the municipality's requests for permission, its agreements with partner companies, the anonymous
count of the municipality's openings, and the partner log.

Reach comes in as a ``Scope`` of one association and becomes SQL through the conditions of
``carekey.access.org_queries`` (``properties_in``, ``stairwell_door_ids``, ``agreements_in``,
``companies_in``, ``partner_events_in``). Nothing here selects a dwelling, a citizen, a home
lock or a municipal employee's row; the one query over the municipality's staff's events
(:func:`municipal_openings`) returns counts per property and month only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, case, delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from carekey.access import Scope
from carekey.access.org_queries import (
    agreements_in,
    companies_in,
    partner_events_in,
    properties_in,
    stairwell_door_ids,
)
from carekey.domain import enums as e
from carekey.store import models as m

AE = m.AuditEvent
DD = m.DoorDevice
PR = m.PermissionRequest

LIVE_MODULE: Final = (
    e.DoorStatus.INSTALLED,
    e.DoorStatus.COMMISSIONED,
    e.DoorStatus.ACTIVE,
    e.DoorStatus.FAULTY,
)
"""A module on the wall: installed and not yet taken down."""

OPENING_ACTIONS: Final = (e.AuditAction.UNLOCKED, e.AuditAction.RELAY_PULSED)
BY_ADDRESS: Final = (m.Property.street, m.Property.house_number, m.Property.id)


def count_of(db: Session, stmt: Select[*tuple[Any, ...]]) -> int:
    """How many rows ``stmt`` selects (its ordering left out)."""
    total = db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar()
    return int(total or 0)


def _own_property_ids(scope: Scope) -> Select[Any]:
    return select(m.Property.id).where(properties_in(scope))


# --- properties, entrances, gates and modules --------------------------------------------------


def properties(
    db: Session, scope: Scope, *, limit: int, offset: int
) -> tuple[list[m.Property], int]:
    """One page of the association's properties by address, and how many there are."""
    stmt = select(m.Property).where(properties_in(scope))
    total = count_of(db, stmt)
    rows = db.execute(stmt.order_by(*BY_ADDRESS).limit(limit).offset(offset)).scalars()
    return list(rows), total


def entrances_of(db: Session, property_ids: Collection[int]) -> dict[int, list[m.Entrance]]:
    """Each property's entrances, by label."""
    found: dict[int, list[m.Entrance]] = {}
    for entrance in db.execute(
        select(m.Entrance)
        .where(m.Entrance.property_id.in_(sorted(property_ids)))
        .order_by(m.Entrance.label, m.Entrance.id)
    ).scalars():
        found.setdefault(entrance.property_id, []).append(entrance)
    return found


def gates_of(db: Session, property_ids: Collection[int]) -> dict[int, list[m.Gate]]:
    """Each property's gates, by label."""
    found: dict[int, list[m.Gate]] = {}
    for gate in db.execute(
        select(m.Gate)
        .where(m.Gate.property_id.in_(sorted(property_ids)))
        .order_by(m.Gate.label, m.Gate.id)
    ).scalars():
        found.setdefault(gate.property_id, []).append(gate)
    return found


def modules(db: Session, scope: Scope, property_ids: Collection[int]) -> list[m.DoorDevice]:
    """The entrance and gate controllers on the wall at these (own) properties; never a home
    lock (``stairwell_door_ids`` holds controllers only)."""
    entrances = select(m.Entrance.id).where(m.Entrance.property_id.in_(sorted(property_ids)))
    gates = select(m.Gate.id).where(m.Gate.property_id.in_(sorted(property_ids)))
    return list(
        db.execute(
            select(DD)
            .where(DD.id.in_(stairwell_door_ids(scope)))
            .where(DD.status.in_(LIVE_MODULE))
            .where(or_(DD.entrance_id.in_(entrances), DD.gate_id.in_(gates)))
            .order_by(DD.serial)
        ).scalars()
    )


def own_entrance(db: Session, scope: Scope, entrance_id: int) -> m.Entrance | None:
    """The entrance, if it is on one of the association's properties."""
    return db.execute(
        select(m.Entrance)
        .where(m.Entrance.id == entrance_id)
        .where(m.Entrance.property_id.in_(_own_property_ids(scope)))
    ).scalar_one_or_none()


def own_gate(db: Session, scope: Scope, gate_id: int) -> m.Gate | None:
    """The gate, if it is on one of the association's properties."""
    return db.execute(
        select(m.Gate)
        .where(m.Gate.id == gate_id)
        .where(m.Gate.property_id.in_(_own_property_ids(scope)))
    ).scalar_one_or_none()


def modules_at(
    db: Session,
    scope: Scope,
    *,
    entrance_ids: Collection[int] = (),
    gate_ids: Collection[int] = (),
) -> list[m.DoorDevice]:
    """The live controllers at these entrances and gates (within the association's)."""
    if not entrance_ids and not gate_ids:
        return []
    return list(
        db.execute(
            select(DD)
            .where(DD.id.in_(stairwell_door_ids(scope)))
            .where(DD.status.in_(LIVE_MODULE))
            .where(or_(DD.entrance_id.in_(sorted(entrance_ids)), DD.gate_id.in_(sorted(gate_ids))))
            .order_by(DD.id)
        ).scalars()
    )


# --- the anonymous count of the municipality's openings ----------------------------------------


def municipal_staff_ids(municipality_id: int) -> Select[Any]:
    """The municipality's own employees (never an association's or a company's people)."""
    return (
        select(m.Employee.id)
        .where(m.Employee.municipality_id == municipality_id)
        .where(m.Employee.housing_association_id.is_(None))
        .where(m.Employee.partner_company_id.is_(None))
    )


def municipal_openings(
    db: Session, scope: Scope, bounds: Sequence[dt.datetime]
) -> dict[tuple[int, int], int]:
    """How many times the municipality's staff opened an entrance or gate controller of each own
    property in each period ``bounds[i] <= t < bounds[i + 1]``: {(property id, i): count}.

    Counts only, per property and period: no door, no time, no person leaves this query."""
    if len(bounds) < 2:
        return {}
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    property_id = func.coalesce(entrance.property_id, gate.property_id)
    period = case(
        *((AE.occurred_at < bound, index) for index, bound in enumerate(bounds[1:-1])),
        else_=len(bounds) - 2,
    )
    rows = db.execute(
        select(property_id, period, func.count())
        .select_from(AE)
        .join(DD, DD.id == AE.door_device_id)
        .outerjoin(entrance, entrance.id == DD.entrance_id)
        .outerjoin(gate, gate.id == DD.gate_id)
        .where(AE.municipality_id == scope.municipality_id)
        .where(AE.door_device_id.in_(stairwell_door_ids(scope)))
        .where(AE.employee_id.in_(municipal_staff_ids(scope.municipality_id)))
        .where(AE.action.in_(OPENING_ACTIONS))
        .where(AE.occurred_at >= bounds[0], AE.occurred_at < bounds[-1])
        .group_by(property_id, period)
    ).all()
    return {(int(p), int(i)): int(n) for p, i, n in rows if p is not None}


# --- permission requests -----------------------------------------------------------------------


def _permission_requests(scope: Scope) -> Select[m.PermissionRequest, m.Property]:
    return (
        select(PR, m.Property)
        .join(m.Property, m.Property.id == PR.property_id)
        .where(PR.municipality_id == scope.municipality_id)
        .where(PR.housing_association_id == scope.association_id)
        .where(PR.property_id.in_(_own_property_ids(scope)))
    )


def permission_requests(
    db: Session, scope: Scope, *, status: e.PermissionStatus | None, limit: int, offset: int
) -> tuple[list[tuple[m.PermissionRequest, m.Property]], int]:
    """The municipality's requests for the association's properties, open ones first, then the
    newest; and how many there are."""
    stmt = _permission_requests(scope)
    if status is not None:
        stmt = stmt.where(PR.status == status)
    total = count_of(db, stmt)
    rows = db.execute(
        stmt.order_by(
            case((PR.status == e.PermissionStatus.REQUESTED, 0), else_=1),
            PR.requested_at.desc(),
            PR.id.desc(),
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return [(r[0], r[1]) for r in rows], total


def permission_request(
    db: Session, scope: Scope, request_id: int
) -> tuple[m.PermissionRequest, m.Property] | None:
    """One request for one of the association's properties."""
    row = db.execute(_permission_requests(scope).where(PR.id == request_id)).first()
    return (row[0], row[1]) if row is not None else None


def decide_permission(
    db: Session,
    request_id: int,
    *,
    status: e.PermissionStatus,
    by: str,
    note: str | None,
    now: dt.datetime,
) -> bool:
    """Answer a request that is still open (compare-and-set: a second answer, even a concurrent
    one, finds it answered); whether this call answered it."""
    result = db.execute(
        update(PR)
        .where(PR.id == request_id, PR.status == e.PermissionStatus.REQUESTED)
        .values(status=status, decided_by_name=by, decided_at=now, note=note)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


def person_name(db: Session, employee_id: int) -> str | None:
    """The full name of one person (the signed-in user)."""
    return db.execute(
        select(m.Employee.full_name).where(m.Employee.id == employee_id)
    ).scalar_one_or_none()


# --- companies and agreements ------------------------------------------------------------------


def companies(db: Session, scope: Scope) -> list[m.PartnerCompany]:
    """The municipality's register of approved companies and public bodies, by name."""
    return list(
        db.execute(
            select(m.PartnerCompany)
            .where(companies_in(scope))
            .order_by(m.PartnerCompany.name, m.PartnerCompany.id)
        ).scalars()
    )


def agreement_rows(
    scope: Scope, *, company_id: int | None = None
) -> Select[m.Agreement, m.PartnerCompany]:
    """The association's agreements with their company (unordered)."""
    stmt = (
        select(m.Agreement, m.PartnerCompany)
        .join(m.PartnerCompany, m.PartnerCompany.id == m.Agreement.partner_company_id)
        .where(agreements_in(scope))
    )
    if company_id is not None:
        stmt = stmt.where(m.Agreement.partner_company_id == company_id)
    return stmt


AGREEMENT_ORDER: Final = (m.PartnerCompany.name, m.Agreement.valid_from.desc(), m.Agreement.id)


def agreements(
    db: Session, scope: Scope, *, company_id: int | None, limit: int, offset: int
) -> tuple[list[tuple[m.Agreement, m.PartnerCompany]], int]:
    """One page of the association's agreements, by company, and how many there are."""
    stmt = agreement_rows(scope, company_id=company_id)
    total = count_of(db, stmt)
    rows = db.execute(stmt.order_by(*AGREEMENT_ORDER).limit(limit).offset(offset)).all()
    return [(r[0], r[1]) for r in rows], total


def agreements_with(db: Session, scope: Scope, company_id: int) -> list[m.Agreement]:
    """Every agreement of the association with one company."""
    return list(
        db.execute(
            select(m.Agreement)
            .where(agreements_in(scope))
            .where(m.Agreement.partner_company_id == company_id)
            .order_by(m.Agreement.id)
        ).scalars()
    )


def agreement_counts(db: Session, scope: Scope) -> dict[int, tuple[int, int]]:
    """Per company: (the association's agreements with it, how many of them are blocked)."""
    blocked = func.sum(case((m.Agreement.blocked.is_(True), 1), else_=0))
    rows = db.execute(
        select(m.Agreement.partner_company_id, func.count(), blocked)
        .where(agreements_in(scope))
        .group_by(m.Agreement.partner_company_id)
    ).all()
    return {int(c): (int(n), int(b or 0)) for c, n, b in rows}


@dataclass(frozen=True, slots=True)
class DoorPlace:
    """A controller and where it sits: the entrance or gate, and the property."""

    door: m.DoorDevice
    property: m.Property
    entrance: m.Entrance | None
    gate: m.Gate | None


def _places(db: Session, door_filter: Any, extra: Sequence[Any] = ()) -> list[Any]:
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    return list(
        db.execute(
            select(*extra, DD, prop, entrance, gate)
            .outerjoin(entrance, entrance.id == DD.entrance_id)
            .outerjoin(gate, gate.id == DD.gate_id)
            .join(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
            .where(door_filter)
            .order_by(prop.street, prop.house_number, DD.kind, DD.serial)
        ).all()
    )


def doors_of(db: Session, agreement_ids: Collection[int]) -> dict[int, list[DoorPlace]]:
    """Each agreement's controllers with their place."""
    if not agreement_ids:
        return {}
    links = select(m.AgreementDoor.door_device_id).where(
        m.AgreementDoor.agreement_id.in_(sorted(agreement_ids))
    )
    places = {
        row[0].id: DoorPlace(row[0], row[1], row[2], row[3])
        for row in _places(db, DD.id.in_(links))
    }
    found: dict[int, list[DoorPlace]] = {}
    for agreement_id, door_id in db.execute(
        select(m.AgreementDoor.agreement_id, m.AgreementDoor.door_device_id)
        .where(m.AgreementDoor.agreement_id.in_(sorted(agreement_ids)))
        .order_by(m.AgreementDoor.door_device_id)
    ):
        if door_id in places:
            found.setdefault(agreement_id, []).append(places[door_id])
    order = list(places)
    for doors in found.values():
        doors.sort(key=lambda p: order.index(p.door.id))
    return found


def windows_of(db: Session, agreement_ids: Collection[int]) -> dict[int, list[m.AgreementWindow]]:
    """Each agreement's weekly windows, Monday first."""
    found: dict[int, list[m.AgreementWindow]] = {}
    for window in db.execute(
        select(m.AgreementWindow)
        .where(m.AgreementWindow.agreement_id.in_(sorted(agreement_ids)))
        .order_by(
            m.AgreementWindow.agreement_id,
            m.AgreementWindow.weekday,
            m.AgreementWindow.start_minute,
        )
    ).scalars():
        found.setdefault(window.agreement_id, []).append(window)
    return found


def replace_windows(db: Session, agreement_id: int) -> None:
    """Remove an agreement's windows (before writing the new ones)."""
    db.execute(delete(m.AgreementWindow).where(m.AgreementWindow.agreement_id == agreement_id))


def remove_doors(db: Session, agreement_id: int, door_ids: Collection[int]) -> None:
    """Take controllers off an agreement."""
    if door_ids:
        db.execute(
            delete(m.AgreementDoor)
            .where(m.AgreementDoor.agreement_id == agreement_id)
            .where(m.AgreementDoor.door_device_id.in_(sorted(door_ids)))
        )


def door_ids_of(db: Session, agreement_id: int) -> set[int]:
    """The controllers an agreement covers now."""
    return set(
        db.execute(
            select(m.AgreementDoor.door_device_id).where(
                m.AgreementDoor.agreement_id == agreement_id
            )
        ).scalars()
    )


def history_of(
    db: Session, scope: Scope, *, target_type: str, target_id: int, limit: int
) -> list[tuple[m.AdminAction, bool]]:
    """The latest administrative actions on one of the association's things, newest first,
    each with whether one of the association's own people took it (the municipality's staff
    are never named on the association's pages)."""
    own = (
        select(m.Employee.id)
        .where(m.Employee.municipality_id == scope.municipality_id)
        .where(m.Employee.housing_association_id == scope.association_id)
    )
    rows = db.execute(
        select(m.AdminAction, m.AdminAction.actor_employee_id.in_(own))
        .where(m.AdminAction.municipality_id == scope.municipality_id)
        .where(m.AdminAction.target_type == target_type)
        .where(m.AdminAction.target_id == str(target_id))
        .order_by(m.AdminAction.at.desc(), m.AdminAction.id.desc())
        .limit(limit)
    ).all()
    return [(r[0], bool(r[1])) for r in rows]


# --- the partner log ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogRow:
    """One partner worker's event at one of the association's controllers."""

    event: m.AuditEvent
    worker_name: str
    company_id: int
    company_name: str
    place: DoorPlace


def _log_filter(
    scope: Scope,
    *,
    company_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Any:
    condition = partner_events_in(scope)
    if company_id is not None:
        workers = select(m.Employee.id).where(m.Employee.partner_company_id == company_id)
        condition = condition & AE.employee_id.in_(workers)
    if since is not None:
        condition = condition & (AE.occurred_at >= since)
    if until is not None:
        condition = condition & (AE.occurred_at < until)
    return condition


def partner_log(
    db: Session,
    scope: Scope,
    *,
    company_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int | None,
    offset: int = 0,
) -> tuple[list[LogRow], int | None]:
    """Partner workers' events at the association's controllers, newest first; and how many
    there are (None when ``limit`` is None: the export reads them all)."""
    condition = _log_filter(scope, company_id=company_id, since=since, until=until)
    total = None
    if limit is not None:
        total = count_of(db, select(AE.id).where(condition))
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    worker = aliased(m.Employee)
    stmt = (
        select(AE, worker.full_name, m.PartnerCompany.id, m.PartnerCompany.name, DD, prop)
        .add_columns(entrance, gate)
        .join(worker, worker.id == AE.employee_id)
        .join(m.PartnerCompany, m.PartnerCompany.id == worker.partner_company_id)
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
        LogRow(r[0], r[1], r[2], r[3], DoorPlace(r[4], r[5], r[6], r[7]))
        for r in db.execute(stmt).all()
    ]
    return rows, total
