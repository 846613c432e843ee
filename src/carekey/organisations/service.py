"""The municipality registers the other parties (issue 15): housing associations and partner
companies, their first users, and the block of a company for the whole municipality.

Who may do what is decided in ``carekey.access`` alone: the register is read with
``organisations.read`` (the municipality's administrators and auditors all of it; an
association's user its own association and the register of companies, to choose partners from;
a partner administrator its own company and the associations it has agreements with) and
changed with ``organisations.manage`` (administrators only). Every object is fetched through
``access.org_queries.get_org_object``: another municipality's association or company, or one out
of the actor's reach, is "not found".

Every change writes an ``AdminAction`` in the same transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, reach
from carekey.access.org_queries import get_org_object
from carekey.audit.actions import record_admin_action
from carekey.auth.passwords import hash_password
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError
from carekey.domain.partner_policy import (
    Organisation,
    OrganisationKind,
    check_organisation,
    normalise_cvr,
)
from carekey.domain.text import optional_text, reason_text, required_text
from carekey.organisations import queries as sql
from carekey.revocation import service as revocation
from carekey.staff.service import MIN_PASSWORD_LENGTH
from carekey.store import models as m
from carekey.store.unique import flush_unique
from carekey.webhooks import service as webhooks

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AssociationView",
    "CompanyBlock",
    "CompanyView",
    "NewAssociation",
    "NewCompany",
    "NewOrgUser",
    "block_company",
    "create_association_user",
    "create_partner_admin",
    "get_association",
    "get_company",
    "list_associations",
    "list_companies",
    "register_association",
    "register_company",
    "unblock_company",
]


@dataclass(frozen=True)
class AssociationView:
    """A housing association with its users (those the actor reaches) and counts."""

    association: m.HousingAssociation
    property_count: int
    agreement_count: int
    users: list[m.Employee] = field(default_factory=list)


@dataclass(frozen=True)
class CompanyView:
    """A partner company with its people (those the actor reaches) and its agreements' count."""

    company: m.PartnerCompany
    agreement_count: int
    people: list[m.Employee] = field(default_factory=list)
    # The municipality's reason for a block: for the municipality and the company itself, not
    # for an association browsing the register (it sees that the company is blocked).
    blocked_reason: str | None = None


@dataclass(frozen=True)
class NewAssociation:
    """A housing association to register; a CVR number is optional, checked when given."""

    name: str
    cvr: str | None = None
    contact_email: str | None = None


@dataclass(frozen=True)
class NewCompany:
    """A partner company or public body to register (a company needs a valid CVR number)."""

    name: str
    category: e.PartnerCategory
    organisation_kind: OrganisationKind = OrganisationKind.COMPANY
    cvr: str | None = None
    contact_email: str | None = None


@dataclass(frozen=True)
class NewOrgUser:
    """An association's user or a company's administrator: the employee number is the user
    name; the second factor is set up at the first sign-in, as for the municipality's staff."""

    employee_number: str
    full_name: str
    password: str
    email: str | None = None


@dataclass(frozen=True)
class CompanyBlock:
    """What blocking or unblocking a company did: the company, whether anything changed, the
    denylist version that carries it, how many workers and live credentials it touched, and the
    doors that may still accept a revoked key until they learn that version."""

    view: CompanyView
    changed: bool
    denylist_version: int | None
    workers: int
    revoked_credentials: int = 0
    exposed_doors: Mapping[int, dt.datetime] = field(default_factory=dict)


# --- reading -----------------------------------------------------------------------------------


def _association_views(
    db: Session, scope: Scope, associations: list[m.HousingAssociation], *, with_users: bool
) -> list[AssociationView]:
    ids = [a.id for a in associations]
    properties = sql.property_counts(db, scope, ids)
    agreements = sql.agreement_counts_of_associations(db, scope, ids)
    return [
        AssociationView(
            a,
            properties.get(a.id, 0),
            agreements.get(a.id, 0),
            sql.people_of_association(db, scope, a.id) if with_users else [],
        )
        for a in associations
    ]


