"""The partner company's portal (issue 15): the company's administrator manages its people
(workers and other administrators) and its phones — enrolment with one-time codes, a lost
phone blocked — and sees the company's agreements with their windows.

Only a partner company's own administrator gets here: every use case asks ``reach`` for the
action and then insists on the company's scope (:func:`company_scope`), so the municipality's
staff (who read companies and their people through the organisation register), housing
associations and partner workers get 403. Another company's person, phone or agreement, and
the municipality's own employees and phones, are 404 (``access.org_queries.get_org_object``).

Blocking and enrolment go through the same code as the municipality's (``revocation.service``,
``keyservice.enrolment``): the same denylist entries, the same log of administrative actions.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, reach
from carekey.access.org_queries import get_org_object
from carekey.associations.agreements import state_of
from carekey.audit.actions import record_admin_action
from carekey.auth.passwords import hash_password
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, forbidden
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.domain.places import Address
from carekey.domain.text import optional_text, reason_text, required_text
from carekey.domain.values import TimeWindow
from carekey.keyservice.enrolment import issue_enrolment_code
from carekey.partners import queries as sql
from carekey.revocation import service as revocation
from carekey.revocation.service import Revocation
from carekey.staff.service import MIN_PASSWORD_LENGTH
from carekey.store import models as m
from carekey.store.paging import page_of
from carekey.store.unique import flush_unique

COMPANY_ROLES: Final = (e.Role.PARTNER_WORKER, e.Role.PARTNER_ADMIN)
"""The roles a company's administrator gives: a worker (the key app) or another administrator."""


def company_scope(actor: Actor, action: Action) -> Scope:
    """The actor's own company's scope for ``action``; 403 for anyone who is not a partner
    company's administrator (the municipality's staff read companies in the register)."""
    scope = reach(actor, action)
    if scope.company_id is None:
        raise forbidden()
    return scope


def _company(db: Session, scope: Scope) -> m.PartnerCompany:
    assert scope.company_id is not None
    return get_org_object(db, scope, m.PartnerCompany, scope.company_id)


def own_company(db: Session, *, actor: Actor) -> m.PartnerCompany:
    """The actor's own company (for a page's header)."""
    return _company(db, company_scope(actor, Action.READ_ORGANISATIONS))


# --- agreements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementView:
    """One of the company's agreements: the association, its controllers, its weekly windows
    (Danish time) and whether it admits now."""

    agreement: m.Agreement
    association: m.HousingAssociation
    doors: list[sql.DoorPlace]
    windows: list[TimeWindow]
    state: str  # "active", "upcoming", "ended" or "blocked" (by the association)


def list_agreements(db: Session, *, actor: Actor, now: dt.datetime) -> list[AgreementView]:
    """The company's agreements with housing associations, newest first."""
    scope = company_scope(actor, Action.READ_AGREEMENTS)
    rows = sql.agreements(db, scope)
    ids = [a.id for a, _assoc in rows]
    doors = sql.doors_of(db, ids)
    windows = sql.windows_of(db, ids)
    return [
        AgreementView(
            a,
            assoc,
            doors.get(a.id, []),
            [TimeWindow(w.weekday, w.start_minute, w.end_minute) for w in windows.get(a.id, [])],
            state_of(a, now),
        )
        for a, assoc in rows
    ]


def place_of(place: sql.DoorPlace) -> Address:
    """Where a controller sits: its entrance or gate at the property's address."""
    p = place.property
    return Address(
        property_id=p.id,
        street=p.street,
        house_number=p.house_number,
        postal_code=p.postal_code,
        city=p.city,
        entrance_id=place.entrance.id if place.entrance else None,
        entrance_label=place.entrance.label if place.entrance else None,
        gate_id=place.gate.id if place.gate else None,
        gate_label=place.gate.label if place.gate else None,
    )


# --- the overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """The company, its agreements and how many people and phones it has."""

    company: m.PartnerCompany
    agreements: list[AgreementView]
    people: int
    active_people: int
    workers: int
    phones: int


