"""The partner company's log endpoint: its own workers' openings, refusals and lockings at
entrances and gates, newest first. Thin: it calls ``partners.log``. Only a partner company's
administrator gets an answer (403 for anyone else)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, page_out
from carekey.partners import log

router = APIRouter(prefix="/api/v1/partner", tags=["samarbejdspartner / partner company"])

SinceQ = Annotated[AwareDatetime | None, Query(description="Fra og med / from (inclusive)")]
UntilQ = Annotated[AwareDatetime | None, Query(description="Til / until (exclusive)")]


class CompanyLogRowOut(BaseModel):
    occurred_at: dt.datetime
    action: e.AuditAction
    worker_id: int
    worker_name: str
    door_id: int
    door_serial: str
    door_kind: e.DoorKind
    property_id: int
    place: str


def log_row_out(row: log.LogRow) -> CompanyLogRowOut:
    """One of the company's workers' events at an entrance or a gate."""
    return CompanyLogRowOut(
        occurred_at=row.event.occurred_at,
        action=row.event.action,
        worker_id=row.worker_id,
        worker_name=row.worker_name,
        door_id=row.place.door.id,
        door_serial=row.place.door.serial,
        door_kind=row.place.door.kind,
        property_id=row.place.property.id,
        place=log.address_of(row.place).text,
    )


@router.get("/log", response_model=Page[CompanyLogRowOut])
def company_log(
    db: SessionDep,
    actor: ActorDep,
    worker_id: FilterId = None,
    door_id: FilterId = None,
    since: SinceQ = None,
    until: UntilQ = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[CompanyLogRowOut]:
    """Jeres medarbejderes åbninger / your own staff's openings, newest first."""
    filters = log.LogFilter(worker_id=worker_id, door_id=door_id, since=since, until=until)
    page = log.company_log(db, actor=actor, filters=filters, limit=limit, offset=offset)
    return page_out(page, log_row_out)
