"""The API's shapes of the register of housing associations and partner companies."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from carekey.domain import enums as e
from carekey.domain.partner_policy import OrganisationKind
from carekey.http.schemas import EmployeeRef, Reason
from carekey.organisations.service import (
    MIN_PASSWORD_LENGTH,
    AssociationView,
    CompanyBlock,
    CompanyView,
    NewAssociation,
    NewCompany,
    NewOrgUser,
)
from carekey.store import models as m

Cvr = Field(
    default=None,
    max_length=20,
    description="CVR-nummer, 8 cifre (mellemrum og 'DK' tilladt) / CVR number, 8 digits",
)
Email = Field(default=None, max_length=200)


class OrgUserOut(EmployeeRef):
    email: str | None
    status: e.EmployeeStatus
    roles: list[e.Role]
    password_set: bool
    created_at: dt.datetime


class AssociationOut(BaseModel):
    id: int
    name: str
    cvr: str | None
    contact_email: str | None
    property_count: int
    agreement_count: int
    created_at: dt.datetime


class AssociationDetailOut(AssociationOut):
    users: list[OrgUserOut]


class CompanyOut(BaseModel):
    id: int
    name: str
    cvr: str | None
    organisation_kind: OrganisationKind
    category: e.PartnerCategory
    status: e.PartnerStatus
    blocked_reason: str | None
    blocked_at: dt.datetime | None
    contact_email: str | None
    agreement_count: int
    created_at: dt.datetime


class CompanyDetailOut(CompanyOut):
    people: list[OrgUserOut] = Field(
        description="Firmaets administratorer og medarbejdere, som du må se / the company's "
        "administrators and workers in your reach"
    )


class AssociationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    cvr: str | None = Cvr
    contact_email: str | None = Email
    reason: Reason

    def command(self) -> NewAssociation:
        return NewAssociation(name=self.name, cvr=self.cvr, contact_email=self.contact_email)


class CompanyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    organisation_kind: OrganisationKind = OrganisationKind.COMPANY
    cvr: str | None = Cvr
    category: e.PartnerCategory
    contact_email: str | None = Email
    reason: Reason

    def command(self) -> NewCompany:
        return NewCompany(
            name=self.name,
            category=self.category,
            organisation_kind=self.organisation_kind,
            cvr=self.cvr,
            contact_email=self.contact_email,
        )


class OrgUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_number: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    email: str | None = Email
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=256,
        description="Første adgangskode; engangskoden sættes op ved første login / the initial "
        "password; the second factor is set up at the first sign-in",
    )
    reason: Reason

    def command(self) -> NewOrgUser:
        return NewOrgUser(
            employee_number=self.employee_number,
            full_name=self.full_name,
            email=self.email,
            password=self.password,
        )


class CompanyBlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class ExposedDoor(BaseModel):
    door_device_id: int
    until: dt.datetime


class CompanyBlockOut(BaseModel):
    company: CompanyOut
    changed: bool
    denylist_version: int | None
    workers: int = Field(description="Berørte medarbejdere / workers affected")
    revoked_credentials: int
    exposed_doors: list[ExposedDoor] = Field(
        description="Døre, der kan acceptere en spærret nøgle, til de lærer spærringen / doors "
        "that may accept a revoked key until they learn of it"
    )


def org_user_out(person: m.Employee) -> OrgUserOut:
    """One of the other parties' people."""
    return OrgUserOut(
        id=person.id,
        employee_number=person.employee_number,
        full_name=person.full_name,
        email=person.email,
        status=person.status,
        roles=sorted((r.role for r in person.roles), key=list(e.Role).index),
        password_set=person.password_hash is not None,
        created_at=person.created_at,
    )


def association_out(view: AssociationView) -> AssociationOut:
    a = view.association
    return AssociationOut(
        id=a.id,
        name=a.name,
        cvr=a.cvr,
        contact_email=a.contact_email,
        property_count=view.property_count,
        agreement_count=view.agreement_count,
        created_at=a.created_at,
    )


def association_detail_out(view: AssociationView) -> AssociationDetailOut:
    return AssociationDetailOut(
        **association_out(view).model_dump(), users=[org_user_out(u) for u in view.users]
    )


def company_out(view: CompanyView) -> CompanyOut:
    c = view.company
    return CompanyOut(
        id=c.id,
        name=c.name,
        cvr=c.cvr,
        organisation_kind=c.organisation_kind,
        category=c.category,
        status=c.status,
        blocked_reason=view.blocked_reason,
        blocked_at=c.blocked_at,
        contact_email=c.contact_email,
        agreement_count=view.agreement_count,
        created_at=c.created_at,
    )


def company_detail_out(view: CompanyView) -> CompanyDetailOut:
    return CompanyDetailOut(
        **company_out(view).model_dump(), people=[org_user_out(p) for p in view.people]
    )


def company_block_out(result: CompanyBlock) -> CompanyBlockOut:
    return CompanyBlockOut(
        company=company_out(result.view),
        changed=result.changed,
        denylist_version=result.denylist_version,
        workers=result.workers,
        revoked_credentials=result.revoked_credentials,
        exposed_doors=[
            ExposedDoor(door_device_id=door, until=until)
            for door, until in sorted(result.exposed_doors.items())
        ],
    )
