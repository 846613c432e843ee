"""Citizen endpoints: search, read, register and change citizens. Thin: each endpoint calls one
use case of ``citizens.service`` and shapes the answer. Removal and its undo are in
``revocation.api``."""

from __future__ import annotations

from fastapi import APIRouter

from carekey.citizens import service
from carekey.citizens.schemas import (
    CitizenCreate,
    CitizenDetail,
    CitizenOut,
    CitizenUpdate,
    citizen_detail,
    citizen_out,
)
from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId, Search, page_out

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


@router.get("/citizens", response_model=Page[CitizenOut])
def list_citizens(
    db: SessionDep,
    actor: ActorDep,
    q: Search = None,
    district_id: FilterId = None,
    status: e.CitizenStatus | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[CitizenOut]:
    """Borgere / citizens, searched by name."""
    page = service.list_citizens(
        db,
        actor=actor,
        q=q,
        district_id=district_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return page_out(page, citizen_out)


@router.post("/citizens", response_model=CitizenDetail, status_code=201)
def create_citizen(
    body: CitizenCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> CitizenDetail:
    """Opret en borger / register a citizen."""
    return citizen_detail(
        service.create_citizen(db, actor=actor, new=body.command(), reason=body.reason, now=now)
    )


@router.get("/citizens/{citizen_id}", response_model=CitizenDetail)
def get_citizen(citizen_id: PathId, db: SessionDep, actor: ActorDep) -> CitizenDetail:
    """En borger med adresse og døre / a citizen with address and doors."""
    return citizen_detail(service.get_citizen(db, actor=actor, citizen_id=citizen_id))


@router.patch("/citizens/{citizen_id}", response_model=CitizenDetail)
def update_citizen(
    citizen_id: PathId, body: CitizenUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> CitizenDetail:
    """Ret en borger, fx flyt til et andet distrikt / change a citizen, e.g. move district."""
    return citizen_detail(
        service.update_citizen(
            db,
            actor=actor,
            citizen_id=citizen_id,
            changes=body.command(),
            reason=body.reason,
            now=now,
        )
    )
