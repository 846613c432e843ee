"""Emergency keys (akutnøgler): a named employee, one citizen outside their districts, for a
limited time, with a reason. Logged, visible, and revocable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.access import KEY_HOLDING_ROLES, Action, Actor, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError
from carekey.revocation import denylist as dl
from carekey.store import models as m


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
    municipality = db.get(m.Municipality, actor.municipality_id)
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
    in_district = db.execute(
        select(m.EmployeeDistrict.district_id)
        .where(m.EmployeeDistrict.employee_id == employee.id)
        .where(m.EmployeeDistrict.district_id == citizen.district_id)
    ).first()
    if in_district is not None:
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
    creds = list(
        db.execute(
            select(m.IssuedCredential)
            .where(m.IssuedCredential.emergency_grant_id == grant.id)
            .where(m.IssuedCredential.expires_at > now)
        ).scalars()
    )
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
