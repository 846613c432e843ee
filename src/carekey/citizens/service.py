"""Citizen use cases: find, read, register and change citizens, and where they live.

Who may do what is decided in ``carekey.access`` alone: administrators register and change,
district leads read the citizens of their own districts, auditors read. Removing a citizen's
address from the solution (and its undo) is in ``revocation``, which also withdraws the door.

Another municipality's citizens, districts and dwellings are reported as "not found", never as
"forbidden". Every create and change writes an ``AdminAction`` in the same transaction; nothing
here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.citizens import queries as sql
from carekey.domain import enums as e
from carekey.domain.changes import UNSET, Unset, note_change
from carekey.domain.errors import ConflictError, DomainError, not_found
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.domain.places import Address
from carekey.domain.rules import check_same_municipality
from carekey.domain.text import reason_text, required_text
from carekey.store import models as m
from carekey.store.paging import page_of
from carekey.store.places import dwelling_addresses


@dataclass(frozen=True)
class CitizenView:
    """A citizen with district, address and (for one citizen) the doors to their home."""

    citizen: m.Citizen
    district: m.District
    address: Address | None
    doors: list[m.DoorDevice] = field(default_factory=list)


@dataclass(frozen=True)
class NewCitizen:
    """A citizen to register in a district, optionally at a dwelling."""

    given_name: str
    family_name: str
    district_id: int
    dwelling_id: int | None = None
    status: e.CitizenStatus = e.CitizenStatus.PENDING


@dataclass(frozen=True)
class CitizenChanges:
    """What to change about a citizen; a field left ``UNSET`` stays as it is."""

    given_name: str | Unset = UNSET
    family_name: str | Unset = UNSET
    district_id: int | Unset = UNSET
    status: e.CitizenStatus | Unset = UNSET


def _views(
    db: Session, citizens: list[m.Citizen], *, with_doors: bool = False
) -> list[CitizenView]:
    districts = sql.districts_by_id(db, {c.district_id for c in citizens})
    addresses = dwelling_addresses(db, {c.dwelling_id for c in citizens if c.dwelling_id})
    views = []
    for c in citizens:
        address = addresses.get(c.dwelling_id) if c.dwelling_id else None
        doors = sql.doors_to(db, address) if with_doors and address else []
        views.append(CitizenView(c, districts[c.district_id], address, doors))
    return views


# --- reading -----------------------------------------------------------------------------------


def list_citizens(
    db: Session,
    *,
    actor: Actor,
    q: str | None = None,
    district_id: int | None = None,
    status: e.CitizenStatus | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[CitizenView]:
    """Citizens of the actor's municipality, searched by name (``q``), by district and status;
    a district lead sees those of their own districts only."""
    scope = reach(actor, Action.READ_CITIZENS)
    stmt = sql.citizens(scope, q=q, district_id=district_id, status=status)
    page = page_of(db, stmt, order_by=sql.BY_NAME, limit=limit, offset=offset)
    return Page(_views(db, page.items), page.total, page.limit, page.offset)


def get_citizen(db: Session, *, actor: Actor, citizen_id: int) -> CitizenView:
    """One citizen with district, address and the doors to their home."""
    citizen = get_in_scope(db, reach(actor, Action.READ_CITIZENS), m.Citizen, citizen_id)
    return _views(db, [citizen], with_doors=True)[0]


def citizen_choices(
    db: Session, *, actor: Actor, text: str, limit: int = 20
) -> list[tuple[int, str]]:
    """The citizens in the actor's reach whose name contains ``text``, as (id, "name, address")."""
    found = list_citizens(db, actor=actor, q=text, limit=limit)
    return [
        (
            v.citizen.id,
            f"{v.citizen.given_name} {v.citizen.family_name}"
            + (f", {v.address.text}" if v.address else ""),
        )
        for v in found.items
    ]


def dwelling_choices(
    db: Session, *, actor: Actor, text: str, limit: int = 20
) -> list[tuple[int, str]]:
    """The dwellings of the actor's municipality whose address holds every word of ``text``
    (street and number, floor, side, postal code, city), as (id, address)."""
    return [
        (d.id, f"{ent.label}, {d.floor}. {d.side}., {p.postal_code} {p.city}")
        for d, ent, p in sql.dwellings_matching(db, actor.municipality_id, text, limit=limit)
    ]


def latest_restore_order(db: Session, *, citizen_id: int) -> m.WorkOrder | None:
    """The newest work order to put the original lock back at the home of a citizen the caller
    has already fetched through the access model."""
    return sql.latest_restore_order(db, citizen_id)


