"""Emergency-key endpoints: the live keys, or all, and one key. Thin: each endpoint calls one
use case of ``emergency_keys.service`` and shapes the answer. Granting and revoking are in
``revocation.api``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.emergency_keys import service
from carekey.emergency_keys.schemas import EmergencyKeyOut, emergency_key_out
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId, page_out

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


@router.get("/emergency-keys", response_model=Page[EmergencyKeyOut])
def list_emergency_keys(
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    state: Literal["active", "all"] = "active",
    employee_id: FilterId = None,
    citizen_id: FilterId = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[EmergencyKeyOut]:
    """Akutnøgler / emergency keys: the live ones, or all."""
    page = service.list_emergency_keys(
        db,
        actor=actor,
        now=now,
        active_only=state == "active",
        employee_id=employee_id,
        citizen_id=citizen_id,
        limit=limit,
        offset=offset,
    )
    return page_out(page, emergency_key_out)


@router.get("/emergency-keys/{grant_id}", response_model=EmergencyKeyOut)
def get_emergency_key(
    grant_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmergencyKeyOut:
    """En akutnøgle / an emergency key."""
    return emergency_key_out(service.get_emergency_key(db, actor=actor, grant_id=grant_id, now=now))
