"""The administration pages of carekey.consents (issue 16): a citizen's consent panel (record a
consent; withdraw one, with a confirmation, which starts the removal) and the permission state
of the municipality's properties with a housing association (send a request, remind).

Thin: every page calls the use cases of ``consents.service`` and ``consents.permissions``,
which scope to the user's reach and write the log of administrative actions; the same policy
as the API (403 for a role without the action, 404 for another municipality's things).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carekey.access import Action, allowed
from carekey.adminui import formatting
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.citizens import service as citizens
from carekey.clock import COPENHAGEN
from carekey.consents import permissions
from carekey.consents import service as consents
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_id
from carekey.http.deps import NowDep, SessionDep

router = APIRouter(include_in_schema=False)

Reader = Annotated[WebUser, Depends(permits(Action.READ_INSTALLATIONS))]
ConsentManager = Annotated[WebUser, Depends(permits(Action.MANAGE_CONSENT))]
Requester = Annotated[WebUser, Depends(permits(Action.REQUEST_PERMISSION))]

METHODS: Final = tuple(e.ConsentMethod)
GIVERS: Final = tuple(e.ConsentGivenBy)


def method_label(method: str) -> str:
    """How a consent was given, in words."""
    return {
        e.ConsentMethod.PAPER_SCANNED: _("Underskrevet på papir (scannet)"),
        e.ConsentMethod.DIGITAL: _("Digitalt (MitID)"),
        e.ConsentMethod.POWER_OF_ATTORNEY: _("Af pårørende med fuldmagt"),
    }.get(e.ConsentMethod(method), method)


def state_label(state: str) -> str:
    """A property's permission state, in words."""
    return {
        permissions.NONE: _("Ingen anmodning"),
        e.PermissionStatus.REQUESTED: _("Anmodet"),
        e.PermissionStatus.GRANTED: _("Givet"),
        e.PermissionStatus.REFUSED: _("Afslået"),
        e.PermissionStatus.WITHDRAWN: _("Trukket tilbage"),
    }.get(state, state)


STATE_BADGE: Final = {"granted": "ok", "requested": "warn", "refused": "bad", "withdrawn": ""}


def _done(code: str | None) -> str | None:
    return {
        "recorded": _("Samtykket er registreret."),
        "withdrawn": _(
            "Samtykket er trukket tilbage. Borgeren er fjernet fra løsningen, døren er spærret,"
            " og der er oprettet en arbejdsordre på at genetablere den oprindelige lås."
        ),
        "requested": _("Anmodningen er sendt til boligforeningen."),
        "reminded": _("Boligforeningen er påmindet."),
    }.get(code or "")


def _when(value: str) -> dt.datetime | None:
    """A date from a form (Danish time, the start of the day); nothing is ``None``."""
    text = value.strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(
            "web.bad_date",
            f"Datoen »{text[:32]}« kan ikke læses; skriv den som åååå-mm-dd, fx 2026-12-04",
            f"The date “{text[:32]}” cannot be read; write it as yyyy-mm-dd, e.g. 2026-12-04",
        ) from exc
    return dt.datetime.combine(day, dt.time(12), COPENHAGEN).astimezone(dt.UTC)


def _helpers() -> dict[str, Any]:
    return {
        **formatting.formatters(),
        "method_label": method_label,
        "giver_label": formatting.giver_label,
        "state_label": state_label,
        "state_badge": STATE_BADGE,
    }


# --- the citizen's consents --------------------------------------------------------------------


