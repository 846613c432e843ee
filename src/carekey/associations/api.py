"""The housing association's endpoints: properties and modules, permission requests, the
company register, agreements, blocking a company, and the partner log. Thin: each endpoint calls
one use case of ``associations.service`` or ``associations.agreements`` and shapes the answer.
Only a housing association's own user gets an answer (403 for anyone else)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime

from carekey.associations import agreements as use
from carekey.associations import service
from carekey.associations.schemas import (
    AgreementCreate,
    AgreementOut,
    AgreementUpdate,
    BlockBody,
    CompanyBlockOut,
    CompanyOut,
    EndBody,
    LogRowOut,
    PermissionAnswer,
    PermissionRequestOut,
    PropertyOut,
    agreement_out,
    block_out,
    company_out,
    log_row_out,
    permission_out,
    property_out,
)
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep, writes_on_read
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId, page_out

router = APIRouter(prefix="/api/v1/association", tags=["boligforening / housing association"])

SinceQ = Annotated[AwareDatetime | None, Query(description="Fra og med / from (inclusive)")]
UntilQ = Annotated[AwareDatetime | None, Query(description="Til / until (exclusive)")]


# --- properties --------------------------------------------------------------------------------


@router.get("/properties", response_model=Page[PropertyOut])
def list_properties(
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[PropertyOut]:
    """Ejendomme med opgange, porte og moduler / properties with entrances, gates, modules."""
    page = service.list_properties(db, actor=actor, now=now, limit=limit, offset=offset)
    return page_out(page, property_out)


@router.get("/properties/{property_id}", response_model=PropertyOut)
def get_property(property_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep) -> PropertyOut:
    """En ejendom / one property."""
    return property_out(service.get_property(db, actor=actor, property_id=property_id, now=now))


# --- permission requests -----------------------------------------------------------------------


@router.get("/permission-requests", response_model=Page[PermissionRequestOut])
def list_permission_requests(
    db: SessionDep,
    actor: ActorDep,
    status: e.PermissionStatus | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[PermissionRequestOut]:
    """Kommunens anmodninger om tilladelse / the municipality's requests for permission."""
    page = service.list_permission_requests(
        db, actor=actor, status=status, limit=limit, offset=offset
    )
    return page_out(page, permission_out)


@router.get("/permission-requests/{request_id}", response_model=PermissionRequestOut)
def get_permission_request(
    request_id: PathId, db: SessionDep, actor: ActorDep
) -> PermissionRequestOut:
    """En anmodning / one request."""
    return permission_out(service.get_permission_request(db, actor=actor, request_id=request_id))


@router.post("/permission-requests/{request_id}/answer", response_model=PermissionRequestOut)
def answer_permission_request(
    request_id: PathId, body: PermissionAnswer, db: SessionDep, actor: ActorDep, now: NowDep
) -> PermissionRequestOut:
    """Giv eller afslå tilladelse / grant or refuse (409 once answered)."""
    return permission_out(
        service.answer_permission_request(
            db, actor=actor, request_id=request_id, decision=body.decision, note=body.note, now=now
        )
    )


# --- companies ---------------------------------------------------------------------------------


@router.get("/companies", response_model=list[CompanyOut])
def list_companies(db: SessionDep, actor: ActorDep) -> list[CompanyOut]:
    """Kommunens godkendte firmaer / the municipality's approved companies."""
    return [company_out(v) for v in service.list_companies(db, actor=actor)]


@router.post("/companies/{company_id}/block", response_model=CompanyBlockOut)
def block_company(
    company_id: PathId, body: BlockBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> CompanyBlockOut:
    """Spær firmaet med det samme / block the company at once: every agreement with it, and
    the keys already issued under them go on the denylist."""
    return block_out(
        use.block_company(db, actor=actor, company_id=company_id, reason=body.reason, now=now)
    )


@router.post("/companies/{company_id}/unblock", response_model=CompanyBlockOut)
def unblock_company(
    company_id: PathId, body: BlockBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> CompanyBlockOut:
    """Ophæv spærringen af firmaet / unblock the company."""
    return block_out(
        use.unblock_company(db, actor=actor, company_id=company_id, reason=body.reason, now=now)
    )


# --- agreements --------------------------------------------------------------------------------


@router.get("/agreements", response_model=Page[AgreementOut])
def list_agreements(
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    company_id: FilterId = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[AgreementOut]:
    """Aftaler med samarbejdspartnere / agreements with partner companies."""
    page = use.list_agreements(
        db, actor=actor, now=now, company_id=company_id, limit=limit, offset=offset
    )
    return page_out(page, agreement_out)


@router.post("/agreements", response_model=AgreementOut, status_code=201)
def create_agreement(
    body: AgreementCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> AgreementOut:
    """Lav en aftale / make an agreement (422 with the rule it breaks)."""
    return agreement_out(
        use.create_agreement(db, actor=actor, new=body.command(), reason=body.reason, now=now)
    )


@router.get("/agreements/{agreement_id}", response_model=AgreementOut)
def get_agreement(
    agreement_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> AgreementOut:
    """En aftale / one agreement."""
    return agreement_out(use.get_agreement(db, actor=actor, agreement_id=agreement_id, now=now))


@router.patch("/agreements/{agreement_id}", response_model=AgreementOut)
def update_agreement(
    agreement_id: PathId, body: AgreementUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> AgreementOut:
    """Ret døre, tidsvinduer eller gyldighed / change doors, windows or validity."""
    return agreement_out(
        use.update_agreement(
            db,
            actor=actor,
            agreement_id=agreement_id,
            changes=body.command(),
            reason=body.reason,
            now=now,
        )
    )


@router.post("/agreements/{agreement_id}/end", response_model=AgreementOut)
def end_agreement(
    agreement_id: PathId, body: EndBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> AgreementOut:
    """Afslut aftalen nu / end the agreement now."""
    return agreement_out(
        use.end_agreement(db, actor=actor, agreement_id=agreement_id, reason=body.reason, now=now)
    )


# --- the partner log ---------------------------------------------------------------------------


@router.get("/log", response_model=Page[LogRowOut])
def partner_log(
    db: SessionDep,
    actor: ActorDep,
    company_id: FilterId = None,
    since: SinceQ = None,
    until: UntilQ = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[LogRowOut]:
    """Partnernes åbninger af jeres opgange og porte / partner openings, newest first."""
    filters = service.LogFilter(company_id=company_id, since=since, until=until)
    page = service.partner_log(db, actor=actor, filters=filters, limit=limit, offset=offset)
    return page_out(page, log_row_out)


@router.get("/log.csv", response_class=Response)
@writes_on_read
def partner_log_csv(
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    company_id: FilterId = None,
    since: SinceQ = None,
    until: UntilQ = None,
) -> Response:
    """Partnerloggen som CSV til Excel / the partner log as CSV for Excel."""
    filters = service.LogFilter(company_id=company_id, since=since, until=until)
    rows = service.export_partner_log(db, actor=actor, filters=filters, now=now)
    stamp = now.astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")
    return Response(
        service.partner_log_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="partnerlog-{stamp}.csv"'},
    )