# --- changing ----------------------------------------------------------------------------------


_SETTABLE_STATUSES = (
    e.CitizenStatus.PENDING,
    e.CitizenStatus.ACTIVE,
    e.CitizenStatus.PAUSED,
)


def _status(status: e.CitizenStatus) -> e.CitizenStatus:
    if status not in _SETTABLE_STATUSES:
        raise DomainError(
            "citizen.use_remove",
            "En borger fjernes med 'fjern adresse', som også spærrer døren",
            "A citizen is removed with 'remove address', which also withdraws the door",
        )
    return status


def _name(value: str, what_da: str, what_en: str) -> str:
    return required_text(
        value, max_length=100, code="citizen.bad_name", what_da=what_da, what_en=what_en
    )


def create_citizen(
    db: Session,
    *,
    actor: Actor,
    new: NewCitizen,
    now: dt.datetime,
    reason: str | None = None,
) -> CitizenView:
    """Register a citizen in a district, optionally at a dwelling. An active citizen's doors are
    in the key bundles of the district's employees from their next heartbeat."""
    scope = reach(actor, Action.MANAGE_CITIZENS)
    district = get_in_scope(db, scope, m.District, new.district_id)
    if new.dwelling_id is not None:
        dwelling_municipality = sql.dwelling_municipality(db, new.dwelling_id)
        if dwelling_municipality != actor.municipality_id:
            raise not_found("Boligen", "dwelling")
        check_same_municipality(
            "Borgeren", actor.municipality_id, [district.municipality_id, dwelling_municipality]
        )
    citizen = m.Citizen(
        municipality_id=actor.municipality_id,
        district_id=district.id,
        dwelling_id=new.dwelling_id,
        given_name=_name(new.given_name, "Fornavnet", "The given name"),
        family_name=_name(new.family_name, "Efternavnet", "The family name"),
        status=_status(new.status),
        created_at=now,
    )
    db.add(citizen)
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="citizen.created",
        target_type="citizen",
        target_id=citizen.id,
        reason=reason_text(reason),
        now=now,
        details={
            "district_id": district.id,
            "dwelling_id": new.dwelling_id,
            "status": citizen.status.value,
        },
    )
    return get_citizen(db, actor=actor, citizen_id=citizen.id)


def update_citizen(
    db: Session,
    *,
    actor: Actor,
    citizen_id: int,
    changes: CitizenChanges,
    now: dt.datetime,
    reason: str | None = None,
) -> CitizenView:
    """Change a citizen's name, district or status (pending, active, paused). Moving a citizen to
    another district moves their doors to that district's employees at the next heartbeat.
    Removal and its undo go through ``revocation``, which also withdraws the door."""
    scope = reach(actor, Action.MANAGE_CITIZENS)
    citizen = get_in_scope(db, scope, m.Citizen, citizen_id)
    changed: dict[str, Any] = {}
    if not isinstance(changes.given_name, Unset):
        new_given = _name(changes.given_name, "Fornavnet", "The given name")
        if note_change(changed, "given_name", citizen.given_name, new_given):
            citizen.given_name = new_given
    if not isinstance(changes.family_name, Unset):
        new_family = _name(changes.family_name, "Efternavnet", "The family name")
        if note_change(changed, "family_name", citizen.family_name, new_family):
            citizen.family_name = new_family
    if not isinstance(changes.district_id, Unset):
        district = get_in_scope(db, scope, m.District, changes.district_id)
        check_same_municipality("Borgeren", citizen.municipality_id, [district.municipality_id])
        if note_change(changed, "district_id", citizen.district_id, district.id):
            citizen.district_id = district.id
    if not isinstance(changes.status, Unset):
        new_status = _status(changes.status)
        if citizen.status is e.CitizenStatus.REMOVED and new_status != citizen.status:
            raise ConflictError(
                "citizen.removed",
                "Borgeren er fjernet; brug 'genskab' for at tage borgeren tilbage",
                "The citizen is removed; use 'restore' to bring the citizen back",
            )
        if note_change(changed, "status", citizen.status.value, new_status.value):
            citizen.status = new_status
    if changed:
        db.flush()
        record_admin_action(
            db,
            actor=actor,
            municipality_id=citizen.municipality_id,
            action="citizen.changed",
            target_type="citizen",
            target_id=citizen.id,
            reason=reason_text(reason),
            now=now,
            details=changed,
        )
    return get_citizen(db, actor=actor, citizen_id=citizen.id)
