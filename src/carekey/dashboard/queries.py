"""The dashboard's SQL: doors with their place, today's figures, lock states, and what the
exposure after a revocation is computed from.

Every figure is one aggregate query (or a handful), never a loop over thousands of rows. Reach
comes in as a ``Scope`` and becomes SQL through the conditions of ``carekey.access.queries``;
thresholds (a low battery, a drifting clock, how long ago) come in as arguments, so the rules
stay with the use cases and this module reads like the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from carekey.access import Scope
from carekey.access import queries as access_sql
from carekey.domain import enums as e
from carekey.domain.places import Address
from carekey.store import models as m

AE = m.AuditEvent
DD = m.DoorDevice
IC = m.IssuedCredential

OPENING_ACTIONS: Final = (e.AuditAction.UNLOCKED, e.AuditAction.RELAY_PULSED)
LOCK_STATE_ACTIONS: Final = (
    e.AuditAction.UNLOCKED,
    e.AuditAction.LOCKED,
    e.AuditAction.AUTO_RELOCKED,
    e.AuditAction.MANUAL_TURN,
)
LIVE_DOOR: Final = (
    e.DoorStatus.INSTALLED,
    e.DoorStatus.COMMISSIONED,
    e.DoorStatus.ACTIVE,
    e.DoorStatus.FAULTY,
)
"""A door on a wall: installed and not yet taken down."""


# --- doors and where they sit ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoorRow:
    """A door device and the address it sits at (None for a door not yet placed)."""

    door: m.DoorDevice
    address: Address | None


@dataclass(frozen=True, slots=True)
class DoorFilter:
    """What a list of doors is narrowed to; None or False for "any"."""

    kind: e.DoorKind | None = None
    status: e.DoorStatus | None = None
    serial_contains: str | None = None
    battery_below: int | None = None
    """Battery below this many per cent, weakest first."""
    clock_off_by_more_than: int | None = None
    """Clock off by more than this many milliseconds either way, worst first."""
    stale_denylist: bool = False
    """On a wall and has not seen the municipality's newest denylist version."""
    door_ids: Collection[int] | None = None


