"""The partner company's pages: the overview (the company, its agreements and windows, its
staff counted) and the page of its people and phones, where the administrator creates a
worker, sets a password, registers a phone, hands out a one-time enrolment code, and blocks a
worker or a lost phone. The log of openings and the errands have pages of their own
(``/partner/log``, ``/partner/errands``).

Thin: every page calls the use cases of ``partners.service``, which scope to the user's own
company and write the log of administrative actions. Only a partner company's administrator
gets these pages (403 for anyone else, as in the API).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action, allowed
from carekey.adminui import formatting, i18n
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, RoleRequiredError, WebUserDep
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.partner_policy import LegalBasis
from carekey.domain.values import WEEKDAY_NAMES_DA, TimeWindow, ascii_id
from carekey.http.deps import NowDep, SessionDep
from carekey.partners import service

router = APIRouter(include_in_schema=False)


def partner_admin(user: WebUserDep) -> WebUser:
    """Only a partner company's own administrator (the access model says which actions; the
    portal is for the company's people, not the municipality's staff)."""
    if user.actor.company_id is None or not allowed(user.actor, Action.MANAGE_PARTNER_STAFF):
        raise RoleRequiredError
    return user


PartnerAdmin = Annotated[WebUser, Depends(partner_admin)]

# --- words -------------------------------------------------------------------------------------

WEEKDAYS_EN: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STATE_BADGE: Final = {"active": "ok", "upcoming": "warn", "ended": "", "blocked": "bad"}


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def windows_text(windows: Sequence[TimeWindow]) -> str:
    """Weekly windows briefly, days with the same hours together: "mandag, tirsdag 08:00–17:00"."""
    names = WEEKDAYS_EN if i18n.current_language() == "en" else WEEKDAY_NAMES_DA
    groups: dict[tuple[int, int], list[int]] = {}
    for w in windows:
        groups.setdefault((w.start_minute, w.end_minute), []).append(w.weekday)
    return "; ".join(
        f"{', '.join(names[d] for d in days)} {_hhmm(start)}–{_hhmm(end)}"
        for (start, end), days in groups.items()
    )


def basis_label(basis: str) -> str:
    """A legal basis in the user's words."""
    return {
        LegalBasis.STATUTORY_MAIL: _("Lovpligtig postomdeling"),
        LegalBasis.GOODS_OR_SERVICES: _("Varer eller tjenester til beboerne eller ejeren"),
        LegalBasis.PUBLIC_SERVICE: _("Offentlig service"),
        LegalBasis.NAMED_RESIDENT: _("Levering til en navngiven beboer (ærinde)"),
    }.get(LegalBasis(basis), basis)


def state_label(state: str) -> str:
    """Whether an agreement admits now, in words."""
    return {
        "active": _("Aktiv"),
        "upcoming": _("Ikke begyndt"),
        "ended": _("Afsluttet"),
        "blocked": _("Spærret af boligforeningen"),
    }.get(state, state)


def role_label(role: str) -> str:
    """A company role in words."""
    return {
        e.Role.PARTNER_WORKER: _("Medarbejder (nøgleapp)"),
        e.Role.PARTNER_ADMIN: _("Administrator"),
    }.get(e.Role(role), role)


def helpers() -> dict[str, Any]:
    """The words and formatters the partner's templates use."""
    return {
        **formatting.formatters(),
        "basis_label": basis_label,
        "state_label": state_label,
        "state_badge": STATE_BADGE,
        "role_label": role_label,
        "windows_text": windows_text,
        "place_of": service.place_of,
    }


