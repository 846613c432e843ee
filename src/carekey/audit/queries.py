"""The audit log's SQL: the rows an actor may read, with who, which citizen and which door.

Reach comes in as a ``Scope`` from ``carekey.access``; the one condition that turns it into SQL
is ``access.queries.audit_events_in``. Nothing here decides who may read what.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from carekey.access import Scope
from carekey.access import queries as access_sql
from carekey.domain import enums as e
from carekey.store import models as m
from carekey.store.search import contains

AE = m.AuditEvent
MAX_WORDS = 6


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What to narrow the log to; ``since`` inclusive, ``until`` exclusive, None for "any"."""

    employee_id: int | None = None
    citizen_id: int | None = None
    door_device_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    action: e.AuditAction | None = None
    employee_text: str | None = None
    """Part of the employee's name, or their whole employee number (any case)."""
    citizen_text: str | None = None
    """Words of the citizen's name or of the address of the door (street, number, postal code,
    city, stairwell): every word must be found in one of them."""


def words(text: str) -> list[str]:
    """The words of a search, at most ``MAX_WORDS``."""
    return [w for w in re.split(r"[\s,]+", text.strip()) if w][:MAX_WORDS]


def _statement(scope: Scope, where: LogFilter) -> Select[*tuple[Any, ...]]:
    """Events in ``scope`` matching ``where``, newest first, with the names and the door's
    address joined on."""
    door = aliased(m.DoorDevice)
    dwelling = aliased(m.Dwelling)
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    marker = aliased(m.AuditEvent)
    # A gap before this event that the door's own signed LOG_OVERFLOW marker explains: a marker
    # of the same door at or above this seq (carekey.ingest.service, "Gaps the door explains").
    evicted = case(
        (
            AE.chain_gap,
            exists()
            .where(marker.door_device_id == AE.door_device_id)
            .where(marker.action == e.AuditAction.LOG_OVERFLOW)
            .where(marker.door_seq >= AE.door_seq),
        ),
        else_=false(),
    ).label("chain_evicted")
    stmt = (
        select(
            AE.id,
            AE.occurred_at,
            AE.source,
            AE.action,
            AE.reason_code,
            AE.employee_id,
            m.Employee.full_name.label("employee_name"),
            m.Employee.employee_number,
            m.Employee.partner_company_id,
            m.PartnerCompany.name.label("partner_company"),
            AE.citizen_id,
            m.Citizen.given_name,
            m.Citizen.family_name,
            AE.door_device_id,
            door.serial.label("door_serial"),
            door.kind.label("door_kind"),
            dwelling.floor,
            dwelling.side,
            entrance.label.label("entrance_label"),
            gate.label.label("gate_label"),
            prop.street,
            prop.house_number,
            prop.postal_code,
            prop.city,
            AE.door_seq,
            AE.chain_gap,
            AE.chain_broken,
            evicted,
        )
        .outerjoin(m.Employee, m.Employee.id == AE.employee_id)
        .outerjoin(m.PartnerCompany, m.PartnerCompany.id == m.Employee.partner_company_id)
        .outerjoin(m.Citizen, m.Citizen.id == AE.citizen_id)
        .outerjoin(door, door.id == AE.door_device_id)
        .outerjoin(dwelling, dwelling.id == door.dwelling_id)
        .outerjoin(entrance, entrance.id == func.coalesce(door.entrance_id, dwelling.entrance_id))
        .outerjoin(gate, gate.id == door.gate_id)
        .outerjoin(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
        .where(access_sql.audit_events_in(scope))
    )
    if where.employee_text and where.employee_text.strip():
        # Part of the name, or the whole employee number ("E1" is not E10 to E19).
        pattern = contains(where.employee_text)
        number = where.employee_text.strip().lower()
        stmt = stmt.where(
            or_(
                m.Employee.full_name.ilike(pattern, escape="\\"),
                func.lower(m.Employee.employee_number) == number,
            )
        )
    for word in words(where.citizen_text or ""):
        pattern = contains(word)
        stmt = stmt.where(
            or_(
                m.Citizen.given_name.ilike(pattern, escape="\\"),
                m.Citizen.family_name.ilike(pattern, escape="\\"),
                prop.street.ilike(pattern, escape="\\"),
                prop.house_number.ilike(pattern, escape="\\"),
                prop.postal_code.ilike(pattern, escape="\\"),
                prop.city.ilike(pattern, escape="\\"),
                entrance.label.ilike(pattern, escape="\\"),
            )
        )
    if where.employee_id is not None:
        stmt = stmt.where(AE.employee_id == where.employee_id)
    if where.citizen_id is not None:
        stmt = stmt.where(AE.citizen_id == where.citizen_id)
    if where.door_device_id is not None:
        stmt = stmt.where(AE.door_device_id == where.door_device_id)
    if where.since is not None:
        stmt = stmt.where(AE.occurred_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(AE.occurred_at < where.until)
    if where.action is not None:
        stmt = stmt.where(AE.action == where.action)
    return stmt.order_by(AE.occurred_at.desc(), AE.id.desc())


def log_rows(
    db: Session, scope: Scope, where: LogFilter, *, limit: int, offset: int
) -> list[Row[Any]]:
    """At most ``limit`` rows of the log from ``offset``, newest first."""
    return list(db.execute(_statement(scope, where).limit(limit).offset(offset)))


def stream_log_rows(
    db: Session, scope: Scope, where: LogFilter, *, chunk: int
) -> Iterator[Row[Any]]:
    """Every row of the log matching ``where``, newest first, fetched ``chunk`` rows at a time
    (a server-side cursor on PostgreSQL, so a large export never sits in memory)."""
    yield from db.execute(_statement(scope, where).execution_options(yield_per=chunk))


def employee_id_by_number(db: Session, municipality_id: int, employee_number: str) -> int | None:
    """The municipality's employee with this employee number, if any."""
    return db.execute(
        select(m.Employee.id)
        .where(m.Employee.municipality_id == municipality_id)
        .where(m.Employee.employee_number == employee_number)
    ).scalar()


def names_of(
    db: Session,
    municipality_id: int,
    *,
    employee_id: int | None,
    citizen_id: int | None,
    door_device_id: int | None,
) -> tuple[str | None, str | None, str | None]:
    """(the employee's name, the citizen's name, the door's serial) of the municipality's
    objects with these ids, each None when there is none."""
    employee = citizen = door = None
    if employee_id is not None:
        employee = db.execute(
            select(m.Employee.full_name)
            .where(m.Employee.id == employee_id)
            .where(m.Employee.municipality_id == municipality_id)
        ).scalar()
    if citizen_id is not None:
        found = db.execute(
            select(m.Citizen.given_name, m.Citizen.family_name)
            .where(m.Citizen.id == citizen_id)
            .where(m.Citizen.municipality_id == municipality_id)
        ).first()
        citizen = f"{found[0]} {found[1]}" if found else None
    if door_device_id is not None:
        door = db.execute(
            select(m.DoorDevice.serial)
            .where(m.DoorDevice.id == door_device_id)
            .where(m.DoorDevice.municipality_id == municipality_id)
        ).scalar()
    return employee, citizen, door


def door_id_by_serial(db: Session, municipality_id: int, serial: str) -> int | None:
    """The municipality's door device with exactly this serial number, if any."""
    return db.execute(
        select(m.DoorDevice.id)
        .where(m.DoorDevice.municipality_id == municipality_id)
        .where(m.DoorDevice.serial == serial)
    ).scalar()
