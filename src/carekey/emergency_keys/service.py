"""Emergency keys (akutnøgler): a named employee, one citizen outside their districts, for a
limited time, with a reason. Logged, visible, and revocable.

Who may grant, revoke and see which keys is decided in ``carekey.access``; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.access import KEY_HOLDING_ROLES, Action, Actor, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.consents.service import has_consent
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.emergency_keys import queries as sql
from carekey.revocation import denylist as dl
from carekey.store import models as m
from carekey.store.paging import page_of

DEFAULT_MAX_MINUTES = 480
"""The longest an emergency key may last where a municipality has not said otherwise."""


def grant_emergency_key(
    db: Session,
    *,
    actor: Actor,
    employee_id: int,
    citizen_id: int,
    reason: str,
    duration: dt.timedelta,
    now: dt.datetime,
    starts_at: dt.datetime | None = None,
) -> m.EmergencyKeyGrant:
    """Give ``employee_id`` time-limited access to ``citizen_id``'s doors; the employee's next
    heartbeat says REFRESH and the next bundle carries the key."""
    scope = reach(actor, Action.GRANT_EMERGENCY_KEY)
    # Both ends must be in the actor's reach: a district lead grants only when the citizen and
    # the employee are in the lead's own districts.
    employee = get_in_scope(db, scope, m.Employee, employee_id)
    citizen = get_in_scope(db, scope, m.Citizen, citizen_id)
    why = reason.strip()
    if not why:
        raise DomainError("emergency.reason_required", "Angiv en begrundelse", "Give a reason")
    if not {r.role for r in employee.roles} & KEY_HOLDING_ROLES:
        raise ForbiddenError(
            "emergency.not_care_worker",
            "Kun hjemmeplejere kan få en akutnøgle",
            "Only care workers can be given an emergency key",
        )
    if employee.id == actor.employee_id:
        raise ForbiddenError(
            "emergency.self_grant",
            "Du kan ikke give dig selv en akutnøgle; en anden skal give den",
            "You cannot grant yourself an emergency key; someone else must grant it",
        )
    municipality = sql.municipality(db, actor.municipality_id)
    assert municipality is not None
    limit = dt.timedelta(minutes=municipality.emergency_key_max_minutes)
    if not dt.timedelta(minutes=1) <= duration <= limit:
        raise DomainError(
            "emergency.duration",
            f"En akutnøgle kan gælde fra 1 minut til {limit.total_seconds() / 3600:g} timer",
            f"An emergency key can last from 1 minute to {limit.total_seconds() / 3600:g} hours",
        )
    if employee.status is not e.EmployeeStatus.ACTIVE:
        raise ConflictError(
            "emergency.employee_blocked",
            "Medarbejderen er spærret",
            "The employee is blocked",
        )
    if citizen.status is not e.CitizenStatus.ACTIVE:
        raise ConflictError(
            "emergency.citizen_inactive",
            "Borgeren er ikke aktiv i løsningen",
            "The citizen is not active in the solution",
        )
    if not has_consent(db, citizen_id=citizen.id):
        raise ConflictError(
            "emergency.no_consent",
            "Borgeren har ikke givet samtykke: der udstedes ingen nøgle til hjemmet",
            "The citizen has not given consent: no key is issued for the home",
        )
    if sql.in_district(db, employee.id, citizen.district_id):
        raise ConflictError(
            "emergency.already_in_district",
            "Medarbejderen har allerede adgang: borgeren bor i medarbejderens distrikt",
            "The employee already has access: the citizen lives in their district",
        )
    start = starts_at or now
    grant = m.EmergencyKeyGrant(
        municipality_id=actor.municipality_id,
        employee_id=employee.id,
        citizen_id=citizen.id,
        granted_by_employee_id=actor.employee_id,
        reason=why,
        starts_at=start,
        ends_at=start + duration,
        created_at=now,
    )
    db.add(grant)
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="emergency_key.granted",
        target_type="emergency_key_grant",
        target_id=grant.id,
        reason=why,
        now=now,
        details={
            "employee_id": employee.id,
            "citizen_id": citizen.id,
            "starts_at": grant.starts_at.isoformat(),
            "ends_at": grant.ends_at.isoformat(),
        },
    )
    return grant


def revoke_emergency_key(
    db: Session, *, actor: Actor, grant_id: int, reason: str, now: dt.datetime
) -> m.EmergencyKeyGrant:
    """End an emergency key early; credentials already issued for it are denylisted."""
    scope = reach(actor, Action.GRANT_EMERGENCY_KEY)
    grant = get_in_scope(db, scope, m.EmergencyKeyGrant, grant_id)
    if grant.revoked_at is not None:
        return grant
    grant.revoked_at = now
    grant.revoked_by_employee_id = actor.employee_id
    creds = sql.live_credentials_of(db, grant.id, now)
    for c in creds:
        c.revoked_at = now
    if creds:
        dl.apply_changes(
            db,
            municipality_id=grant.municipality_id,
            reason=e.DenylistReason.EMERGENCY_KEY_REVOKED,
            now=now,
            add=[
                dl.Entry(e.DenylistEntryKind.CREDENTIAL, c.credential_id, c.expires_at)
                for c in creds
            ],
        )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=grant.municipality_id,
        action="emergency_key.revoked",
        target_type="emergency_key_grant",
        target_id=grant.id,
        reason=reason.strip() or None,
        now=now,
    )
    return grant


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmergencyKeyView:
    """An emergency key with the names of the people involved."""

    grant: m.EmergencyKeyGrant
    employee: m.Employee
    citizen: m.Citizen
    granted_by: m.Employee
    active: bool


def _views(
    db: Session, grants: list[m.EmergencyKeyGrant], now: dt.datetime
) -> list[EmergencyKeyView]:
    people = {g.employee_id for g in grants} | {g.granted_by_employee_id for g in grants}
    employees = sql.employees_by_id(db, people)
    citizens = sql.citizens_by_id(db, {g.citizen_id for g in grants})
    return [
        EmergencyKeyView(
            g,
            employees[g.employee_id],
            citizens[g.citizen_id],
            employees[g.granted_by_employee_id],
            g.revoked_at is None and g.ends_at > now,
        )
        for g in grants
    ]


def list_emergency_keys(
    db: Session,
    *,
    actor: Actor,
    now: dt.datetime,
    active_only: bool = True,
    employee_id: int | None = None,
    citizen_id: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[EmergencyKeyView]:
    """Emergency keys of the actor's municipality, newest first: those not revoked and not yet
    ended (``active_only``), or all. A district lead sees those whose employee and citizen are
    both in their districts (the grants they could have made)."""
    scope = reach(actor, Action.READ_EMERGENCY_KEYS)
    stmt = sql.grants(
        scope,
        live_at=now if active_only else None,
        employee_id=employee_id,
        citizen_id=citizen_id,
    )
    page = page_of(db, stmt, order_by=sql.NEWEST_FIRST, limit=limit, offset=offset)
    return Page(_views(db, page.items, now), page.total, page.limit, page.offset)


def get_emergency_key(
    db: Session, *, actor: Actor, grant_id: int, now: dt.datetime
) -> EmergencyKeyView:
    """One emergency key with who has it, to whom, who gave it, why and until when."""
    scope = reach(actor, Action.READ_EMERGENCY_KEYS)
    grant = get_in_scope(db, scope, m.EmergencyKeyGrant, grant_id)
    return _views(db, [grant], now)[0]


def longest_duration_minutes(db: Session, *, actor: Actor) -> int:
    """How many minutes an emergency key granted in the actor's municipality may last at most."""
    municipality = sql.municipality(db, actor.municipality_id)
    return municipality.emergency_key_max_minutes if municipality else DEFAULT_MAX_MINUTES