def done_message(code: str | None) -> str | None:
    """The confirmation after a redirect (a fixed set: never text from the query string)."""
    return {
        "worker_created": _("Personen er oprettet."),
        "password_set": _("Adgangskoden er sat."),
        "worker_blocked": _(
            "Personen er spærret på alle telefoner, og nøglerne er sat på spærrelisten."
        ),
        "worker_unblocked": _("Spærringen er ophævet. Personen får nye nøgler ved næste login."),
        "phone_created": _("Telefonen er registreret. Giv den en engangskode for at tilmelde den."),
        "phone_assigned": _("Telefonen er registreret til medarbejderen."),
        "phone_blocked": _("Telefonen er spærret, og dens nøgler er sat på spærrelisten."),
        "phone_unblocked": _("Spærringen af telefonen er ophævet."),
    }.get(code or "")


def partner_page(
    request: Request,
    template: str,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """One of the company's pages, with its words."""
    return ui.page(request, template, user, {**helpers(), **context}, status_code=status_code)


# --- the overview ------------------------------------------------------------------------------


@router.get("/partner", response_class=HTMLResponse)
def overview(
    request: Request, user: PartnerAdmin, db: SessionDep, now: NowDep, done: str | None = None
) -> Response:
    """Firmaet: aftaler, tidsvinduer og personale / the company's overview."""
    view = service.overview(db, actor=user.actor, now=now)
    return partner_page(
        request,
        "partner/overview.html",
        user,
        {"nav": "partner", "view": view, "company": view.company, "done": done_message(done)},
    )


# --- people and phones -------------------------------------------------------------------------


def _staff(
    request: Request,
    db: Session,
    user: WebUser,
    *,
    page_number: str | None = None,
    size: str | None = None,
    done: str | None = None,
    error: str | None = None,
    code: service.EnrolmentCode | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    limit, offset, number = ui.paging(page_number, size)
    workers = service.list_workers(db, actor=user.actor, limit=limit, offset=offset)
    phones = service.list_phones(db, actor=user.actor, limit=200)
    choices = service.list_workers(db, actor=user.actor, role=e.Role.PARTNER_WORKER, limit=200)
    return partner_page(
        request,
        "partner/staff.html",
        user,
        {
            "nav": "partner_staff",
            "company": service.own_company(db, actor=user.actor),
            "workers": workers.items,
            "paging": ui.pager(request, workers.total, number, limit),
            "phones": phones.items,
            "phone_total": phones.total,
            "worker_choices": [v.employee for v in choices.items],
            "roles": service.COMPANY_ROLES,
            "done": done_message(done),
            "error": error,
            "code": code,
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/partner/staff", response_class=HTMLResponse)
def staff(
    request: Request,
    user: PartnerAdmin,
    db: SessionDep,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Personale og telefoner / the company's people and phones."""
    return _staff(request, db, user, page_number=page, size=size, done=done)


def _refused(
    request: Request, db: Session, user: WebUser, exc: DomainError, form: dict[str, str]
) -> Response:
    status = ui.page_status(exc)
    if status in (403, 404):
        return ui.error_page(request, user, exc)
    return _staff(request, db, user, error=ui.message(exc), form=form, status_code=status)


def _done(code: str) -> Response:
    return RedirectResponse(f"/partner/staff?done={code}", status_code=303)


@router.post("/partner/workers", response_class=HTMLResponse)
def create_worker(
    request: Request,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    employee_number: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = e.Role.PARTNER_WORKER.value,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Opret en medarbejder eller administrator / create a worker or an administrator."""
    form = {"employee_number": employee_number, "full_name": full_name, "email": email}
    try:
        chosen = ui.enum_of(e.Role, role)
        new = service.NewWorker(
            employee_number=employee_number,
            full_name=full_name,
            role=chosen or e.Role.CARE_WORKER,  # nonsense is refused by the use case
            email=email or None,
            password=password or None,
        )
        with ui.savepoint(db):
            service.create_worker(db, actor=user.actor, new=new, now=now)
    except DomainError as exc:
        return _refused(request, db, user, exc, form)
    return _done("worker_created")


@router.post("/partner/workers/{employee_id}/password", response_class=HTMLResponse)
def set_password(
    request: Request,
    employee_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Sæt adgangskoden / set the password."""
    try:
        number = ui.path_id(employee_id, "Brugeren", "user")
        with ui.savepoint(db):
            service.set_password(
                db, actor=user.actor, employee_id=number, password=password, now=now
            )
    except DomainError as exc:
        return _refused(request, db, user, exc, {})
    return _done("password_set")


@router.post("/partner/workers/{employee_id}/block", response_class=HTMLResponse)
def block_worker(
    request: Request,
    employee_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Spær en medarbejder / block a worker."""
    try:
        number = ui.path_id(employee_id, "Brugeren", "user")
        with ui.savepoint(db):
            service.block_worker(
                db, actor=user.actor, employee_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        return _refused(request, db, user, exc, {})
    return _done("worker_blocked")


@router.post("/partner/workers/{employee_id}/unblock", response_class=HTMLResponse)
def unblock_worker(
    request: Request,
    employee_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ophæv spærringen / unblock a worker."""
    try:
        number = ui.path_id(employee_id, "Brugeren", "user")
        with ui.savepoint(db):
            service.unblock_worker(
                db,
                actor=user.actor,
                employee_id=number,
                reason=ui.reason_text(reason) or "Ophævet i portalen",
                now=now,
            )
    except DomainError as exc:
        return _refused(request, db, user, exc, {})
    return _done("worker_unblocked")


@router.post("/partner/phones", response_class=HTMLResponse)
def create_phone(
    request: Request,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    label: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    employee: Annotated[str, Form()] = "",
) -> Response:
    """Registrér en telefon / register a phone."""
    form = {"label": label, "model": model, "employee": employee}
    try:
        with ui.savepoint(db):
            service.create_phone(
                db,
                actor=user.actor,
                label=label,
                model=model or None,
                employee_id=ascii_id(employee) if employee else None,
                now=now,
            )
    except DomainError as exc:
        return _refused(request, db, user, exc, form)
    return _done("phone_created")


@router.post("/partner/phones/{phone_id}/holder", response_class=HTMLResponse)
def assign_phone(
    request: Request,
    phone_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    employee: Annotated[str, Form()] = "",
) -> Response:
    """Registrér telefonen til en medarbejder / register the phone to a worker."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        holder = ascii_id(employee) if employee else None
        with ui.savepoint(db):
            service.assign_phone(db, actor=user.actor, phone_id=number, employee_id=holder, now=now)
    except DomainError as exc:
        return _refused(request, db, user, exc, {})
    return _done("phone_assigned")


@router.post("/partner/phones/{phone_id}/enrolment-code", response_class=HTMLResponse)
def enrolment_code(
    request: Request,
    phone_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """En engangskode til telefonen, vist én gang / a one-time code, shown once."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        with ui.savepoint(db):
            code = service.enrolment_code(db, actor=user.actor, phone_id=number, now=now)
    except DomainError as exc:
        return _refused(request, db, user, exc, {})
    return _staff(request, db, user, code=code)


@router.post("/partner/phones/{phone_id}/block", response_class=HTMLResponse)
def block_phone(
    request: Request,
    phone_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
    lost: Annotated[str, Form()] = "",
) -> Response:
    """Spær en telefon, fx en mistet / block a phone, e.g. a lost one."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        with ui.savepoint(db):
            service.block_phone(
                db,
                actor=user.actor,
                phone_id=number,
                reason=ui.reason_text(reason),
                lost=bool(lost),
                now=now,
            )
    except DomainError as exc:
        return _refused(request, db, user, exc, {})
    return _done("phone_blocked")


@router.post("/partner/phones/{phone_id}/unblock", response_class=HTMLResponse)
def unblock_phone(
    request: Request,
    phone_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ophæv spærringen af telefonen / unblock the phone."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        with ui.savepoint(db):
            service.unblock_phone(
                db,
                actor=user.actor,
                phone_id=number,
                reason=ui.reason_text(reason) or "Fundet",
                now=now,
            )
    except DomainError as exc:
        return _refused(request, db, user, exc, {})
    return _done("phone_unblocked")
