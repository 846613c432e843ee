"""The HTTP API of carekey.consents (issue 16): a citizen's consents (record, withdraw — which
starts the removal), and the municipality's permission requests to housing associations (send,
remind). Thin: each endpoint calls one use case and shapes the answer."""

from __future__ import annotations

from fastapi import APIRouter

from carekey.consents import permissions
from carekey.consents import service as consents
from carekey.consents.schemas import (
    ConsentCreate,
    ConsentOut,
    ConsentWithdraw,
    PermissionCreate,
    PermissionOut,
    WithdrawalOut,
    consent_out,
    permission_out,
    withdrawal_out,
)
from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId

router = APIRouter(prefix="/api/v1/admin", tags=["samtykke og tilladelser / consent, permission"])


@router.get("/citizens/{citizen_id}/consents", response_model=list[ConsentOut])
def list_consents(citizen_id: PathId, db: SessionDep, actor: ActorDep) -> list[ConsentOut]:
    """Borgerens samtykker / the citizen's consents, newest first."""
    return [consent_out(c) for c in consents.consents_of(db, actor=actor, citizen_id=citizen_id)]


@router.post("/citizens/{citizen_id}/consents", response_model=ConsentOut, status_code=201)
def record_consent(
    citizen_id: PathId, body: ConsentCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> ConsentOut:
    """Registrér borgerens samtykke / record the citizen's consent."""
    return consent_out(
        consents.record_consent(db, actor=actor, citizen_id=citizen_id, new=body.command(), now=now)
    )


@router.post("/consents/{consent_id}/withdraw", response_model=WithdrawalOut)
def withdraw_consent(
    consent_id: PathId, body: ConsentWithdraw, db: SessionDep, actor: ActorDep, now: NowDep
) -> WithdrawalOut:
    """Træk samtykket tilbage; borgeren fjernes fra løsningen / withdraw; the removal starts."""
    return withdrawal_out(
        consents.withdraw_consent(
            db,
            actor=actor,
            consent_id=consent_id,
            withdrawn_by_name=body.withdrawn_by_name,
            note=body.note,
            now=now,
        )
    )


@router.get("/permission-requests", response_model=Page[PermissionOut])
def list_permission_requests(
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    status: e.PermissionStatus | None = None,
    property_id: FilterId = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[PermissionOut]:
    """Anmodninger om tilladelse til boligforeninger / permission requests, newest first."""
    page = permissions.list_requests(
        db, actor=actor, status=status, property_id=property_id, limit=limit, offset=offset
    )
    return Page(
        items=[permission_out(r, now) for r in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/permission-requests", response_model=PermissionOut, status_code=201)
def send_permission_request(
    body: PermissionCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> PermissionOut:
    """Send en anmodning om tilladelse / ask the association for permission."""
    request = permissions.send_permission_request(
        db,
        actor=actor,
        property_id=body.property_id,
        covers_entrances=body.covers_entrances,
        covers_gates=body.covers_gates,
        due_at=body.due_at,
        note=body.note,
        now=now,
    )
    return permission_out(request, now)


@router.post("/permission-requests/{request_id}/remind", response_model=PermissionOut)
def remind_permission_request(
    request_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> PermissionOut:
    """Send en påmindelse / remind the association."""
    return permission_out(permissions.remind(db, actor=actor, request_id=request_id, now=now), now)