def overview(db: Session, *, actor: Actor, now: dt.datetime) -> Overview:
    """The company's own page: its status (a block by the municipality with its reason), its
    agreements, its staff and phones counted."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    counts = sql.staff_counts(db, scope)
    return Overview(
        _company(db, scope),
        list_agreements(db, actor=actor, now=now),
        counts["people"],
        counts["active"],
        counts["workers"],
        counts["phones"],
    )


# --- people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerView:
    """One of the company's people: roles and the company's phones registered to them."""

    employee: m.Employee
    roles: list[e.Role]
    phones: list[m.Phone]

    @property
    def is_admin(self) -> bool:
        """Whether the person is one of the company's administrators."""
        return e.Role.PARTNER_ADMIN in self.roles


@dataclass(frozen=True)
class NewWorker:
    """A person of the company to create: a worker (the key app) or another administrator.
    Without a password a worker cannot log in until one is set."""

    employee_number: str
    full_name: str
    role: e.Role = e.Role.PARTNER_WORKER
    email: str | None = None
    password: str | None = None


def _worker_views(db: Session, scope: Scope, people: Sequence[m.Employee]) -> list[WorkerView]:
    phones = sql.phones_of(db, scope, [p.id for p in people])
    return [
        WorkerView(
            p,
            sorted((r.role for r in p.roles), key=list(e.Role).index),
            phones.get(p.id, []),
        )
        for p in people
    ]


def list_workers(
    db: Session,
    *,
    actor: Actor,
    role: e.Role | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[WorkerView]:
    """The company's people by name (its workers and administrators; ``role`` narrows)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    page = page_of(
        db, sql.people(scope, role=role), order_by=sql.BY_NAME, limit=limit, offset=offset
    )
    return Page(_worker_views(db, scope, page.items), page.total, page.limit, page.offset)


def get_worker(db: Session, *, actor: Actor, employee_id: int) -> WorkerView:
    """One of the company's people (404 for anyone else's)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    person = get_org_object(db, scope, m.Employee, employee_id)
    return _worker_views(db, scope, [person])[0]


def _number_taken() -> ConflictError:
    return ConflictError(
        "employee.number_taken",
        "Kommunen har allerede en bruger med det medarbejdernummer",
        "The municipality already has a user with that employee number",
    )


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            "employee.weak_password",
            f"Adgangskoden skal have mindst {MIN_PASSWORD_LENGTH} tegn",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters",
        )
    return hash_password(password)


def _email(email: str | None) -> str | None:
    text = optional_text(
        email, max_length=200, code="employee.bad_email", what_da="E-mail", what_en="The e-mail"
    )
    if text is not None and ("@" not in text.strip("@") or any(c.isspace() for c in text)):
        raise DomainError(
            "employee.bad_email",
            "E-mailadressen er ugyldig; skriv den som navn@domæne.dk",
            "The e-mail address is invalid; write it as name@domain.dk",
        )
    return text


