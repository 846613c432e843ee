"""Pages of work phones: the list, registering and editing one, enrolment with a one-time code
and a QR image, and blocking a lost phone with one click.

Thin: every page calls the use cases of ``phones`` (``revocation`` for blocking, ``keyservice``
for the enrolment code), which scope by role and municipality and write the log of
administrative actions.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.audit.actions_log import recent_actions_on
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_id
from carekey.doors import service as doors
from carekey.http.deps import NowDep, SessionDep
from carekey.keyservice.service import create_enrolment_code
from carekey.phones import service
from carekey.phones.service import LOST_REASON
from carekey.revocation import service as revocation
from carekey.staff import service as staff

router = APIRouter(include_in_schema=False)

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
StaffReader = Annotated[WebUser, Depends(permits(Action.READ_STAFF))]
StaffBlocker = Annotated[WebUser, Depends(permits(Action.BLOCK_STAFF))]
PhoneManager = Annotated[WebUser, Depends(permits(Action.MANAGE_PHONES))]


@router.get("/phones", response_class=HTMLResponse)
def phones(
    request: Request,
    user: StaffReader,
    db: SessionDep,
    q: str | None = None,
    status: str | None = None,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Telefoner / phones."""
    limit, offset, number = ui.paging(page, size)
    query = ui.search_text(q)
    status_value = ui.enum_of(e.PhoneStatus, status)
    found = service.list_phones(
        db, actor=user.actor, q=query, status=status_value, limit=limit, offset=offset
    )
    return ui.page(
        request,
        "people/phones.html",
        user,
        {
            "nav": "phones",
            "items": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "filters": {
                "q": query or "",
                "status": status_value.value if status_value else "",
                "size": limit,
            },
            "statuses": list(e.PhoneStatus),
            "page_sizes": ui.PAGE_SIZES,
            "lost_reason": LOST_REASON,
            "done": ui.done_message(done),
        },
    )


