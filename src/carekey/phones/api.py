"""Phone endpoints: search, read, register and change work phones. Thin: each endpoint calls one
use case of ``phones.service`` and shapes the answer. Blocking and enrolment codes are in
``revocation.api``."""

from __future__ import annotations

from fastapi import APIRouter

from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId, Search, page_out
from carekey.phones import service
from carekey.phones.schemas import PhoneCreate, PhoneOut, PhoneUpdate, phone_out

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


@router.get("/phones", response_model=Page[PhoneOut])
def list_phones(
    db: SessionDep,
    actor: ActorDep,
    q: Search = None,
    employee_id: FilterId = None,
    status: e.PhoneStatus | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[PhoneOut]:
    """Telefoner / phones, searched by label."""
    page = service.list_phones(
        db,
        actor=actor,
        q=q,
        employee_id=employee_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return page_out(page, phone_out)


@router.post("/phones", response_model=PhoneOut, status_code=201)
def create_phone(body: PhoneCreate, db: SessionDep, actor: ActorDep, now: NowDep) -> PhoneOut:
    """Registrér en telefon / register a phone."""
    return phone_out(
        service.create_phone(
            db,
            actor=actor,
            label=body.label,
            model=body.model,
            employee_id=body.employee_id,
            reason=body.reason,
            now=now,
        )
    )


@router.get("/phones/{phone_id}", response_model=PhoneOut)
def get_phone(phone_id: PathId, db: SessionDep, actor: ActorDep) -> PhoneOut:
    """En telefon / a phone."""
    return phone_out(service.get_phone(db, actor=actor, phone_id=phone_id))


@router.patch("/phones/{phone_id}", response_model=PhoneOut)
def update_phone(
    phone_id: PathId, body: PhoneUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> PhoneOut:
    """Ret en telefon / change a phone."""
    return phone_out(
        service.update_phone(
            db,
            actor=actor,
            phone_id=phone_id,
            label=body.given("label"),
            model=body.given("model"),
            employee_id=body.given("employee_id"),
            reason=body.reason,
            now=now,
        )
    )
