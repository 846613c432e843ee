"""The register of housing associations and partner companies: list, read, register, first
users, and the block of a company. Thin: each endpoint calls one use case of
``organisations.service`` and shapes the answer."""

from __future__ import annotations

from fastapi import APIRouter

from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import PathId
from carekey.organisations import service
from carekey.organisations.schemas import (
    AssociationCreate,
    AssociationDetailOut,
    AssociationOut,
    CompanyBlockOut,
    CompanyBlockRequest,
    CompanyCreate,
    CompanyDetailOut,
    CompanyOut,
    OrgUserCreate,
    OrgUserOut,
    association_detail_out,
    association_out,
    company_block_out,
    company_detail_out,
    company_out,
    org_user_out,
)

router = APIRouter(prefix="/api/v1/organisations", tags=["boligforeninger og partnere"])


@router.get("/associations", response_model=list[AssociationOut])
def list_associations(db: SessionDep, actor: ActorDep) -> list[AssociationOut]:
    """Boligforeninger / housing associations."""
    return [association_out(v) for v in service.list_associations(db, actor=actor)]


@router.post("/associations", response_model=AssociationDetailOut, status_code=201)
def register_association(
    body: AssociationCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> AssociationDetailOut:
    """Registrér en boligforening / register a housing association."""
    view = service.register_association(
        db, actor=actor, new=body.command(), reason=body.reason, now=now
    )
    return association_detail_out(view)


@router.get("/associations/{association_id}", response_model=AssociationDetailOut)
def get_association(
    association_id: PathId, db: SessionDep, actor: ActorDep
) -> AssociationDetailOut:
    """En boligforening med dens brugere / a housing association with its users."""
    return association_detail_out(
        service.get_association(db, actor=actor, association_id=association_id)
    )


@router.post("/associations/{association_id}/users", response_model=OrgUserOut, status_code=201)
def create_association_user(
    association_id: PathId, body: OrgUserCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> OrgUserOut:
    """Opret en bruger for boligforeningen / create a user of the housing association."""
    person = service.create_association_user(
        db,
        actor=actor,
        association_id=association_id,
        new=body.command(),
        reason=body.reason,
        now=now,
    )
    return org_user_out(person)


@router.get("/companies", response_model=list[CompanyOut])
def list_companies(db: SessionDep, actor: ActorDep) -> list[CompanyOut]:
    """Samarbejdspartnere / partner companies."""
    return [company_out(v) for v in service.list_companies(db, actor=actor)]


@router.post("/companies", response_model=CompanyDetailOut, status_code=201)
def register_company(
    body: CompanyCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> CompanyDetailOut:
    """Registrér et firma / register a partner company."""
    view = service.register_company(
        db, actor=actor, new=body.command(), reason=body.reason, now=now
    )
    return company_detail_out(view)


@router.get("/companies/{company_id}", response_model=CompanyDetailOut)
def get_company(company_id: PathId, db: SessionDep, actor: ActorDep) -> CompanyDetailOut:
    """Et firma med dets folk / a partner company with its people."""
    return company_detail_out(service.get_company(db, actor=actor, company_id=company_id))


@router.post("/companies/{company_id}/admins", response_model=OrgUserOut, status_code=201)
def create_partner_admin(
    company_id: PathId, body: OrgUserCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> OrgUserOut:
    """Opret en administrator for firmaet / create an administrator of the company."""
    person = service.create_partner_admin(
        db, actor=actor, company_id=company_id, new=body.command(), reason=body.reason, now=now
    )
    return org_user_out(person)


@router.post("/companies/{company_id}/block", response_model=CompanyBlockOut)
def block_company(
    company_id: PathId, body: CompanyBlockRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> CompanyBlockOut:
    """Spær firmaet i hele kommunen / block the company in the whole municipality."""
    return company_block_out(
        service.block_company(db, actor=actor, company_id=company_id, reason=body.reason, now=now)
    )


@router.post("/companies/{company_id}/unblock", response_model=CompanyBlockOut)
def unblock_company(
    company_id: PathId, body: CompanyBlockRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> CompanyBlockOut:
    """Ophæv spærringen af firmaet / lift the company's block."""
    return company_block_out(
        service.unblock_company(db, actor=actor, company_id=company_id, reason=body.reason, now=now)
    )
