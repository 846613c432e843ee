"""District use cases: list, read, create and rename districts.

Who may do what is decided in ``carekey.access`` alone (``reach`` and its SQL conditions):
administrators create and change, district leads read their own districts, auditors read.
Every create and change writes an ``AdminAction`` in the same transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.districts import queries as sql
from carekey.domain.changes import UNSET, Unset, note_change
from carekey.domain.errors import ConflictError
from carekey.domain.text import reason_text, required_text
from carekey.keyservice.municipalities import municipality_by_code
from carekey.store import models as m
from carekey.store.unique import flush_unique


@dataclass(frozen=True)
class DistrictView:
    """A district with how many employees and citizens it has."""

    district: m.District
    employee_count: int
    citizen_count: int


def _views(db: Session, districts: list[m.District]) -> list[DistrictView]:
    ids = [d.id for d in districts]
    employees = sql.employee_counts(db, ids)
    citizens = sql.citizen_counts(db, ids)
    return [DistrictView(d, employees.get(d.id, 0), citizens.get(d.id, 0)) for d in districts]


def list_districts(db: Session, *, actor: Actor) -> list[DistrictView]:
    """The districts of the actor's municipality (a district lead sees their own only)."""
    scope = reach(actor, Action.READ_DISTRICTS)
    return _views(db, sql.districts_in_scope(db, scope))


def get_district(db: Session, *, actor: Actor, district_id: int) -> DistrictView:
    """One district of the actor's municipality."""
    district = get_in_scope(db, reach(actor, Action.READ_DISTRICTS), m.District, district_id)
    return _views(db, [district])[0]


def _code_taken() -> ConflictError:
    return ConflictError(
        "district.code_taken",
        "Kommunen har allerede et distrikt med den kode",
        "The municipality already has a district with that code",
    )


def _check_code_free(db: Session, municipality_id: int, code: str, but: int | None = None) -> None:
    if sql.code_taken(db, municipality_id, code, but):
        raise _code_taken()


def _code(code: str) -> str:
    return required_text(
        code, max_length=16, code="district.bad_code", what_da="Koden", what_en="The code"
    )


def _name(name: str) -> str:
    return required_text(
        name, max_length=100, code="district.bad_name", what_da="Navnet", what_en="The name"
    )


def create_district(
    db: Session, *, actor: Actor, code: str, name: str, now: dt.datetime, reason: str | None = None
) -> DistrictView:
    """Create a district; its code is unique within the municipality."""
    reach(actor, Action.MANAGE_DISTRICTS)
    return _create(db, actor.municipality_id, actor, code, name, now, reason)


def create_district_for_setup(
    db: Session, *, municipality_code: str, code: str, name: str, now: dt.datetime
) -> DistrictView:
    """Create a district of a new municipality from the command line (``carekey district
    create``), before anyone can sign in; audited with the command line as the actor."""
    municipality = municipality_by_code(db, code=municipality_code)
    return _create(db, municipality.id, None, code, name, now, None)


def _create(
    db: Session,
    municipality_id: int,
    actor: Actor | None,
    code: str,
    name: str,
    now: dt.datetime,
    reason: str | None,
) -> DistrictView:
    district = m.District(municipality_id=municipality_id, code=_code(code), name=_name(name))
    _check_code_free(db, municipality_id, district.code)
    db.add(district)
    flush_unique(db, _code_taken())
    details = {"code": district.code, "name": district.name}
    record_admin_action(
        db,
        actor=actor,
        municipality_id=municipality_id,
        action="district.created",
        target_type="district",
        target_id=district.id,
        reason=reason_text(reason),
        now=now,
        details=details if actor is not None else {**details, "via": "carekey district create"},
    )
    return _views(db, [district])[0]


def update_district(
    db: Session,
    *,
    actor: Actor,
    district_id: int,
    now: dt.datetime,
    code: str | Unset = UNSET,
    name: str | Unset = UNSET,
    reason: str | None = None,
) -> DistrictView:
    """Rename a district or change its code."""
    scope = reach(actor, Action.MANAGE_DISTRICTS)
    district = get_in_scope(db, scope, m.District, district_id)
    changes: dict[str, Any] = {}
    if not isinstance(code, Unset):
        new_code = _code(code)
        if note_change(changes, "code", district.code, new_code):
            _check_code_free(db, district.municipality_id, new_code, but=district.id)
            district.code = new_code
    if not isinstance(name, Unset):
        new_name = _name(name)
        if note_change(changes, "name", district.name, new_name):
            district.name = new_name
    if changes:
        flush_unique(db, _code_taken())
        record_admin_action(
            db,
            actor=actor,
            municipality_id=district.municipality_id,
            action="district.changed",
            target_type="district",
            target_id=district.id,
            reason=reason_text(reason),
            now=now,
            details=changes,
        )
    return _views(db, [district])[0]
