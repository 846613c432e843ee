"""Pages of the register of housing associations and partner companies: the lists with the
forms to register one, one association with its users, one company with its people and its
block.

Thin: every page calls the use cases of ``organisations.service``, which scope by role and
organisation and write the log of administrative actions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action, allowed
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.audit.actions_log import recent_actions_on
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.partner_policy import OrganisationKind
from carekey.http.deps import NowDep, SessionDep
from carekey.organisations import service

router = APIRouter(include_in_schema=False)

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
OrgReader = Annotated[WebUser, Depends(permits(Action.READ_ORGANISATIONS))]
OrgManager = Annotated[WebUser, Depends(permits(Action.MANAGE_ORGANISATIONS))]

Text = Annotated[str, Form()]


def _labels() -> dict[str, dict[str, str]]:
    labels = ui.labels()
    labels["category"] = {
        "post": _("Post"),
        "newspaper": _("Aviser"),
        "parcel": _("Pakker"),
        "meal_box": _("Madkasser"),
        "pharmacy": _("Apotek"),
        "advertising": _("Reklamer"),
    }
    labels["kind"] = {
        "company": _("Firma (CVR)"),
        "public_body": _("Offentlig myndighed"),
    }
    return labels


def _done(code: str | None) -> str | None:
    """The confirmation after a redirect (a fixed set: never text from the query string)."""
    messages = {
        "created": _("Oprettet."),
        "user_created": _("Brugeren er oprettet. Engangskoden sættes op ved første login."),
        "blocked": _("Firmaet er spærret i hele kommunen; dets medarbejdere får ingen nøgler."),
        "unblocked": _("Spærringen af firmaet er ophævet."),
    }
    return messages.get(code or "")


def _page(
    request: Request,
    template: str,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        template,
        user,
        {"nav": "organisations", "labels": _labels(), **context},
        status_code=status_code,
    )


def _history(db: Session, user: WebUser, target_type: str, target_id: int) -> list[Any]:
    # The log of administrative actions is the municipality's (its reasons included): only
    # for those who may read that log, never for an association or a company.
    if not allowed(user.actor, Action.READ_ADMIN_ACTIONS):
        return []
    return recent_actions_on(db, actor=user.actor, target_type=target_type, target_id=target_id)


# --- the register ------------------------------------------------------------------------------


def _register_page(
    request: Request,
    db: Session,
    user: WebUser,
    *,
    association: dict[str, str] | None = None,
    company: dict[str, str] | None = None,
    error: str | None = None,
    error_on: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "organisations/index.html",
        user,
        {
            "associations": service.list_associations(db, actor=user.actor),
            "companies": service.list_companies(db, actor=user.actor),
            "association_values": association or {},
            "company_values": company or {"organisation_kind": "company"},
            "error": error,
            "error_on": error_on,
            "done": _done(done),
            "categories": list(e.PartnerCategory),
            "kinds": list(OrganisationKind),
        },
        status_code=status_code,
    )


@router.get("/organisations", response_class=HTMLResponse)
def organisations(
    request: Request, user: OrgReader, db: SessionDep, done: str | None = None
) -> Response:
    """Boligforeninger og samarbejdspartnere / housing associations and partner companies."""
    return _register_page(request, db, user, done=done)


@router.post("/organisations/associations", response_class=HTMLResponse)
def register_association(
    request: Request,
    user: OrgManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    name: Text = "",
    cvr: Text = "",
    contact_email: Text = "",
) -> Response:
    """Registrér en boligforening / register a housing association."""
    values = {"name": name, "cvr": cvr, "contact_email": contact_email}
    try:
        with ui.savepoint(db):
            view = service.register_association(
                db,
                actor=user.actor,
                new=service.NewAssociation(name=name, cvr=cvr, contact_email=contact_email),
                now=now,
            )
    except DomainError as exc:
        return _register_page(
            request,
            db,
            user,
            association=values,
            error=ui.message(exc),
            error_on="association",
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(
        f"/organisations/associations/{view.association.id}?done=created", status_code=303
    )


def _category(value: str) -> e.PartnerCategory:
    found = ui.enum_of(e.PartnerCategory, value)
    if found is None:
        raise DomainError("organisation.bad_category", "Vælg en kategori", "Choose a category")
    return found


@router.post("/organisations/companies", response_class=HTMLResponse)
def register_company(
    request: Request,
    user: OrgManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    name: Text = "",
    organisation_kind: Text = "company",
    cvr: Text = "",
    category: Text = "",
    contact_email: Text = "",
) -> Response:
    """Registrér et firma eller en myndighed / register a company or a public body."""
    values = {
        "name": name,
        "organisation_kind": organisation_kind,
        "cvr": cvr,
        "category": category,
        "contact_email": contact_email,
    }
    try:
        with ui.savepoint(db):
            new = service.NewCompany(
                name=name,
                category=_category(category),
                organisation_kind=ui.enum_of(OrganisationKind, organisation_kind)
                or OrganisationKind.COMPANY,
                cvr=cvr,
                contact_email=contact_email,
            )
            view = service.register_company(db, actor=user.actor, new=new, now=now)
    except DomainError as exc:
        return _register_page(
            request,
            db,
            user,
            company=values,
            error=ui.message(exc),
            error_on="company",
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(
        f"/organisations/companies/{view.company.id}?done=created", status_code=303
    )


# --- one association ---------------------------------------------------------------------------


def _association_page(
    request: Request,
    db: Session,
    user: WebUser,
    view: service.AssociationView,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "organisations/association.html",
        user,
        {
            "view": view,
            "a": view.association,
            "values": values or {},
            "error": error,
            "done": _done(done),
            "actions": _history(db, user, "housing_association", view.association.id),
        },
        status_code=status_code,
    )


@router.get("/organisations/associations/{association_id}", response_class=HTMLResponse)
def association_detail(
    request: Request,
    association_id: str,
    user: OrgReader,
    db: SessionDep,
    done: str | None = None,
) -> Response:
    """En boligforening med dens brugere / a housing association with its users."""
    try:
        number = ui.path_id(association_id, "Boligforeningen", "housing association")
        view = service.get_association(db, actor=user.actor, association_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return _association_page(request, db, user, view, done=done)


def _user(employee_number: str, full_name: str, email: str, password: str) -> service.NewOrgUser:
    return service.NewOrgUser(
        employee_number=employee_number, full_name=full_name, email=email, password=password
    )


@router.post("/organisations/associations/{association_id}/users", response_class=HTMLResponse)
def create_association_user(
    request: Request,
    association_id: str,
    user: OrgManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    employee_number: Text = "",
    full_name: Text = "",
    email: Text = "",
    password: Text = "",
) -> Response:
    """Opret en bruger for boligforeningen / create a user of the housing association."""
    try:
        number = ui.path_id(association_id, "Boligforeningen", "housing association")
        view = service.get_association(db, actor=user.actor, association_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    try:
        with ui.savepoint(db):
            service.create_association_user(
                db,
                actor=user.actor,
                association_id=number,
                new=_user(employee_number, full_name, email, password),
                now=now,
            )
    except DomainError as exc:
        values = {"employee_number": employee_number, "full_name": full_name, "email": email}
        return _association_page(
            request,
            db,
            user,
            view,
            values=values,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(
        f"/organisations/associations/{number}?done=user_created", status_code=303
    )


# --- one company -------------------------------------------------------------------------------


def _company_page(
    request: Request,
    db: Session,
    user: WebUser,
    view: service.CompanyView,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    error_on: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "organisations/company.html",
        user,
        {
            "view": view,
            "c": view.company,
            "values": values or {},
            "error": error,
            "error_on": error_on,
            "done": _done(done),
            "actions": _history(db, user, "partner_company", view.company.id),
        },
        status_code=status_code,
    )


def _company_of(db: Session, user: WebUser, company_id: str) -> service.CompanyView:
    number = ui.path_id(company_id, "Firmaet", "company")
    return service.get_company(db, actor=user.actor, company_id=number)


@router.get("/organisations/companies/{company_id}", response_class=HTMLResponse)
def company_detail(
    request: Request, company_id: str, user: OrgReader, db: SessionDep, done: str | None = None
) -> Response:
    """Et firma med dets folk / a partner company with its people."""
    try:
        view = _company_of(db, user, company_id)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return _company_page(request, db, user, view, done=done)


@router.post("/organisations/companies/{company_id}/admins", response_class=HTMLResponse)
def create_partner_admin(
    request: Request,
    company_id: str,
    user: OrgManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    employee_number: Text = "",
    full_name: Text = "",
    email: Text = "",
    password: Text = "",
) -> Response:
    """Opret en administrator for firmaet / create an administrator of the company."""
    try:
        view = _company_of(db, user, company_id)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    try:
        with ui.savepoint(db):
            service.create_partner_admin(
                db,
                actor=user.actor,
                company_id=view.company.id,
                new=_user(employee_number, full_name, email, password),
                now=now,
            )
    except DomainError as exc:
        values = {"employee_number": employee_number, "full_name": full_name, "email": email}
        return _company_page(
            request,
            db,
            user,
            view,
            values=values,
            error=ui.message(exc),
            error_on="admin",
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(
        f"/organisations/companies/{view.company.id}?done=user_created", status_code=303
    )


def _block_or_unblock(
    request: Request,
    db: Session,
    user: WebUser,
    company_id: str,
    reason: str,
    now: Any,
    *,
    block: bool,
) -> Response:
    try:
        view = _company_of(db, user, company_id)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    change = service.block_company if block else service.unblock_company
    try:
        with ui.savepoint(db):
            change(
                db,
                actor=user.actor,
                company_id=view.company.id,
                reason=ui.reason_text(reason),
                now=now,
            )
    except DomainError as exc:
        return _company_page(
            request,
            db,
            user,
            view,
            values={"reason": reason},
            error=ui.message(exc),
            error_on="block",
            status_code=ui.page_status(exc),
        )
    done = "blocked" if block else "unblocked"
    return RedirectResponse(
        f"/organisations/companies/{view.company.id}?done={done}", status_code=303
    )


@router.post("/organisations/companies/{company_id}/block", response_class=HTMLResponse)
def block_company(
    request: Request,
    company_id: str,
    user: OrgManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Text = "",
) -> Response:
    """Spær firmaet i hele kommunen / block the company in the whole municipality."""
    return _block_or_unblock(request, db, user, company_id, reason, now, block=True)


@router.post("/organisations/companies/{company_id}/unblock", response_class=HTMLResponse)
def unblock_company(
    request: Request,
    company_id: str,
    user: OrgManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Text = "",
) -> Response:
    """Ophæv spærringen af firmaet / lift the company's block."""
    return _block_or_unblock(request, db, user, company_id, reason, now, block=False)
