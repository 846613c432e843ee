"""The API's shapes of the partner company's portal: the company, its people and phones, its
agreements with housing associations (controllers, weekly windows in Danish time, legal basis,
validity, state), and what a block did. Never a password, an enrolment code's hash, another
company's thing or the municipality's own staff."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from carekey.domain import enums as e
from carekey.domain.partner_policy import LegalBasis, OrganisationKind
from carekey.http.schemas import BodyId, Reason
from carekey.partners import service
from carekey.revocation.service import Revocation
from carekey.store import models as m

# --- the company and its agreements ------------------------------------------------------------


class CompanyOut(BaseModel):
    id: int
    name: str
    cvr: str | None
    organisation_kind: OrganisationKind
    category: e.PartnerCategory
    status: e.PartnerStatus
    blocked_reason: str | None = Field(description="Kommunens begrundelse / the municipality's")
    blocked_at: dt.datetime | None


class WindowOut(BaseModel):
    weekday: int = Field(description="0 = mandag / Monday … 6 = søndag / Sunday")
    start: str = Field(description='"HH:MM", dansk tid / Danish time')
    end: str


class AgreementDoorOut(BaseModel):
    id: int
    kind: e.DoorKind
    serial: str
    place: str


class AssociationRef(BaseModel):
    id: int
    name: str


class AgreementOut(BaseModel):
    id: int
    association: AssociationRef
    legal_basis: LegalBasis
    requires_errand: bool
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    state: str = Field(description="active, upcoming, ended or blocked (af foreningen / by it)")
    blocked: bool
    blocked_at: dt.datetime | None
    doors: list[AgreementDoorOut]
    windows: list[WindowOut]
    time_zone: str = "Europe/Copenhagen"


class OverviewOut(BaseModel):
    company: CompanyOut
    agreements: list[AgreementOut]
    people: int = Field(description="Administratorer og medarbejdere / all people")
    active_people: int
    workers: int
    phones: int


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def company_out(c: m.PartnerCompany) -> CompanyOut:
    """The company as its administrator sees it (the municipality's reason for a block too)."""
    return CompanyOut(
        id=c.id,
        name=c.name,
        cvr=c.cvr,
        organisation_kind=c.organisation_kind,
        category=c.category,
        status=c.status,
        blocked_reason=c.blocked_reason,
        blocked_at=c.blocked_at,
    )


def agreement_out(view: service.AgreementView) -> AgreementOut:
    """One of the company's agreements with its controllers and windows."""
    a = view.agreement
    return AgreementOut(
        id=a.id,
        association=AssociationRef(id=view.association.id, name=view.association.name),
        legal_basis=a.legal_basis,
        requires_errand=a.requires_errand,
        valid_from=a.valid_from,
        valid_until=a.valid_until,
        state=view.state,
        blocked=a.blocked,
        blocked_at=a.blocked_at,
        doors=[
            AgreementDoorOut(
                id=p.door.id,
                kind=p.door.kind,
                serial=p.door.serial,
                place=service.place_of(p).text,
            )
            for p in view.doors
        ],
        windows=[
            WindowOut(weekday=w.weekday, start=_hhmm(w.start_minute), end=_hhmm(w.end_minute))
            for w in view.windows
        ],
    )


def overview_out(view: service.Overview) -> OverviewOut:
    """The company's own page."""
    return OverviewOut(
        company=company_out(view.company),
        agreements=[agreement_out(a) for a in view.agreements],
        people=view.people,
        active_people=view.active_people,
        workers=view.workers,
        phones=view.phones,
    )


# --- people ------------------------------------------------------------------------------------


class PhoneRef(BaseModel):
    id: int
    label: str
    status: e.PhoneStatus


class WorkerOut(BaseModel):
    id: int
    employee_number: str
    full_name: str
    email: str | None
    roles: list[e.Role]
    status: e.EmployeeStatus
    blocked_reason: str | None
    blocked_at: dt.datetime | None
    password_set: bool = Field(description="Kan logge ind / can log in")
    phones: list[PhoneRef]


class WorkerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_number: str = Field(max_length=32, description="Brugernavnet / the user name")
    full_name: str = Field(max_length=200)
    role: e.Role = Field(
        default=e.Role.PARTNER_WORKER,
        description="partner_worker (nøgleappen / the key app) eller partner_admin",
    )
    email: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=200)
    reason: Reason

    def command(self) -> service.NewWorker:
        return service.NewWorker(
            employee_number=self.employee_number,
            full_name=self.full_name,
            role=self.role,
            email=self.email,
            password=self.password,
        )


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=200)


def worker_out(view: service.WorkerView) -> WorkerOut:
    """One of the company's people (never the password, only whether one is set)."""
    p = view.employee
    return WorkerOut(
        id=p.id,
        employee_number=p.employee_number,
        full_name=p.full_name,
        email=p.email,
        roles=view.roles,
        status=p.status,
        blocked_reason=p.blocked_reason,
        blocked_at=p.blocked_at,
        password_set=p.password_hash is not None,
        phones=[PhoneRef(id=x.id, label=x.label, status=x.status) for x in view.phones],
    )


# --- phones ------------------------------------------------------------------------------------


class WorkerRef(BaseModel):
    id: int
    employee_number: str
    full_name: str


class PhoneOut(BaseModel):
    id: int
    label: str
    model: str | None
    status: e.PhoneStatus
    blocked_reason: str | None
    enrolled: bool
    enrolled_at: dt.datetime | None
    holder: WorkerRef | None = Field(description="Kun denne medarbejder / only this worker")


class PhoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(max_length=64)
    model: str | None = Field(default=None, max_length=64)
    employee_id: BodyId | None = None
    reason: Reason


class HolderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_id: BodyId | None = Field(description="Ingen: alle firmaets medarbejdere / none")


class EnrolmentCodeOut(BaseModel):
    phone_id: int
    code: str = Field(description="Vises kun én gang / shown once")
    expires_at: dt.datetime


class BlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class BlockPhoneBody(BlockBody):
    lost: bool = Field(default=False, description="Mistet eller stjålet / lost or stolen")


class RevocationOut(BaseModel):
    changed: bool
    denylist_version: int | None = Field(
        description="Ny spærreliste med nøglerne / the new denylist version (None: no live keys)"
    )


def phone_out(view: service.PhoneView) -> PhoneOut:
    """One of the company's phones."""
    p, h = view.phone, view.holder
    return PhoneOut(
        id=p.id,
        label=p.label,
        model=p.model,
        status=p.status,
        blocked_reason=p.blocked_reason,
        enrolled=p.public_key is not None,
        enrolled_at=p.enrolled_at,
        holder=WorkerRef(id=h.id, employee_number=h.employee_number, full_name=h.full_name)
        if h
        else None,
    )


def code_out(found: service.EnrolmentCode) -> EnrolmentCodeOut:
    """A one-time enrolment code, shown this once."""
    return EnrolmentCodeOut(phone_id=found.phone.id, code=found.code, expires_at=found.expires_at)


def revocation_out(result: Revocation) -> RevocationOut:
    """What a block or an unblock did."""
    return RevocationOut(changed=result.changed, denylist_version=result.denylist_version)