def _company_views(
    db: Session, scope: Scope, companies: list[m.PartnerCompany], *, with_people: bool
) -> list[CompanyView]:
    agreements = sql.agreement_counts_of_companies(db, scope, [c.id for c in companies])
    notes = scope.association_id is None
    return [
        CompanyView(
            c,
            agreements.get(c.id, 0),
            sql.people_of_company(db, scope, c.id) if with_people else [],
            c.blocked_reason if notes else None,
        )
        for c in companies
    ]


def list_associations(db: Session, *, actor: Actor) -> list[AssociationView]:
    """The housing associations the actor reaches: the municipality's, or an association's
    own, or those a partner company has agreements with."""
    scope = reach(actor, Action.READ_ORGANISATIONS)
    return _association_views(db, scope, sql.associations(db, scope), with_users=False)


def get_association(db: Session, *, actor: Actor, association_id: int) -> AssociationView:
    """One housing association with its users (those the actor reaches)."""
    scope = reach(actor, Action.READ_ORGANISATIONS)
    association = get_org_object(db, scope, m.HousingAssociation, association_id)
    return _association_views(db, scope, [association], with_users=True)[0]


def list_companies(db: Session, *, actor: Actor) -> list[CompanyView]:
    """The register of partner companies: the municipality's (an association chooses its
    partners from it), or a company's own."""
    scope = reach(actor, Action.READ_ORGANISATIONS)
    return _company_views(db, scope, sql.companies(db, scope), with_people=False)


def get_company(db: Session, *, actor: Actor, company_id: int) -> CompanyView:
    """One partner company with its people (those the actor reaches: none for an
    association, which sees the register's public facts only)."""
    scope = reach(actor, Action.READ_ORGANISATIONS)
    company = get_org_object(db, scope, m.PartnerCompany, company_id)
    return _company_views(db, scope, [company], with_people=True)[0]


# --- the rules of a registration ---------------------------------------------------------------


def _name(name: str) -> str:
    return required_text(
        name, max_length=200, code="organisation.bad_name", what_da="Navnet", what_en="The name"
    )


def _email(email: str | None, code: str = "organisation.bad_email") -> str | None:
    text = optional_text(email, max_length=200, code=code, what_da="E-mail", what_en="The e-mail")
    if text is not None and ("@" not in text.strip("@") or any(c.isspace() for c in text)):
        raise DomainError(
            code,
            "E-mailadressen er ugyldig; skriv den som navn@domæne.dk",
            "The e-mail address is invalid; write it as name@domain.dk",
        )
    return text


def _cvr(cvr: str | None) -> str | None:
    """A CVR number as typed, in its eight digits (``partner.bad_cvr``); nothing is None."""
    if cvr is None or not cvr.strip():
        return None
    return normalise_cvr(cvr)


def _association_cvr_taken() -> ConflictError:
    return ConflictError(
        "organisation.cvr_taken",
        "Kommunen har allerede registreret en boligforening med det CVR-nummer",
        "The municipality has already registered a housing association with that CVR number",
    )


def _company_cvr_taken() -> ConflictError:
    return ConflictError(
        "organisation.cvr_taken",
        "Kommunen har allerede registreret et firma med det CVR-nummer",
        "The municipality has already registered a company with that CVR number",
    )


def _employee_number_taken() -> ConflictError:
    return ConflictError(
        "employee.number_taken",
        "Kommunen har allerede en bruger med det medarbejdernummer",
        "The municipality already has a user with that employee number",
    )


def _reason_required(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise DomainError("organisation.reason_required", "Angiv en begrundelse", "Give a reason")
    return text


# --- registering -------------------------------------------------------------------------------


def register_association(
    db: Session,
    *,
    actor: Actor,
    new: NewAssociation,
    now: dt.datetime,
    reason: str | None = None,
) -> AssociationView:
    """Register a housing association with the actor's municipality. A CVR number is optional,
    but checked when given, and unique in the municipality (409)."""
    scope = reach(actor, Action.MANAGE_ORGANISATIONS)
    cvr = _cvr(new.cvr)
    if cvr is not None and sql.association_with_cvr(db, actor.municipality_id, cvr) is not None:
        raise _association_cvr_taken()
    association = m.HousingAssociation(
        municipality_id=actor.municipality_id,
        name=_name(new.name),
        cvr=cvr,
        contact_email=_email(new.contact_email),
        created_at=now,
    )
    db.add(association)
    flush_unique(db, _association_cvr_taken())
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="association.registered",
        target_type="housing_association",
        target_id=association.id,
        reason=reason_text(reason),
        now=now,
        details={"name": association.name, "cvr": cvr},
    )
    return _association_views(db, scope, [association], with_users=True)[0]