def create_worker(
    db: Session, *, actor: Actor, new: NewWorker, now: dt.datetime, reason: str | None = None
) -> WorkerView:
    """Create a worker (role ``partner_worker``) or another administrator of the company. The
    employee number is the user name: unique in the municipality, its own staff included
    (409 ``employee.number_taken``)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    company = _company(db, scope)
    if new.role not in COMPANY_ROLES:
        raise DomainError(
            "partner.bad_role",
            "Vælg rollen medarbejder eller administrator",
            "Choose the role worker or administrator",
        )
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
    email = _email(new.email)
    password_hash = _password_hash(new.password) if new.password else None
    if sql.employee_number_taken(db, actor.municipality_id, number):
        raise _number_taken()
    person = m.Employee(
        municipality_id=actor.municipality_id,
        employee_number=number,
        full_name=full_name,
        email=email,
        password_hash=password_hash,
        status=e.EmployeeStatus.ACTIVE,
        partner_company_id=company.id,
        created_at=now,
        roles=[m.EmployeeRole(role=new.role)],
    )
    db.add(person)
    flush_unique(db, _number_taken())
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="partner.worker_created",
        target_type="employee",
        target_id=person.id,
        reason=reason_text(reason),
        now=now,
        details={
            "company_id": company.id,
            "employee_number": number,
            "role": new.role.value,
            "password_set": password_hash is not None,
        },
    )
    return _worker_views(db, scope, [person])[0]


def set_password(
    db: Session, *, actor: Actor, employee_id: int, password: str, now: dt.datetime
) -> WorkerView:
    """Set the password a worker logs in to the key app with (or an administrator signs in
    with). The password itself is never logged; the change is."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    person = get_org_object(db, scope, m.Employee, employee_id)
    person.password_hash = _password_hash(password)
    record_admin_action(
        db,
        actor=actor,
        municipality_id=person.municipality_id,
        action="employee.password_set",
        target_type="employee",
        target_id=person.id,
        now=now,
        details={"company_id": scope.company_id},
    )
    return _worker_views(db, scope, [person])[0]


def block_worker(
    db: Session, *, actor: Actor, employee_id: int, reason: str, now: dt.datetime
) -> Revocation:
    """Block one of the company's people on every phone: their live credentials go on the
    denylist by subject, their app sessions end — the same as the municipality's block of an
    employee (``revocation.service``). An administrator does not block themselves (409)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    person = get_org_object(db, scope, m.Employee, employee_id)
    if person.id == actor.employee_id:
        raise ConflictError(
            "partner.block_self",
            "Du kan ikke spærre dig selv; bed en anden administrator",
            "You cannot block yourself; ask another administrator",
        )
    return revocation.block_this_employee(db, actor=actor, employee=person, reason=reason, now=now)


def unblock_worker(
    db: Session, *, actor: Actor, employee_id: int, reason: str, now: dt.datetime
) -> Revocation:
    """Let a blocked person of the company log in again; keys issued before stay dead."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    person = get_org_object(db, scope, m.Employee, employee_id)
    return revocation.unblock_this_employee(
        db, actor=actor, employee=person, reason=reason, now=now
    )


# --- phones ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneView:
    """One of the company's phones and the worker it is registered to (if any: then only that
    worker logs in on it; without one, any of the company's workers)."""

    phone: m.Phone
    holder: m.Employee | None


def _phone_views(db: Session, scope: Scope, phones: Sequence[m.Phone]) -> list[PhoneView]:
    holders = sql.people_by_id(db, scope, {p.employee_id for p in phones if p.employee_id})
    return [PhoneView(p, holders.get(p.employee_id or 0)) for p in phones]


def list_phones(
    db: Session, *, actor: Actor, limit: int = DEFAULT_PAGE_SIZE, offset: int = 0
) -> Page[PhoneView]:
    """The company's phones by label."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    page = page_of(db, sql.phones(scope), order_by=sql.BY_LABEL, limit=limit, offset=offset)
    return Page(_phone_views(db, scope, page.items), page.total, page.limit, page.offset)


def get_phone(db: Session, *, actor: Actor, phone_id: int) -> PhoneView:
    """One of the company's phones (404 for anyone else's, the municipality's included)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    return _phone_views(db, scope, [get_org_object(db, scope, m.Phone, phone_id)])[0]


def _label_taken() -> ConflictError:
    return ConflictError(
        "phone.label_taken",
        "Kommunen har allerede en telefon med den mærkning",
        "The municipality already has a phone with that label",
    )


def _holder(db: Session, scope: Scope, employee_id: int | None) -> int | None:
    """A worker of the company to register a phone to (404 for anyone else's person; an
    administrator gets no keys, so a phone is never theirs)."""
    if employee_id is None:
        return None
    person = get_org_object(db, scope, m.Employee, employee_id)
    if not any(r.role is e.Role.PARTNER_WORKER for r in person.roles):
        raise DomainError(
            "partner.not_a_worker",
            "Telefonen kan kun registreres til en medarbejder med nøgleappen",
            "A phone can only be registered to a worker who uses the key app",
        )
    return person.id


