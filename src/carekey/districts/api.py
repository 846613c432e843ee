"""District endpoints: list, read, create and change districts. Thin: each endpoint calls one
use case of ``districts.service`` and shapes the answer."""

from __future__ import annotations

from fastapi import APIRouter

from carekey.districts import service
from carekey.districts.schemas import DistrictCreate, DistrictOut, DistrictUpdate, district_out
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import PathId

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


@router.get("/districts", response_model=list[DistrictOut])
def list_districts(db: SessionDep, actor: ActorDep) -> list[DistrictOut]:
    """Distrikter / districts."""
    return [district_out(v) for v in service.list_districts(db, actor=actor)]


@router.post("/districts", response_model=DistrictOut, status_code=201)
def create_district(
    body: DistrictCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> DistrictOut:
    """Opret et distrikt / create a district."""
    return district_out(
        service.create_district(
            db, actor=actor, code=body.code, name=body.name, reason=body.reason, now=now
        )
    )


@router.get("/districts/{district_id}", response_model=DistrictOut)
def get_district(district_id: PathId, db: SessionDep, actor: ActorDep) -> DistrictOut:
    """Et distrikt / a district."""
    return district_out(service.get_district(db, actor=actor, district_id=district_id))


@router.patch("/districts/{district_id}", response_model=DistrictOut)
def update_district(
    district_id: PathId, body: DistrictUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> DistrictOut:
    """Ret et distrikt / change a district."""
    return district_out(
        service.update_district(
            db,
            actor=actor,
            district_id=district_id,
            code=body.given("code"),
            name=body.given("name"),
            reason=body.reason,
            now=now,
        )
    )