def _consent_page(
    request: Request,
    user: WebUser,
    db: SessionDep,
    citizen_id: int,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    view = citizens.get_citizen(db, actor=user.actor, citizen_id=citizen_id)
    records = consents.consents_of(db, actor=user.actor, citizen_id=citizen_id)
    return ui.page(
        request,
        "consent/consents.html",
        user,
        {
            **_helpers(),
            "nav": "citizens",
            "view": view,
            "records": records,
            "live": next((r for r in records if r.withdrawn_at is None), None),
            "methods": METHODS,
            "givers": GIVERS,
            "form": form or {},
            "error": error,
            "done": _done(done),
            "can_manage": allowed(user.actor, Action.MANAGE_CONSENT),
        },
        status_code=status_code,
    )


@router.get("/citizens/{citizen_id}/consents", response_class=HTMLResponse)
def consent_panel(
    request: Request, citizen_id: str, user: Reader, db: SessionDep, done: str | None = None
) -> Response:
    """Borgerens samtykke / the citizen's consent."""
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
        return _consent_page(request, user, db, number, done=done)
    except DomainError as exc:
        return ui.error_page(request, user, exc)


@router.post("/citizens/{citizen_id}/consents", response_class=HTMLResponse)
def record_consent(
    request: Request,
    citizen_id: str,
    user: ConsentManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    method: Annotated[str, Form()] = "",
    given_by: Annotated[str, Form()] = "",
    given_by_name: Annotated[str, Form()] = "",
    informed_at: Annotated[str, Form()] = "",
    document_ref: Annotated[str, Form()] = "",
) -> Response:
    """Registrér samtykket / record the consent."""
    form = {
        "method": method,
        "given_by": given_by,
        "given_by_name": given_by_name,
        "informed_at": informed_at,
        "document_ref": document_ref,
    }
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    try:
        new = consents.NewConsent(
            method=ui.enum_of(e.ConsentMethod, method) or e.ConsentMethod.PAPER_SCANNED,
            given_by=ui.enum_of(e.ConsentGivenBy, given_by) or e.ConsentGivenBy.CITIZEN,
            given_by_name=given_by_name,
            informed_by_employee_id=user.actor.employee_id,
            informed_at=_when(informed_at),
            document_ref=document_ref,
        )
        with ui.savepoint(db):
            consents.record_consent(db, actor=user.actor, citizen_id=number, new=new, now=now)
    except DomainError as exc:
        if ui.page_status(exc) in (400, 409):
            try:
                return _consent_page(
                    request,
                    user,
                    db,
                    number,
                    error=ui.message(exc),
                    form=form,
                    status_code=ui.page_status(exc),
                )
            except DomainError as inner:
                return ui.error_page(request, user, inner)
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/citizens/{number}/consents?done=recorded", status_code=303)


@router.post("/consents/{consent_id}/withdraw", response_class=HTMLResponse)
def withdraw_consent(
    request: Request,
    consent_id: str,
    user: ConsentManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    withdrawn_by_name: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Træk samtykket tilbage; borgeren fjernes / withdraw the consent; the removal starts."""
    try:
        number = ui.path_id(consent_id, "Samtykket", "consent")
        record = consents.get_consent(db, actor=user.actor, consent_id=number)
        # Only managers get here; the reach of MANAGE_CONSENT is checked by the use case.
        citizen_id = record.citizen_id
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    try:
        if confirm != "yes":
            raise DomainError(
                "consent.confirm",
                "Bekræft, at samtykket trækkes tilbage, og at borgeren fjernes fra løsningen",
                "Confirm that the consent is withdrawn and the citizen removed from the solution",
            )
        with ui.savepoint(db):
            consents.withdraw_consent(
                db,
                actor=user.actor,
                consent_id=number,
                withdrawn_by_name=withdrawn_by_name,
                note=note,
                now=now,
            )
    except DomainError as exc:
        if ui.page_status(exc) in (400, 409):
            try:
                return _consent_page(
                    request,
                    user,
                    db,
                    citizen_id,
                    error=ui.message(exc),
                    status_code=ui.page_status(exc),
                )
            except DomainError as inner:
                return ui.error_page(request, user, inner)
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/citizens/{citizen_id}/consents?done=withdrawn", status_code=303)


# --- the properties' permission ----------------------------------------------------------------


@router.get("/permissions", response_class=HTMLResponse)
def permission_states(
    request: Request,
    user: Reader,
    db: SessionDep,
    now: NowDep,
    state: str | None = None,
    overdue: str | None = None,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
    error: str | None = None,
) -> Response:
    """Tilladelser fra boligforeningerne / the associations' permission per property."""
    limit, offset, number = ui.paging(page, size)
    wanted = state if state in permissions.STATES else None
    try:
        found = permissions.permission_states(
            db,
            actor=user.actor,
            now=now,
            state=wanted,
            overdue=overdue == "1",
            limit=limit,
            offset=offset,
        )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "consent/permissions.html",
        user,
        {
            **_helpers(),
            "nav": "permissions",
            "items": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "filters": {"state": wanted or "", "overdue": overdue == "1", "size": limit},
            "states": permissions.STATES,
            "page_sizes": ui.PAGE_SIZES,
            "done": _done(done),
            "can_request": allowed(user.actor, Action.REQUEST_PERMISSION),
            "default_due": (now + permissions.DEFAULT_DUE).astimezone(COPENHAGEN).date(),
        },
    )


@router.post("/permissions", response_class=HTMLResponse)
def send_permission_request(
    request: Request,
    user: Requester,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    property_id: Annotated[str, Form()] = "",
    covers_entrances: Annotated[str, Form()] = "",
    covers_gates: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Send en anmodning om tilladelse / ask the association for permission."""
    try:
        number = ascii_id(property_id)
        if number is None:
            raise DomainError("web.bad_property", "Vælg en ejendom", "Choose a property")
        with ui.savepoint(db):
            permissions.send_permission_request(
                db,
                actor=user.actor,
                property_id=number,
                covers_entrances=bool(covers_entrances),
                covers_gates=bool(covers_gates),
                due_at=_when(due),
                note=note,
                now=now,
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse("/permissions?done=requested", status_code=303)


@router.post("/permissions/{request_id}/remind", response_class=HTMLResponse)
def remind(
    request: Request, request_id: str, user: Requester, _csrf: CsrfDep, db: SessionDep, now: NowDep
) -> Response:
    """Send en påmindelse / remind the association."""
    try:
        number = ui.path_id(request_id, "Anmodningen", "permission request")
        with ui.savepoint(db):
            permissions.remind(db, actor=user.actor, request_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse("/permissions?done=reminded", status_code=303)