def create_phone(
    db: Session,
    *,
    actor: Actor,
    label: str,
    now: dt.datetime,
    model: str | None = None,
    employee_id: int | None = None,
    reason: str | None = None,
) -> PhoneView:
    """Register a phone of the company (its label is unique in the municipality, 409). It can
    log in once it has been enrolled with a one-time code (:func:`enrolment_code`)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    company = _company(db, scope)
    text = required_text(
        label, max_length=64, code="phone.bad_label", what_da="Mærkningen", what_en="The label"
    )
    phone = m.Phone(
        municipality_id=actor.municipality_id,
        label=text,
        model=optional_text(
            model, max_length=64, code="phone.bad_model", what_da="Modellen", what_en="The model"
        ),
        employee_id=_holder(db, scope, employee_id),
        status=e.PhoneStatus.ACTIVE,
        partner_company_id=company.id,
        created_at=now,
    )
    if sql.phone_label_taken(db, actor.municipality_id, text):
        raise _label_taken()
    db.add(phone)
    flush_unique(db, _label_taken())
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="phone.created",
        target_type="phone",
        target_id=phone.id,
        reason=reason_text(reason),
        now=now,
        details={"label": text, "company_id": company.id, "employee_id": phone.employee_id},
    )
    return _phone_views(db, scope, [phone])[0]


def assign_phone(
    db: Session, *, actor: Actor, phone_id: int, employee_id: int | None, now: dt.datetime
) -> PhoneView:
    """Register the phone to one of the company's workers (only they log in on it), or to
    none (any of its workers). Handing it on ends the app session on it: at its next heartbeat
    the phone wipes the previous worker's keys."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    phone = get_org_object(db, scope, m.Phone, phone_id)
    holder = _holder(db, scope, employee_id)
    if holder != phone.employee_id:
        before = phone.employee_id
        phone.employee_id = holder
        phone.session_epoch += 1
        phone.bundle_digest = None
        record_admin_action(
            db,
            actor=actor,
            municipality_id=phone.municipality_id,
            action="phone.changed",
            target_type="phone",
            target_id=phone.id,
            now=now,
            details={"employee_id": {"from": before, "to": holder}},
        )
        db.flush()
    return _phone_views(db, scope, [phone])[0]


@dataclass(frozen=True)
class EnrolmentCode:
    """A one-time code to enrol a phone, shown once."""

    phone: m.Phone
    code: str
    expires_at: dt.datetime


def enrolment_code(db: Session, *, actor: Actor, phone_id: int, now: dt.datetime) -> EnrolmentCode:
    """A one-time code (24 hours) to enrol one of the company's phones in the key app; the
    server keeps only its hash (``keyservice.enrolment``). A blocked phone gets none (409)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    phone = get_org_object(db, scope, m.Phone, phone_id)
    code, expires = issue_enrolment_code(db, actor=actor, phone=phone, now=now)
    return EnrolmentCode(phone, code, expires)


def block_phone(
    db: Session, *, actor: Actor, phone_id: int, reason: str, lost: bool, now: dt.datetime
) -> Revocation:
    """Block one of the company's phones (``lost``: lost or stolen): its keys go on the
    denylist by device key and the next heartbeat wipes it (``revocation.service``)."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    phone = get_org_object(db, scope, m.Phone, phone_id)
    return revocation.block_this_phone(
        db, actor=actor, phone=phone, reason=reason, lost=lost, now=now
    )


def unblock_phone(
    db: Session, *, actor: Actor, phone_id: int, reason: str, now: dt.datetime
) -> Revocation:
    """Let a found phone log in again; its old keys stay dead."""
    scope = company_scope(actor, Action.MANAGE_PARTNER_STAFF)
    phone = get_org_object(db, scope, m.Phone, phone_id)
    return revocation.unblock_this_phone(db, actor=actor, phone=phone, reason=reason, now=now)
