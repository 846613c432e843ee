"""The partner company's errand pages: the list of its errands, the form to request one, an
errand, and cancelling it (with a confirmation).

Thin: every page calls ``partners.errands``, which checks the errand as a whole and writes
nothing when it is refused; the form then shows the rule's message and keeps what was typed.
Only a partner company's administrator gets these pages (403 for anyone else, as in the API).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action, allowed
from carekey.adminui import formatting
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, RoleRequiredError, WebUserDep
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.errors import DomainError, InvariantError
from carekey.domain.values import ascii_id, ascii_number
from carekey.http.deps import NowDep, SessionDep
from carekey.partners import errands as use

router = APIRouter(include_in_schema=False)


def partner_admin(user: WebUserDep) -> WebUser:
    """Only a partner company's own administrator (the portal is the company's)."""
    if user.actor.company_id is None or not allowed(user.actor, Action.REQUEST_ERRAND):
        raise RoleRequiredError
    return user


PartnerAdmin = Annotated[WebUser, Depends(partner_admin)]


# --- words -------------------------------------------------------------------------------------


def errand_state_label(state: str) -> str:
    """An errand's state in words."""
    return {
        e.ErrandStatus.APPROVED: _("Godkendt"),
        e.ErrandStatus.USED: _("Brugt"),
        e.ErrandStatus.CANCELLED: _("Aflyst"),
        e.ErrandStatus.EXPIRED: _("Udløbet"),
    }.get(e.ErrandStatus(state), state)


ERRAND_BADGE: Final = {"approved": "ok", "used": "", "cancelled": "bad", "expired": ""}


def done_message(code: str | None) -> str | None:
    """The confirmation after a redirect (a fixed set: never text from the query string)."""
    return {
        "requested": _(
            "Ærindet er godkendt. Medarbejderens telefon henter nøglen ved næste kontakt."
        ),
        "cancelled": _("Ærindet er aflyst, og dets nøgler er sat på spærrelisten."),
    }.get(code or "")


def purpose_label(category: str) -> str:
    """What is delivered, in words."""
    return {
        e.PartnerCategory.POST: _("Post (anbefalet brev)"),
        e.PartnerCategory.PARCEL: _("Pakke"),
        e.PartnerCategory.MEAL_BOX: _("Madkasse"),
        e.PartnerCategory.PHARMACY: _("Medicin"),
        e.PartnerCategory.NEWSPAPER: _("Avis"),
        e.PartnerCategory.ADVERTISING: _("Reklame"),
    }.get(e.PartnerCategory(category), category)


def helpers() -> dict[str, Any]:
    """The words and formatters the errand templates use."""
    return {
        **formatting.formatters(),
        "purpose_label": purpose_label,
        "errand_state_label": errand_state_label,
        "errand_badge": ERRAND_BADGE,
    }


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


# --- the list ----------------------------------------------------------------------------------


