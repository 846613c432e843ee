"""Blocking, removal and emergency keys: the actions that must take effect at once."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from carekey.emergency_keys import service as emergency
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.keyservice.enrolment import create_enrolment_code
from carekey.revocation import service as revocation
from carekey.revocation.schemas import (
    BlockPhoneRequest,
    EmergencyKeyRequest,
    EmergencyKeyResponse,
    EnrolmentCodeResponse,
    ReasonRequest,
    RevocationResponse,
)

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


@router.post("/phones/{phone_id}/block", response_model=RevocationResponse)
def block_phone(
    phone_id: int, body: BlockPhoneRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationResponse:
    """Spær en telefon / block a phone."""
    return RevocationResponse.of(
        revocation.block_phone(
            db, actor=actor, phone_id=phone_id, reason=body.reason, lost=body.lost, now=now
        )
    )


@router.post("/phones/{phone_id}/unblock", response_model=RevocationResponse)
def unblock_phone(
    phone_id: int, body: ReasonRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationResponse:
    """Ophæv spærring af en telefon / unblock a phone."""
    return RevocationResponse.of(
        revocation.unblock_phone(db, actor=actor, phone_id=phone_id, reason=body.reason, now=now)
    )


@router.post("/phones/{phone_id}/enrolment-code", response_model=EnrolmentCodeResponse)
def enrolment_code(
    phone_id: int, db: SessionDep, actor: ActorDep, now: NowDep
) -> EnrolmentCodeResponse:
    """Engangskode til at tilmelde telefonen / one-time code to enrol the phone."""
    code, expires = create_enrolment_code(db, actor=actor, phone_id=phone_id, now=now)
    return EnrolmentCodeResponse(code=code, expires_at=expires)


@router.post("/employees/{employee_id}/block", response_model=RevocationResponse)
def block_employee(
    employee_id: int, body: ReasonRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationResponse:
    """Spær en medarbejder / block an employee."""
    return RevocationResponse.of(
        revocation.block_employee(
            db, actor=actor, employee_id=employee_id, reason=body.reason, now=now
        )
    )


@router.post("/employees/{employee_id}/unblock", response_model=RevocationResponse)
def unblock_employee(
    employee_id: int, body: ReasonRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationResponse:
    """Ophæv spærring af en medarbejder / unblock an employee."""
    return RevocationResponse.of(
        revocation.unblock_employee(
            db, actor=actor, employee_id=employee_id, reason=body.reason, now=now
        )
    )


@router.post("/citizens/{citizen_id}/remove", response_model=RevocationResponse)
def remove_citizen(
    citizen_id: int, body: ReasonRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationResponse:
    """Fjern borgerens adresse fra løsningen / remove the citizen's address from the solution."""
    return RevocationResponse.of(
        revocation.remove_citizen(
            db, actor=actor, citizen_id=citizen_id, reason=body.reason, now=now
        )
    )


@router.post("/citizens/{citizen_id}/restore", response_model=RevocationResponse)
def restore_citizen(
    citizen_id: int, body: ReasonRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationResponse:
    """Fortryd fjernelse / undo a removal."""
    return RevocationResponse.of(
        revocation.restore_citizen(
            db, actor=actor, citizen_id=citizen_id, reason=body.reason, now=now
        )
    )


@router.post("/emergency-keys", response_model=EmergencyKeyResponse, status_code=201)
def grant_emergency_key(
    body: EmergencyKeyRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmergencyKeyResponse:
    """Giv en akutnøgle / grant an emergency key."""
    grant = emergency.grant_emergency_key(
        db,
        actor=actor,
        employee_id=body.employee_id,
        citizen_id=body.citizen_id,
        reason=body.reason,
        duration=dt.timedelta(minutes=body.minutes),
        starts_at=body.starts_at,
        now=now,
    )
    return EmergencyKeyResponse.model_validate(grant, from_attributes=True)


@router.post("/emergency-keys/{grant_id}/revoke", response_model=EmergencyKeyResponse)
def revoke_emergency_key(
    grant_id: int, body: ReasonRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmergencyKeyResponse:
    """Tilbagekald en akutnøgle / revoke an emergency key."""
    grant = emergency.revoke_emergency_key(
        db, actor=actor, grant_id=grant_id, reason=body.reason, now=now
    )
    return EmergencyKeyResponse.model_validate(grant, from_attributes=True)
