"""Door endpoints of the administration: list and read door devices. Thin: each endpoint calls
one use case of ``doors.service`` and shapes the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.doors import service
from carekey.doors.schemas import DoorDetail, DoorOut, door_detail, door_out
from carekey.http.deps import ActorDep, SessionDep
from carekey.http.schemas import Limit, Offset, Page, PathId, page_out

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


@router.get("/doors", response_model=Page[DoorOut])
def list_doors(
    db: SessionDep,
    actor: ActorDep,
    kind: e.DoorKind | None = None,
    status: e.DoorStatus | None = None,
    low_battery: Annotated[
        bool, Query(description=f"Kun batteri under {service.LOW_BATTERY_PCT} %")
    ] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[DoorOut]:
    """Døre / door devices."""
    page = service.list_doors(
        db,
        actor=actor,
        kind=kind,
        status=status,
        low_battery=low_battery,
        limit=limit,
        offset=offset,
    )
    return page_out(page, door_out)


@router.get("/doors/{door_id}", response_model=DoorDetail)
def get_door(door_id: PathId, db: SessionDep, actor: ActorDep) -> DoorDetail:
    """En dør: batteri, firmware, sidst set, placering / a door: battery, firmware, placement."""
    return door_detail(service.get_door(db, actor=actor, door_id=door_id))
