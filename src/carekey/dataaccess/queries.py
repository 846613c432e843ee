"""The SQL of the right of access: the keys to one home and everything held about one employee.

The door events themselves come through ``audit.service`` (its reach, its rows); here are only
the rows no other part's service answers for a report: emergency keys, issued credentials,
phones, sessions and the administration's log about one person. Every query names the
municipality; nothing here decides who may ask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, or_, select, text
from sqlalchemy.orm import Session, aliased

from carekey.domain import enums as e
from carekey.store import models as m


def roles_of(db: Session, employee_ids: Collection[int]) -> dict[int, list[e.Role]]:
    """Each employee's roles, sorted by name."""
    if not employee_ids:
        return {}
    found: dict[int, list[e.Role]] = {}
    rows = db.execute(
        select(m.EmployeeRole.employee_id, m.EmployeeRole.role).where(
            m.EmployeeRole.employee_id.in_(list(employee_ids))
        )
    )
    for employee_id, role in rows:
        found.setdefault(employee_id, []).append(e.Role(role))
    return {k: sorted(v, key=str) for k, v in found.items()}


def emergency_grants_for_citizen(
    db: Session, municipality_id: int, citizen_id: int, since: dt.datetime, until: dt.datetime
) -> list[Row[Any]]:
    """The emergency keys to the citizen's home valid at some time in ``[since, until)``, with
    the holder's and the grantor's names, oldest first."""
    holder = aliased(m.Employee)
    grantor = aliased(m.Employee)
    g = m.EmergencyKeyGrant
    stmt = (
        select(
            g.id,
            g.employee_id,
            holder.full_name.label("employee_name"),
            grantor.full_name.label("granted_by"),
            g.reason,
            g.starts_at,
            g.ends_at,
            g.revoked_at,
            g.created_at,
        )
        .join(holder, holder.id == g.employee_id)
        .join(grantor, grantor.id == g.granted_by_employee_id)
        .where(g.municipality_id == municipality_id)
        .where(g.citizen_id == citizen_id)
        .where(g.starts_at < until)
        .where(g.ends_at > since)
        .order_by(g.starts_at, g.id)
    )
    return list(db.execute(stmt))


def _opens_door(db: Session, door_id: int) -> Any:
    """The condition "the credential's list of doors holds ``door_id``" in this dialect."""
    if db.get_bind().dialect.name == "postgresql":
        return text(
            "CAST(issued_credential.door_device_ids AS jsonb) @> CAST(:door AS jsonb)"
        ).bindparams(door=f"[{int(door_id)}]")
    return text(
        "EXISTS (SELECT 1 FROM json_each(issued_credential.door_device_ids) WHERE value = :door)"
    ).bindparams(door=int(door_id))


def credentials_to_doors(
    db: Session,
    municipality_id: int,
    door_ids: Collection[int],
    since: dt.datetime,
    until: dt.datetime,
) -> list[Row[Any]]:
    """The credentials (keys) issued to phones that open one of ``door_ids`` and were valid at
    some time in ``[since, until)``, with the holder's name, oldest first."""
    if not door_ids:
        return []
    c = m.IssuedCredential
    stmt = (
        select(
            c.id,
            c.employee_id,
            m.Employee.full_name.label("employee_name"),
            c.kind,
            c.emergency_grant_id,
            c.not_before,
            c.expires_at,
            c.issued_at,
            c.revoked_at,
        )
        .join(m.Employee, m.Employee.id == c.employee_id)
        .where(c.municipality_id == municipality_id)
        .where(c.not_before < until)
        .where(c.expires_at > since)
        .where(or_(*(_opens_door(db, d) for d in sorted(door_ids))))
        .order_by(c.issued_at, c.id)
    )
    return list(db.execute(stmt))


def home_lock_ids(db: Session, municipality_id: int, dwelling_id: int | None) -> list[int]:
    """Every home lock ever fitted in the dwelling (a replaced one too)."""
    if dwelling_id is None:
        return []
    return list(
        db.execute(
            select(m.DoorDevice.id)
            .where(m.DoorDevice.municipality_id == municipality_id)
            .where(m.DoorDevice.dwelling_id == dwelling_id)
            .where(m.DoorDevice.kind == e.DoorKind.HOME_LOCK)
            .order_by(m.DoorDevice.id)
        ).scalars()
    )


# --- one employee -------------------------------------------------------------------------------


def district_names(db: Session, employee_id: int) -> list[tuple[int, str, str]]:
    """The employee's districts as (id, code, name)."""
    return [
        (r.id, r.code, r.name)
        for r in db.execute(
            select(m.District.id, m.District.code, m.District.name)
            .join(m.EmployeeDistrict, m.EmployeeDistrict.district_id == m.District.id)
            .where(m.EmployeeDistrict.employee_id == employee_id)
            .order_by(m.District.code)
        )
    ]


def phones_of(db: Session, municipality_id: int, employee_id: int) -> list[m.Phone]:
    """The phones registered to the employee."""
    return list(
        db.execute(
            select(m.Phone)
            .where(m.Phone.municipality_id == municipality_id)
            .where(m.Phone.employee_id == employee_id)
            .order_by(m.Phone.id)
        ).scalars()
    )


def sessions_of(db: Session, employee_id: int) -> list[m.OfficeSession]:
    """The employee's sign-ins to the administration and the API, newest first."""
    return list(
        db.execute(
            select(m.OfficeSession)
            .where(m.OfficeSession.employee_id == employee_id)
            .order_by(m.OfficeSession.created_at.desc())
        ).scalars()
    )


def admin_actions_about(
    db: Session, municipality_id: int, employee_id: int
) -> tuple[list[m.AdminAction], list[m.AdminAction]]:
    """(the administrative actions the employee did, those done to the employee), oldest first."""
    a = m.AdminAction
    base = select(a).where(a.municipality_id == municipality_id).order_by(a.at, a.id)
    by = list(db.execute(base.where(a.actor_employee_id == employee_id)).scalars())
    to = list(
        db.execute(
            base.where(a.target_type == "employee").where(a.target_id == str(employee_id))
        ).scalars()
    )
    return by, to


def credentials_of(db: Session, municipality_id: int, employee_id: int) -> list[m.IssuedCredential]:
    """Every credential issued to the employee, oldest first."""
    c = m.IssuedCredential
    return list(
        db.execute(
            select(c)
            .where(c.municipality_id == municipality_id)
            .where(c.employee_id == employee_id)
            .order_by(c.issued_at, c.id)
        ).scalars()
    )


def emergency_grants_of(db: Session, municipality_id: int, employee_id: int) -> list[Row[Any]]:
    """The emergency keys granted to the employee, with the citizen's name, oldest first."""
    g = m.EmergencyKeyGrant
    return list(
        db.execute(
            select(
                g.id,
                g.citizen_id,
                m.Citizen.given_name,
                m.Citizen.family_name,
                g.reason,
                g.starts_at,
                g.ends_at,
                g.revoked_at,
            )
            .join(m.Citizen, m.Citizen.id == g.citizen_id)
            .where(g.municipality_id == municipality_id)
            .where(g.employee_id == employee_id)
            .order_by(g.starts_at, g.id)
        )
    )
