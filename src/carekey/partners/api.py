"""The partner company's endpoints: the overview, its people and phones (enrolment codes,
blocks), its agreements. Thin: each endpoint calls one use case of ``partners.service`` and
shapes the answer. Only a partner company's own administrator gets an answer (403 for anyone
else); another company's ids, and the municipality's own, are 404."""

from __future__ import annotations

from fastapi import APIRouter

from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import Limit, Offset, Page, PathId, page_out
from carekey.partners import service
from carekey.partners.schemas import (
    AgreementOut,
    BlockBody,
    BlockPhoneBody,
    EnrolmentCodeOut,
    HolderBody,
    OverviewOut,
    PasswordBody,
    PhoneCreate,
    PhoneOut,
    RevocationOut,
    WorkerCreate,
    WorkerOut,
    agreement_out,
    code_out,
    overview_out,
    phone_out,
    revocation_out,
    worker_out,
)

router = APIRouter(prefix="/api/v1/partner", tags=["samarbejdspartner / partner company"])


@router.get("", response_model=OverviewOut)
def overview(db: SessionDep, actor: ActorDep, now: NowDep) -> OverviewOut:
    """Firmaet, dets aftaler og personale / the company, its agreements and staff."""
    return overview_out(service.overview(db, actor=actor, now=now))


@router.get("/agreements", response_model=list[AgreementOut])
def list_agreements(db: SessionDep, actor: ActorDep, now: NowDep) -> list[AgreementOut]:
    """Firmaets aftaler med boligforeninger / the company's agreements."""
    return [agreement_out(v) for v in service.list_agreements(db, actor=actor, now=now)]


# --- people ------------------------------------------------------------------------------------


@router.get("/workers", response_model=Page[WorkerOut])
def list_workers(
    db: SessionDep,
    actor: ActorDep,
    role: e.Role | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[WorkerOut]:
    """Firmaets medarbejdere og administratorer / the company's people."""
    page = service.list_workers(db, actor=actor, role=role, limit=limit, offset=offset)
    return page_out(page, worker_out)


@router.post("/workers", response_model=WorkerOut, status_code=201)
def create_worker(body: WorkerCreate, db: SessionDep, actor: ActorDep, now: NowDep) -> WorkerOut:
    """Opret en medarbejder eller administrator / create a worker or an administrator."""
    return worker_out(
        service.create_worker(db, actor=actor, new=body.command(), now=now, reason=body.reason)
    )


@router.post("/workers/{employee_id}/password", response_model=WorkerOut)
def set_password(
    employee_id: PathId, body: PasswordBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> WorkerOut:
    """Sæt adgangskoden til nøgleappen / set the key app password."""
    return worker_out(
        service.set_password(
            db, actor=actor, employee_id=employee_id, password=body.password, now=now
        )
    )


@router.post("/workers/{employee_id}/block", response_model=RevocationOut)
def block_worker(
    employee_id: PathId, body: BlockBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationOut:
    """Spær medarbejderen på alle telefoner / block the worker on every phone."""
    return revocation_out(
        service.block_worker(db, actor=actor, employee_id=employee_id, reason=body.reason, now=now)
    )


@router.post("/workers/{employee_id}/unblock", response_model=RevocationOut)
def unblock_worker(
    employee_id: PathId, body: BlockBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationOut:
    """Ophæv spærringen / unblock the worker."""
    return revocation_out(
        service.unblock_worker(
            db, actor=actor, employee_id=employee_id, reason=body.reason, now=now
        )
    )


# --- phones ------------------------------------------------------------------------------------


@router.get("/phones", response_model=Page[PhoneOut])
def list_phones(
    db: SessionDep, actor: ActorDep, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0
) -> Page[PhoneOut]:
    """Firmaets telefoner / the company's phones."""
    return page_out(service.list_phones(db, actor=actor, limit=limit, offset=offset), phone_out)


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


@router.post("/phones/{phone_id}/holder", response_model=PhoneOut)
def assign_phone(
    phone_id: PathId, body: HolderBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> PhoneOut:
    """Registrér telefonen til en medarbejder / register the phone to a worker."""
    return phone_out(
        service.assign_phone(
            db, actor=actor, phone_id=phone_id, employee_id=body.employee_id, now=now
        )
    )


@router.post("/phones/{phone_id}/enrolment-code", response_model=EnrolmentCodeOut)
def enrolment_code(
    phone_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> EnrolmentCodeOut:
    """En engangskode til at tilmelde telefonen / a one-time enrolment code."""
    return code_out(service.enrolment_code(db, actor=actor, phone_id=phone_id, now=now))


@router.post("/phones/{phone_id}/block", response_model=RevocationOut)
def block_phone(
    phone_id: PathId, body: BlockPhoneBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationOut:
    """Spær en telefon (mistet) / block a phone (lost)."""
    return revocation_out(
        service.block_phone(
            db, actor=actor, phone_id=phone_id, reason=body.reason, lost=body.lost, now=now
        )
    )


@router.post("/phones/{phone_id}/unblock", response_model=RevocationOut)
def unblock_phone(
    phone_id: PathId, body: BlockBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> RevocationOut:
    """Ophæv spærringen af telefonen / unblock the phone."""
    return revocation_out(
        service.unblock_phone(db, actor=actor, phone_id=phone_id, reason=body.reason, now=now)
    )