@router.get("/partner/errands", response_class=HTMLResponse)
def errands(
    request: Request,
    user: PartnerAdmin,
    db: SessionDep,
    now: NowDep,
    state: str | None = None,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Firmaets ærinder / the company's errands."""
    limit, offset, number = ui.paging(page, size)
    chosen = ui.enum_of(e.ErrandStatus, state)
    found = use.list_errands(
        db,
        actor=user.actor,
        now=now,
        filters=use.ErrandFilter(state=chosen),
        limit=limit,
        offset=offset,
    )
    return partner_page(
        request,
        "partner/errands.html",
        user,
        {
            "nav": "partner_errands",
            "items": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "states": list(e.ErrandStatus),
            "state": chosen.value if chosen else "",
            "done": done_message(done),
        },
    )


# --- the form ----------------------------------------------------------------------------------


def _form(
    request: Request,
    db: Session,
    user: WebUser,
    now: dt.datetime,
    *,
    values: dict[str, Any],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return partner_page(
        request,
        "partner/errand_form.html",
        user,
        {
            "nav": "partner_errands",
            "values": values,
            "error": error,
            "choices": use.errand_choices(db, actor=user.actor, now=now),
            "workers": use.company_workers(db, actor=user.actor),
            "max_hours": int(use.MAX_ERRAND_LENGTH.total_seconds() // 3600),
            "purposes": use.ERRAND_PURPOSES,
        },
        status_code=status_code,
    )


def _place(value: str) -> tuple[int, int]:
    agreement, _sep, entrance = value.partition(":")
    a, b = ascii_id(agreement), ascii_id(entrance)
    if a is None or b is None:
        raise InvariantError(
            "errand.no_place", "Vælg aftale og opgang", "Choose an agreement and an entrance"
        )
    return a, b


def _minute(text: str, what_da: str, what_en: str) -> int:
    hours, _sep, minutes = text.strip().partition(":")
    h, mi = ascii_number(hours, maximum=23), ascii_number(minutes, maximum=59)
    if h is None or mi is None or len(minutes) != 2:
        raise InvariantError(
            "errand.bad_time",
            f"{what_da} kunne ikke læses; brug formatet tt:mm",
            f"{what_en} could not be read; use the format hh:mm",
        )
    return h * 60 + mi


def period_of(day: str, start: str, end: str) -> tuple[dt.datetime, dt.datetime]:
    """The period a form names, in Danish time: a day, a start and an end; an end at or before
    the start is the next day (a delivery that runs past midnight)."""
    found = formatting.query_date(day)
    if found is None:
        raise InvariantError(
            "errand.bad_date",
            "Datoen kunne ikke læses; brug formatet åååå-mm-dd",
            "The date could not be read; use the format yyyy-mm-dd",
        )
    first = _minute(start, "Starttidspunktet", "The start time")
    last = _minute(end, "Sluttidspunktet", "The end time")
    midnight = dt.datetime.combine(found, dt.time(), COPENHAGEN)
    begins = midnight + dt.timedelta(minutes=first)
    ends = midnight + dt.timedelta(minutes=last, days=0 if last > first else 1)
    return begins.astimezone(dt.UTC), ends.astimezone(dt.UTC)


@router.get("/partner/errands/new", response_class=HTMLResponse)
def new_errand(request: Request, user: PartnerAdmin, db: SessionDep, now: NowDep) -> Response:
    """Formularen til et nyt ærinde / the form for a new errand."""
    local = now.astimezone(COPENHAGEN) + dt.timedelta(hours=1)
    values = {
        "place": "",
        "reference": "",
        "recipient": "",
        "worker": "",
        "purpose": "",
        "day": local.date().isoformat(),
        "start": f"{local.hour:02d}:00",
        "end": f"{min(local.hour + 2, 23):02d}:00",
    }
    return _form(request, db, user, now, values=values)


@router.post("/partner/errands/new", response_class=HTMLResponse)
def request_errand(
    request: Request,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    place: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
    recipient: Annotated[str, Form()] = "",
    worker: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    """Bestil ærindet / request the errand."""
    values = {
        "place": place.strip()[:30],
        "reference": reference[:200],
        "recipient": recipient[:400],
        "worker": worker.strip()[:12],
        "purpose": purpose.strip()[:20],
        "day": day.strip()[:10],
        "start": start.strip()[:5],
        "end": end.strip()[:5],
    }
    try:
        agreement_id, entrance_id = _place(values["place"])
        begins, ends = period_of(values["day"], values["start"], values["end"])
        new = use.NewErrand(
            agreement_id=agreement_id,
            entrance_id=entrance_id,
            reference=values["reference"],
            recipient=values["recipient"],
            not_before=begins,
            not_after=ends,
            employee_id=ascii_id(values["worker"]),
            purpose=ui.enum_of(e.PartnerCategory, values["purpose"]),
        )
        with ui.savepoint(db):
            view = use.request_errand(db, actor=user.actor, new=new, now=now)
    except DomainError as exc:
        if ui.page_status(exc) == 404:
            return ui.error_page(request, user, exc)
        return _form(
            request,
            db,
            user,
            now,
            values=values,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(f"/partner/errands/{view.errand.id}?done=requested", status_code=303)


# --- one errand --------------------------------------------------------------------------------


def _errand_id(value: str) -> int:
    return ui.path_id(value, "Ærindet", "errand")


@router.get("/partner/errands/{errand_id}", response_class=HTMLResponse)
def errand_detail(
    request: Request,
    errand_id: str,
    user: PartnerAdmin,
    db: SessionDep,
    now: NowDep,
    done: str | None = None,
) -> Response:
    """Et ærinde / one errand."""
    try:
        view = use.get_errand(db, actor=user.actor, errand_id=_errand_id(errand_id), now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return partner_page(
        request,
        "partner/errand_detail.html",
        user,
        {"nav": "partner_errands", "view": view, "done": done_message(done)},
    )


def _cancel_texts() -> dict[str, str]:
    return {
        "title": _("Aflys ærindet"),
        "button": _("Aflys ærindet nu"),
        "explanation": _(
            "Ærindet aflyses med det samme. Den nøgle, medarbejderen allerede har fået til "
            "opgangen, sættes på spærrelisten; firmaets øvrige nøgler berøres ikke."
        ),
    }


@router.get("/partner/errands/{errand_id}/cancel", response_class=HTMLResponse)
def confirm_cancel(
    request: Request, errand_id: str, user: PartnerAdmin, db: SessionDep, now: NowDep
) -> Response:
    """Bekræft aflysning / confirm cancelling the errand."""
    try:
        view = use.get_errand(db, actor=user.actor, errand_id=_errand_id(errand_id), now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    texts = _cancel_texts()
    return ui.page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": "partner_errands",
            "title": texts["title"],
            "subject": f"{view.errand.reference} · {view.address.text}",
            "explanation": texts["explanation"],
            "action": f"/partner/errands/{view.errand.id}/cancel",
            "reason": "",
            "button": texts["button"],
            "cancel_url": f"/partner/errands/{view.errand.id}",
        },
    )


@router.post("/partner/errands/{errand_id}/cancel", response_class=HTMLResponse)
def cancel_errand(
    request: Request,
    errand_id: str,
    user: PartnerAdmin,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Aflys ærindet / cancel the errand: its keys go on the denylist."""
    try:
        number = _errand_id(errand_id)
        with ui.savepoint(db):
            use.cancel_errand(
                db, actor=user.actor, errand_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        if ui.page_status(exc) == 400:
            texts = _cancel_texts()
            return ui.confirm_again(
                request,
                user,
                nav="partner_errands",
                title=texts["title"],
                subject="",
                action=f"/partner/errands/{errand_id}/cancel",
                button=texts["button"],
                cancel_url="/partner/errands",
                error=ui.message(exc),
                reason=reason,
            )
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/partner/errands/{number}?done=cancelled", status_code=303)