def register_company(
    db: Session,
    *,
    actor: Actor,
    new: NewCompany,
    now: dt.datetime,
    reason: str | None = None,
) -> CompanyView:
    """Register an approved partner company or public body with the actor's municipality: a
    company with a valid CVR number (``partner_policy.check_organisation``), unique in the
    municipality (409)."""
    scope = reach(actor, Action.MANAGE_ORGANISATIONS)
    cvr = _cvr(new.cvr)
    check_organisation(Organisation(new.organisation_kind, new.category, cvr=cvr))
    if cvr is not None and sql.company_with_cvr(db, actor.municipality_id, cvr) is not None:
        raise _company_cvr_taken()
    company = m.PartnerCompany(
        municipality_id=actor.municipality_id,
        name=_name(new.name),
        cvr=cvr,
        organisation_kind=new.organisation_kind,
        category=new.category,
        status=e.PartnerStatus.ACTIVE,
        contact_email=_email(new.contact_email),
        created_at=now,
    )
    db.add(company)
    flush_unique(db, _company_cvr_taken())
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="company.registered",
        target_type="partner_company",
        target_id=company.id,
        reason=reason_text(reason),
        now=now,
        details={
            "name": company.name,
            "cvr": cvr,
            "organisation_kind": new.organisation_kind.value,
            "category": new.category.value,
        },
    )
    return _company_views(db, scope, [company], with_people=True)[0]


def _org_user(
    db: Session,
    actor: Actor,
    new: NewOrgUser,
    role: e.Role,
    now: dt.datetime,
    *,
    association_id: int | None = None,
    company_id: int | None = None,
) -> m.Employee:
    number = required_text(
        new.employee_number,
        max_length=32,
        code="employee.bad_number",
        what_da="Medarbejdernummeret",
        what_en="The employee number",
    )
    full_name = required_text(
        new.full_name,
        max_length=200,
        code="employee.bad_name",
        what_da="Navnet",
        what_en="The name",
    )
    email = _email(new.email, "employee.bad_email")
    if len(new.password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            "employee.weak_password",
            f"Adgangskoden skal have mindst {MIN_PASSWORD_LENGTH} tegn",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters",
        )
    if sql.employee_number_taken(db, actor.municipality_id, number):
        raise _employee_number_taken()
    person = m.Employee(
        municipality_id=actor.municipality_id,
        employee_number=number,
        full_name=full_name,
        email=email,
        password_hash=hash_password(new.password),
        status=e.EmployeeStatus.ACTIVE,
        housing_association_id=association_id,
        partner_company_id=company_id,
        created_at=now,
        roles=[m.EmployeeRole(role=role)],
    )
    db.add(person)
    flush_unique(db, _employee_number_taken())
    return person


def create_association_user(
    db: Session,
    *,
    actor: Actor,
    association_id: int,
    new: NewOrgUser,
    now: dt.datetime,
    reason: str | None = None,
) -> m.Employee:
    """A user of a housing association (role ``association_user``), with an initial password;
    the employee number is unique in the municipality (409)."""
    scope = reach(actor, Action.MANAGE_ORGANISATIONS)
    association = get_org_object(db, scope, m.HousingAssociation, association_id)
    person = _org_user(db, actor, new, e.Role.ASSOCIATION_USER, now, association_id=association.id)
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="association.user_created",
        target_type="housing_association",
        target_id=association.id,
        reason=reason_text(reason),
        now=now,
        details={
            "employee_id": person.id,
            "employee_number": person.employee_number,
            "role": e.Role.ASSOCIATION_USER.value,
        },
    )
    return person


def create_partner_admin(
    db: Session,
    *,
    actor: Actor,
    company_id: int,
    new: NewOrgUser,
    now: dt.datetime,
    reason: str | None = None,
) -> m.Employee:
    """An administrator of a partner company (role ``partner_admin``), with an initial
    password; the company's administrator then manages its workers and phones."""
    scope = reach(actor, Action.MANAGE_ORGANISATIONS)
    company = get_org_object(db, scope, m.PartnerCompany, company_id)
    person = _org_user(db, actor, new, e.Role.PARTNER_ADMIN, now, company_id=company.id)
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="company.admin_created",
        target_type="partner_company",
        target_id=company.id,
        reason=reason_text(reason),
        now=now,
        details={
            "employee_id": person.id,
            "employee_number": person.employee_number,
            "role": e.Role.PARTNER_ADMIN.value,
        },
    )
    return person