def _phone_form(
    request: Request,
    user: WebUser,
    *,
    values: dict[str, Any],
    phone: service.PhoneView | None = None,
    pick: ui.Pick | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        "people/phone_form.html",
        user,
        {
            "nav": "phones",
            "values": values,
            "phone": phone,
            "pick": pick,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/phones/new", response_class=HTMLResponse)
def new_phone(request: Request, user: PhoneManager) -> Response:
    """Formularen til en ny telefon / the form for a new phone."""
    return _phone_form(request, user, values={})


def _owner(db: Session, user: WebUser, employee: str, employee_id: str | None) -> ui.Pick:
    """The employee the phone goes to: none if nothing was typed or chosen."""
    if not employee.strip() and not ascii_id(employee_id):
        return ui.Pick()
    return ui.pick(
        "employee",
        employee,
        employee_id,
        lambda text: staff.employee_choices(db, actor=user.actor, text=text),
    )


@router.post("/phones/new", response_class=HTMLResponse)
def create_phone(
    request: Request,
    user: PhoneManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    label: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    employee: Annotated[str, Form()] = "",
    employee_id: Annotated[str | None, Form()] = None,
) -> Response:
    """Registrér en telefon / register a phone."""
    values = {"label": label, "model": model, "employee": employee}
    pick = _owner(db, user, employee, employee_id)
    if pick.problem:
        return _phone_form(
            request, user, values=values, pick=pick, error=pick.problem, status_code=400
        )
    try:
        with ui.savepoint(db):
            view = service.create_phone(
                db,
                actor=user.actor,
                label=label,
                model=model or None,
                employee_id=pick.chosen,
                now=now,
            )
    except DomainError as exc:
        return _phone_form(
            request, user, values=values, error=ui.message(exc), status_code=ui.page_status(exc)
        )
    return RedirectResponse(f"/phones/{view.phone.id}?done=created", status_code=303)


@router.get("/phones/{phone_id}", response_class=HTMLResponse)
def phone_detail(
    request: Request, phone_id: str, user: StaffReader, db: SessionDep, done: str | None = None
) -> Response:
    """En telefon / one phone."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        view = service.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "people/phone_detail.html",
        user,
        {
            "nav": "phones",
            "view": view,
            "p": view.phone,
            "actions": recent_actions_on(
                db, actor=user.actor, target_type="phone", target_id=view.phone.id
            ),
            "done": ui.done_message(done),
            "lost_reason": LOST_REASON,
        },
    )


@router.get("/phones/{phone_id}/edit", response_class=HTMLResponse)
def edit_phone(request: Request, phone_id: str, user: PhoneManager, db: SessionDep) -> Response:
    """Ret en telefon / change a phone."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        view = service.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    values = {
        "label": view.phone.label,
        "model": view.phone.model or "",
        "employee": view.employee.employee_number if view.employee else "",
    }
    return _phone_form(request, user, values=values, phone=view)


@router.post("/phones/{phone_id}/edit", response_class=HTMLResponse)
def save_phone(
    request: Request,
    phone_id: str,
    user: PhoneManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    label: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    employee: Annotated[str, Form()] = "",
    employee_id: Annotated[str | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Gem ændringer / save the changes."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        view = service.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    values = {"label": label, "model": model, "employee": employee, "reason": reason}
    pick = _owner(db, user, employee, employee_id)
    if pick.problem:
        return _phone_form(
            request,
            user,
            values=values,
            phone=view,
            pick=pick,
            error=pick.problem,
            status_code=400,
        )
    try:
        with ui.savepoint(db):
            service.update_phone(
                db,
                actor=user.actor,
                phone_id=number,
                label=label,
                model=model or None,
                employee_id=pick.chosen,
                reason=ui.reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _phone_form(
            request,
            user,
            values=values,
            phone=view,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(f"/phones/{number}?done=saved", status_code=303)


@router.post("/phones/{phone_id}/lost", response_class=HTMLResponse)
def block_lost_phone(
    request: Request,
    phone_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = LOST_REASON,
) -> Response:
    """Spær en mistet telefon med ét klik / block a lost phone in one click."""
    return _block_phone(request, phone_id, user, db, now, reason=reason or LOST_REASON, lost=True)


@router.get("/phones/{phone_id}/block", response_class=HTMLResponse)
def confirm_block_phone(
    request: Request, phone_id: str, user: StaffBlocker, db: SessionDep
) -> Response:
    """Spær med en anden begrundelse / block with another reason."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        view = service.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": "phones",
            "title": _("Spær telefon"),
            "subject": view.phone.label,
            "explanation": _(
                "Telefonen afvises af serveren med det samme og sletter sine nøgler ved næste "
                "kontakt. Døre uden netforbindelse lærer spærringen af den næste telefon, der "
                "rører dem."
            ),
            "action": f"/phones/{number}/block",
            "reason": "",
            "lost": False,
            "button": _("Spær telefonen"),
            "cancel_url": f"/phones/{number}",
        },
    )


@router.post("/phones/{phone_id}/block", response_class=HTMLResponse)
def block_phone(
    request: Request,
    phone_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
    lost: Annotated[str, Form()] = "",
) -> Response:
    """Spær telefonen med en begrundelse / block the phone with a reason."""
    return _block_phone(request, phone_id, user, db, now, reason=reason, lost=bool(lost))


def _block_phone(
    request: Request,
    phone_id: str,
    user: WebUser,
    db: Session,
    now: dt.datetime,
    *,
    reason: str,
    lost: bool,
) -> Response:
    htmx = request.headers.get("hx-request") == "true"
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        with ui.savepoint(db):
            result = revocation.block_phone(
                db,
                actor=user.actor,
                phone_id=number,
                reason=ui.reason_text(reason),
                lost=lost,
                now=now,
            )
    except DomainError as exc:
        if htmx:
            return ui.page(
                request,
                "people/_flash.html",
                user,
                {"error": ui.message(exc)},
                status_code=ui.page_status(exc),
            )
        if ui.page_status(exc) == 400:
            return ui.confirm_again(
                request,
                user,
                nav="phones",
                title=_("Spær telefon"),
                subject="",
                action=f"/phones/{phone_id}/block",
                button=_("Spær telefonen"),
                cancel_url=f"/phones/{phone_id}",
                error=ui.message(exc),
                reason=reason,
                lost=lost,
            )
        return ui.error_page(request, user, exc)
    if htmx:
        view = service.get_phone(db, actor=user.actor, phone_id=number)
        return ui.page(
            request,
            "people/_phone_row.html",
            user,
            {
                "v": view,
                "lost_reason": LOST_REASON,
                "just_blocked": True,
                "exposed_total": len(result.exposed_doors),
                "latest": max(result.exposed_doors.values(), default=None),
            },
        )
    return ui.revocation_page(
        request,
        user,
        result,
        exposed=doors.exposed_doors(db, exposure=result.exposed_doors),
        nav="phones",
        title=_("Telefonen er spærret") if result.changed else _("Allerede spærret"),
        back_url=f"/phones/{number}",
        back_label=_("Tilbage til telefonen"),
    )


@router.post("/phones/{phone_id}/unblock", response_class=HTMLResponse)
def unblock_phone(
    request: Request,
    phone_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ophæv spærringen af en fundet telefon / unblock a found phone."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        with ui.savepoint(db):
            revocation.unblock_phone(
                db, actor=user.actor, phone_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/phones/{number}?done=unblocked", status_code=303)


def enrolment_payload(server_url: str, code: str) -> str:
    """What the QR image carries; the key app reads the server and the one-time code from it."""
    return f"carekey-enrol:{server_url.rstrip('/')}:{code}"


@router.post("/phones/{phone_id}/enrol", response_class=HTMLResponse)
def enrol_phone(
    request: Request,
    phone_id: str,
    user: PhoneManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Engangskode og QR-kode til at tilmelde telefonen / one-time code and QR to enrol."""
    try:
        number = ui.path_id(phone_id, "Telefonen", "phone")
        view = service.get_phone(db, actor=user.actor, phone_id=number)
        with ui.savepoint(db):
            code, expires = create_enrolment_code(db, actor=user.actor, phone_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    payload = enrolment_payload(str(request.base_url), code)
    return ui.page(
        request,
        "people/phone_enrol.html",
        user,
        {
            "nav": "phones",
            "view": view,
            "code": code,
            "expires": expires,
            "payload": payload,
            "server": str(request.base_url).rstrip("/"),
            "qr": segno.make(payload, error="m").svg_data_uri(scale=6, border=2),
        },
    )