def _door_statement() -> Select[*tuple[Any, ...]]:
    dwelling = aliased(m.Dwelling)
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    return (
        select(
            DD,
            prop.id.label("property_id"),
            prop.street,
            prop.house_number,
            prop.postal_code,
            prop.city,
            entrance.id.label("entrance_id"),
            entrance.label.label("entrance_label"),
            dwelling.floor,
            dwelling.side,
            gate.label.label("gate_label"),
        )
        .outerjoin(dwelling, dwelling.id == DD.dwelling_id)
        .outerjoin(entrance, entrance.id == func.coalesce(DD.entrance_id, dwelling.entrance_id))
        .outerjoin(gate, gate.id == DD.gate_id)
        .outerjoin(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
    )


def _door_row(r: Any) -> DoorRow:
    d: m.DoorDevice = r[0]
    address = None
    if r.street is not None:
        address = Address(
            r.property_id,
            r.street,
            r.house_number,
            r.postal_code,
            r.city,
            entrance_id=r.entrance_id,
            entrance_label=r.entrance_label,
            dwelling_id=d.dwelling_id,
            floor=r.floor if d.dwelling_id else None,
            side=r.side if d.dwelling_id else None,
            gate_id=d.gate_id,
            gate_label=r.gate_label,
        )
    return DoorRow(d, address)


def _door_rows(db: Session, stmt: Select[*tuple[Any, ...]]) -> list[DoorRow]:
    return [_door_row(r) for r in db.execute(stmt)]


def _drifting(more_than_ms: int) -> ColumnElement[bool]:
    return or_(DD.clock_offset_ms > more_than_ms, DD.clock_offset_ms < -more_than_ms)


def find_doors(
    db: Session, scope: Scope, where: DoorFilter, *, limit: int, offset: int
) -> tuple[int, list[DoorRow]]:
    """How many doors in ``scope`` match ``where``, and the page of them from ``offset``
    (weakest battery or worst clock first when filtered so, then by serial)."""
    conditions: list[ColumnElement[bool]] = [access_sql.doors_in(scope)]
    order: list[Any] = [DD.serial, DD.id]
    if where.kind is not None:
        conditions.append(DD.kind == where.kind)
    if where.status is not None:
        conditions.append(DD.status == where.status)
    if where.serial_contains:
        text = where.serial_contains
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(DD.serial.ilike(f"%{escaped}%", escape="\\"))
    if where.battery_below is not None:
        conditions.append(DD.battery_pct < where.battery_below)
        order = [DD.battery_pct, *order]
    if where.clock_off_by_more_than is not None:
        conditions.append(_drifting(where.clock_off_by_more_than))
        order = [func.abs(DD.clock_offset_ms).desc(), *order]
    if where.stale_denylist:
        newest = newest_denylist_version(db, scope.municipality_id)
        conditions.append(DD.denylist_version_seen < newest)
        conditions.append(DD.status.in_(LIVE_DOOR))
    if where.door_ids is not None:
        conditions.append(DD.id.in_(list(where.door_ids)))
    total = db.execute(select(func.count()).select_from(DD).where(*conditions)).scalar_one()
    rows = _door_rows(
        db, _door_statement().where(*conditions).order_by(*order).limit(limit).offset(offset)
    )
    return int(total), rows


def door_rows(db: Session, door_ids: Collection[int]) -> list[DoorRow]:
    """These doors with their addresses, whoever's they are (the caller has checked reach)."""
    return _door_rows(db, _door_statement().where(DD.id.in_(list(door_ids))))


def standing_door_rows(db: Session, scope: Scope, door_ids: Collection[int]) -> list[DoorRow]:
    """Those of these doors that are in ``scope`` and not taken down, with their addresses."""
    return _door_rows(
        db,
        _door_statement()
        .where(DD.id.in_(list(door_ids)))
        .where(access_sql.doors_in(scope))
        .where(DD.status.not_in(e.GONE_DOOR_STATUSES)),
    )


def residents(db: Session, dwelling_ids: Collection[int]) -> dict[int, tuple[int, str]]:
    """Dwelling id -> (citizen id, full name) of the citizen living there (not removed; the
    newest when two share a dwelling)."""
    found: dict[int, tuple[int, str]] = {}
    if not dwelling_ids:
        return found
    for cid, dwelling_id, given, family in db.execute(
        select(m.Citizen.id, m.Citizen.dwelling_id, m.Citizen.given_name, m.Citizen.family_name)
        .where(m.Citizen.dwelling_id.in_(list(dwelling_ids)))
        .where(m.Citizen.status != e.CitizenStatus.REMOVED)
        .order_by(m.Citizen.id.desc())
    ):
        if dwelling_id is not None:
            found[dwelling_id] = (cid, f"{given} {family}")
    return found


def event_counts(db: Session, door_ids: Collection[int]) -> dict[int, tuple[int, int]]:
    """Door id -> (events stored, of which refusals), for doors with any events."""
    if not door_ids:
        return {}
    refused = func.sum(case((AE.action == e.AuditAction.REFUSED, 1), else_=0))
    return {
        door_id: (int(total), int(refusals or 0))
        for door_id, total, refusals in db.execute(
            select(AE.door_device_id, func.count(), refused)
            .where(AE.door_device_id.in_(list(door_ids)))
            .group_by(AE.door_device_id)
        )
    }


def newest_denylist_version(db: Session, municipality_id: int) -> int:
    """The municipality's newest denylist version (0 before the first)."""
    version = db.execute(
        select(func.max(m.DenylistVersion.version)).where(
            m.DenylistVersion.municipality_id == municipality_id
        )
    ).scalar()
    return int(version or 0)


def municipality_name(db: Session, municipality_id: int) -> str:
    """The municipality's name, for a page header."""
    return db.execute(
        select(m.Municipality.name).where(m.Municipality.id == municipality_id)
    ).scalar_one()


# --- today's figures ---------------------------------------------------------------------------


def openings_and_refusals(
    db: Session, scope: Scope, since: dt.datetime, until: dt.datetime
) -> tuple[int, int]:
    """Doors opened and attempts refused at doors in ``scope`` from ``since`` to ``until``."""
    opened = func.sum(case((AE.action.in_(OPENING_ACTIONS), 1), else_=0))
    refused = func.sum(case((AE.action == e.AuditAction.REFUSED, 1), else_=0))
    stmt = (
        select(opened, refused)
        .where(AE.municipality_id == scope.municipality_id)
        .where(AE.occurred_at >= since)
        .where(AE.occurred_at < until)
        .where(AE.action.in_((*OPENING_ACTIONS, e.AuditAction.REFUSED)))
    )
    if scope.district_ids is not None:
        # The whole municipality needs no door condition, and the query is faster without it.
        stmt = stmt.where(AE.door_device_id.in_(select(DD.id).where(access_sql.doors_in(scope))))
    row = db.execute(stmt).one()
    return int(row[0] or 0), int(row[1] or 0)


def employees_with_live_keys(db: Session, scope: Scope, now: dt.datetime) -> int:
    """How many employees in reach hold a key that works now."""
    return int(
        db.execute(
            select(func.count(func.distinct(IC.employee_id)))
            .where(IC.municipality_id == scope.municipality_id)
            .where(IC.employee_id.is_not(None))
            .where(IC.revoked_at.is_(None))
            .where(IC.expires_at > now)
            .where(IC.not_before <= now)
            .where(access_sql.employee_ids_in(scope, IC.employee_id))
        ).scalar_one()
    )


def blocked_phones(db: Session, scope: Scope) -> int:
    """How many phones of employees in reach are blocked or reported lost."""
    return int(
        db.execute(
            select(func.count())
            .select_from(m.Phone)
            .where(m.Phone.municipality_id == scope.municipality_id)
            .where(m.Phone.status.in_((e.PhoneStatus.BLOCKED, e.PhoneStatus.LOST)))
            .where(access_sql.employee_ids_in(scope, m.Phone.employee_id))
        ).scalar_one()
    )


def blocked_employees(db: Session, scope: Scope) -> int:
    """How many employees in reach are blocked."""
    return int(
        db.execute(
            select(func.count())
            .select_from(m.Employee)
            .where(m.Employee.municipality_id == scope.municipality_id)
            .where(m.Employee.status == e.EmployeeStatus.BLOCKED)
            .where(access_sql.employee_ids_in(scope, m.Employee.id))
        ).scalar_one()
    )


# --- door health -------------------------------------------------------------------------------


def _live(scope: Scope) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return access_sql.doors_in(scope), DD.status.in_(LIVE_DOOR)


def door_health_counts(
    db: Session, scope: Scope, *, battery_below: int, clock_off_by_more_than: int
) -> tuple[int, int]:
    """Doors on a wall in ``scope`` with a low battery, and with a drifting clock."""
    low, drifting = db.execute(
        select(
            func.sum(case((DD.battery_pct < battery_below, 1), else_=0)),
            func.sum(case((_drifting(clock_off_by_more_than), 1), else_=0)),
        ).where(*_live(scope))
    ).one()
    return int(low or 0), int(drifting or 0)


def _in_alarm(
    lock_states: Collection[e.LockState], door_states: Collection[e.DoorSensorState]
) -> ColumnElement[bool]:
    return or_(DD.lock_state.in_(list(lock_states)), DD.door_state.in_(list(door_states)))


def doors_in_alarm(
    db: Session,
    scope: Scope,
    *,
    lock_states: Collection[e.LockState],
    door_states: Collection[e.DoorSensorState],
    limit: int,
) -> tuple[int, list[DoorRow]]:
    """How many doors on a wall in ``scope`` are in alarm (bolt or leaf in one of the given
    states), and the ``limit`` most recently seen of them."""
    alarm = _in_alarm(lock_states, door_states)
    total = db.execute(
        select(func.count()).select_from(DD).where(*_live(scope)).where(alarm)
    ).scalar_one()
    rows = _door_rows(
        db,
        _door_statement()
        .where(*_live(scope))
        .where(alarm)
        .order_by(DD.last_seen_at.desc().nulls_last(), DD.serial)
        .limit(limit),
    )
    return int(total), rows


def weakest_batteries(
    db: Session, scope: Scope, *, battery_below: int, limit: int
) -> list[DoorRow]:
    """Doors on a wall in ``scope`` with a battery below ``battery_below``, weakest first."""
    return _door_rows(
        db,
        _door_statement()
        .where(*_live(scope))
        .where(DD.battery_pct < battery_below)
        .order_by(DD.battery_pct, DD.serial)
        .limit(limit),
    )


def worst_clocks(
    db: Session, scope: Scope, *, clock_off_by_more_than: int, limit: int
) -> list[DoorRow]:
    """Doors on a wall in ``scope`` whose clock is off by more than the limit, worst first."""
    return _door_rows(
        db,
        _door_statement()
        .where(*_live(scope))
        .where(_drifting(clock_off_by_more_than))
        .order_by(func.abs(DD.clock_offset_ms).desc(), DD.serial)
        .limit(limit),
    )


def unlocked_home_doors(
    db: Session,
    scope: Scope,
    *,
    since: dt.datetime,
    until: dt.datetime,
    unlocked_before: dt.datetime,
) -> list[tuple[int, dt.datetime, str | None]]:
    """Home locks in ``scope`` whose last lock event between ``since`` and ``until`` is an
    unlock before ``unlocked_before``: (door id, unlocked at, employee's name), longest open
    first."""
    ranked = (
        select(
            AE.door_device_id,
            AE.action,
            AE.occurred_at,
            AE.employee_id,
            func.row_number()
            .over(partition_by=AE.door_device_id, order_by=(AE.occurred_at.desc(), AE.id.desc()))
            .label("rank"),
        )
        .join(DD, DD.id == AE.door_device_id)
        .where(AE.municipality_id == scope.municipality_id)
        .where(AE.occurred_at >= since)
        .where(AE.occurred_at <= until)
        .where(AE.action.in_(LOCK_STATE_ACTIONS))
        .where(DD.kind == e.DoorKind.HOME_LOCK)
        .where(access_sql.doors_in(scope))
        .subquery()
    )
    rows = db.execute(
        select(ranked.c.door_device_id, ranked.c.occurred_at, m.Employee.full_name)
        .outerjoin(m.Employee, m.Employee.id == ranked.c.employee_id)
        .where(ranked.c.rank == 1)
        .where(ranked.c.action == e.AuditAction.UNLOCKED)
        .where(ranked.c.occurred_at < unlocked_before)
        .order_by(ranked.c.occurred_at)
    )
    return [(int(door_id), at, who) for door_id, at, who in rows]


# --- what the exposure after a revocation is computed from -------------------------------------


@dataclass(frozen=True, slots=True)
class RevokedCredential:
    """A revoked credential that has not yet expired: the doors it names, and whose it was."""

    door_device_ids: list[int] | None
    revoked_at: dt.datetime
    expires_at: dt.datetime
    employee_id: int | None  # a municipal employee or a partner worker
    phone_id: int | None
    emergency_grant_id: int | None


def revoked_live_credentials(
    db: Session, municipality_id: int, now: dt.datetime
) -> list[RevokedCredential]:
    """The municipality's revoked credentials that have not yet expired."""
    rows = db.execute(
        select(
            IC.door_device_ids,
            IC.revoked_at,
            IC.expires_at,
            IC.employee_id,
            IC.phone_id,
            IC.emergency_grant_id,
        )
        .where(IC.municipality_id == municipality_id)
        .where(IC.revoked_at.is_not(None))
        .where(IC.expires_at > now)
    )
    return [
        RevokedCredential(doors, revoked_at, expires_at, employee, phone, grant)
        for doors, revoked_at, expires_at, employee, phone, grant in rows
        if revoked_at is not None  # always, by the query; this tells the type checker
    ]


def removed_citizens_home_doors(
    db: Session, municipality_id: int, removed_since: dt.datetime
) -> list[tuple[int, dt.datetime | None, int]]:
    """(door id, removed at, citizen id) of the standing doors in the dwellings of citizens
    removed after ``removed_since``."""
    return [
        (int(door_id), removed_at, int(citizen_id))
        for door_id, removed_at, citizen_id in db.execute(
            select(DD.id, m.Citizen.removed_at, m.Citizen.id)
            .join(m.Citizen, m.Citizen.dwelling_id == DD.dwelling_id)
            .where(m.Citizen.municipality_id == municipality_id)
            .where(m.Citizen.status == e.CitizenStatus.REMOVED)
            .where(m.Citizen.removed_at > removed_since)
            .where(DD.status.not_in(e.GONE_DOOR_STATUSES))
        )
    ]


def denylist_versions_since(
    db: Session, municipality_id: int, since: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    """(created at, version) of the municipality's denylist versions from ``since``, oldest
    first."""
    return [
        (created_at, int(version))
        for created_at, version in db.execute(
            select(m.DenylistVersion.created_at, m.DenylistVersion.version)
            .where(m.DenylistVersion.municipality_id == municipality_id)
            .where(m.DenylistVersion.created_at >= since)
            .order_by(m.DenylistVersion.created_at, m.DenylistVersion.version)
        )
    ]


def latest_key_expiry(
    db: Session, municipality_id: int, now: dt.datetime, *, issued_by: dt.datetime
) -> dt.datetime | None:
    """The latest expiry of the municipality's unexpired credentials issued by ``issued_by``."""
    return db.execute(
        select(func.max(IC.expires_at))
        .where(IC.municipality_id == municipality_id)
        .where(IC.expires_at > now)
        .where(IC.issued_at <= issued_by)
    ).scalar()


def phone_proofs(
    db: Session, phone_ids: Collection[int]
) -> dict[int, tuple[e.PhoneStatus, dt.datetime | None]]:
    """Phone id -> (status, the expiry of the last proof of freshness issued to it)."""
    if not phone_ids:
        return {}
    rows = db.execute(
        select(m.Phone.id, m.Phone.status, m.Phone.freshness_expires_at).where(
            m.Phone.id.in_(sorted(phone_ids))
        )
    ).all()
    return {int(phone_id): (status, expires) for phone_id, status, expires in rows}


def employees_by_id(
    db: Session, employee_ids: Iterable[int]
) -> dict[int, tuple[str, str, dt.datetime | None]]:
    """Employee id -> (full name, employee number, blocked at)."""
    return {
        row.id: (row.full_name, row.employee_number, row.blocked_at)
        for row in db.execute(
            select(
                m.Employee.id,
                m.Employee.full_name,
                m.Employee.employee_number,
                m.Employee.blocked_at,
            ).where(m.Employee.id.in_(list(employee_ids)))
        )
    }


def phone_labels(db: Session, phone_ids: Collection[int]) -> dict[int, str]:
    """Phone id -> label."""
    if not phone_ids:
        return {}
    rows = db.execute(select(m.Phone.id, m.Phone.label).where(m.Phone.id.in_(list(phone_ids))))
    return {int(i): label for i, label in rows}


def citizen_names(db: Session, citizen_ids: Collection[int]) -> dict[int, str]:
    """Citizen id -> "given family"."""
    return {
        row.id: f"{row.given_name} {row.family_name}"
        for row in db.execute(
            select(m.Citizen.id, m.Citizen.given_name, m.Citizen.family_name).where(
                m.Citizen.id.in_(list(citizen_ids))
            )
        )
    }