# --- blocking a company for the whole municipality ---------------------------------------------


def block_company(
    db: Session, *, actor: Actor, company_id: int, reason: str, now: dt.datetime
) -> CompanyBlock:
    """Block a partner company in the whole municipality: it gets no new agreements and its
    workers no keys (the key service reads ``partner_company.status``), and what they hold is
    revoked at once: every active worker's subject goes on the denylist, all in ONE new
    version (reason ``partner_blocked``), their live credentials are marked revoked, and their
    app sessions end (the next heartbeat says WIPE). A worker blocked one by one keeps their
    own block. Blocking a blocked company changes nothing."""
    scope = reach(actor, Action.MANAGE_ORGANISATIONS)
    company = get_org_object(db, scope, m.PartnerCompany, company_id)
    why = _reason_required(reason)
    if company.status is e.PartnerStatus.BLOCKED:
        view = _company_views(db, scope, [company], with_people=True)[0]
        return CompanyBlock(view, False, None, 0)
    workers = sql.company_workers(db, company.id, active_only=True)
    company.status = e.PartnerStatus.BLOCKED
    company.blocked_reason = why
    company.blocked_at = now
    for worker in workers:
        worker.session_epoch += 1
    result = revocation.revoke_people(
        db,
        municipality_id=company.municipality_id,
        employee_ids=[w.id for w in workers],
        reason=e.DenylistReason.PARTNER_BLOCKED,
        now=now,
    )
    revoked = result.revoked_credentials
    record_admin_action(
        db,
        actor=actor,
        municipality_id=company.municipality_id,
        action="company.blocked",
        target_type="partner_company",
        target_id=company.id,
        reason=why,
        now=now,
        details={
            "denylist_version": result.denylist_version,
            "workers": len(workers),
            "live_credentials": revoked,
        },
    )
    webhooks.emit_revocation(
        db,
        municipality_id=company.municipality_id,
        event_type=webhooks.WebhookEventType.COMPANY_BLOCKED,
        resource=f"company:{company.id}",
        data={
            "company_id": company.id,
            "whole_municipality": True,
            "denylist_version": result.denylist_version,
        },
        now=now,
    )
    db.flush()
    view = _company_views(db, scope, [company], with_people=True)[0]
    return CompanyBlock(
        view, True, result.denylist_version, len(workers), revoked, result.exposed_doors
    )


def unblock_company(
    db: Session, *, actor: Actor, company_id: int, reason: str, now: dt.datetime
) -> CompanyBlock:
    """Lift a company's block: its active workers' subjects come off the denylist in ONE new
    version, while every credential issued before the block stays dead (an entry each), so
    only a new login gives them keys. A worker blocked one by one stays blocked."""
    scope = reach(actor, Action.MANAGE_ORGANISATIONS)
    company = get_org_object(db, scope, m.PartnerCompany, company_id)
    why = _reason_required(reason)
    if company.status is not e.PartnerStatus.BLOCKED:
        view = _company_views(db, scope, [company], with_people=True)[0]
        return CompanyBlock(view, False, None, 0)
    workers = sql.company_workers(db, company.id, active_only=True)
    company.status = e.PartnerStatus.ACTIVE
    company.blocked_reason = None
    company.blocked_at = None
    for worker in workers:
        worker.session_epoch += 1
    result = revocation.restore_people(
        db,
        municipality_id=company.municipality_id,
        employee_ids=[w.id for w in workers],
        reason=e.DenylistReason.PARTNER_BLOCKED,
        now=now,
    )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=company.municipality_id,
        action="company.unblocked",
        target_type="partner_company",
        target_id=company.id,
        reason=why,
        now=now,
        details={"denylist_version": result.denylist_version, "workers": len(workers)},
    )
    db.flush()
    view = _company_views(db, scope, [company], with_people=True)[0]
    return CompanyBlock(view, True, result.denylist_version, len(workers))
