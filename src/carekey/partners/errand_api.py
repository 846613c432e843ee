"""The partner company's errand endpoints: request an errand for one delivery to a named
resident, list and read the company's errands, cancel one. Thin: each endpoint calls one use
case of ``partners.errands``. Only a partner company's administrator gets an answer (403 for
anyone else; another company's agreement or errand is 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import Limit, Offset, Page, PathId, page_out
from carekey.partners import errands as use
from carekey.partners.errand_schemas import (
    CancelBody,
    CancelledOut,
    ErrandCreate,
    ErrandOut,
    cancelled_out,
    errand_out,
)

router = APIRouter(prefix="/api/v1/partner", tags=["samarbejdspartner / partner company"])

SinceQ = Annotated[AwareDatetime | None, Query(description="Slutter efter / ends after")]
UntilQ = Annotated[AwareDatetime | None, Query(description="Begynder før / begins before")]


@router.post("/errands", response_model=ErrandOut, status_code=201)
def request_errand(body: ErrandCreate, db: SessionDep, actor: ActorDep, now: NowDep) -> ErrandOut:
    """Bestil et ærinde / request an errand (422 or 409 with the rule it breaks)."""
    return errand_out(use.request_errand(db, actor=actor, new=body.command(), now=now))


@router.get("/errands", response_model=Page[ErrandOut])
def list_errands(
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    status: e.ErrandStatus | None = None,
    since: SinceQ = None,
    until: UntilQ = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[ErrandOut]:
    """Firmaets ærinder / the company's errands, the latest first."""
    filters = use.ErrandFilter(state=status, since=since, until=until)
    page = use.list_errands(db, actor=actor, now=now, filters=filters, limit=limit, offset=offset)
    return page_out(page, errand_out)


@router.get("/errands/{errand_id}", response_model=ErrandOut)
def get_errand(errand_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep) -> ErrandOut:
    """Et ærinde / one errand."""
    return errand_out(use.get_errand(db, actor=actor, errand_id=errand_id, now=now))


@router.post("/errands/{errand_id}/cancel", response_model=CancelledOut)
def cancel_errand(
    errand_id: PathId, body: CancelBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> CancelledOut:
    """Aflys ærindet / cancel the errand: its keys go on the denylist at once."""
    return cancelled_out(
        use.cancel_errand(db, actor=actor, errand_id=errand_id, reason=body.reason, now=now)
    )
