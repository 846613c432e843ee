"""Pages of citizens: search and filter, register and edit one, remove the address from the
solution with one click (and undo it), and the citizen picker's suggestions.

Thin: every page calls the use cases of ``citizens`` (``revocation`` for removal and restore),
which scope by role and municipality and write the log of administrative actions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.audit.actions_log import recent_actions_on
from carekey.citizens import service
from carekey.districts import service as districts
from carekey.domain import enums as e
from carekey.domain.changes import UNSET
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_id
from carekey.doors import service as doors
from carekey.http.deps import NowDep, SessionDep
from carekey.revocation import service as revocation

router = APIRouter(include_in_schema=False)

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
CitizenReader = Annotated[WebUser, Depends(permits(Action.READ_CITIZENS))]
CitizenManager = Annotated[WebUser, Depends(permits(Action.MANAGE_CITIZENS))]
CitizenRemover = Annotated[WebUser, Depends(permits(Action.REMOVE_CITIZEN))]
KeyGranter = Annotated[WebUser, Depends(permits(Action.GRANT_EMERGENCY_KEY))]


@router.get("/pickers/citizens", response_class=HTMLResponse)
def suggest_citizens(
    request: Request, user: KeyGranter, db: SessionDep, citizen: str = ""
) -> Response:
    """Forslag til borgervælgeren (htmx) / suggestions for the citizen picker."""
    query = ui.search_text(citizen)
    items = service.list_citizens(db, actor=user.actor, q=query, limit=15).items if query else []
    options = [
        (f"{v.citizen.given_name} {v.citizen.family_name}", v.address.text if v.address else "")
        for v in items
    ]
    return ui.page(request, "people/_options.html", user, {"options": options})


@router.get("/citizens", response_class=HTMLResponse)
def citizens(
    request: Request,
    user: CitizenReader,
    db: SessionDep,
    q: str | None = None,
    district: str | None = None,
    status: str | None = None,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Borgere: søg og filtrér / citizens: search and filter."""
    limit, offset, number = ui.paging(page, size)
    query = ui.search_text(q)
    district_id = ascii_id(district)
    status_value = ui.enum_of(e.CitizenStatus, status)
    found = service.list_citizens(
        db,
        actor=user.actor,
        q=query,
        district_id=district_id,
        status=status_value,
        limit=limit,
        offset=offset,
    )
    return ui.page(
        request,
        "people/citizens.html",
        user,
        {
            "nav": "citizens",
            "items": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "filters": {
                "q": query or "",
                "district": district_id,
                "status": status_value.value if status_value else "",
                "size": limit,
            },
            "districts": districts.list_districts(db, actor=user.actor),
            "statuses": list(e.CitizenStatus),
            "page_sizes": ui.PAGE_SIZES,
            "done": ui.done_message(done),
        },
    )


def _citizen_form(
    request: Request,
    db: Session,
    user: WebUser,
    *,
    values: dict[str, Any],
    pick: ui.Pick | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        "people/citizen_form.html",
        user,
        {
            "nav": "citizens",
            "values": values,
            "pick": pick,
            "error": error,
            "districts": districts.list_districts(db, actor=user.actor),
        },
        status_code=status_code,
    )


@router.get("/citizens/new", response_class=HTMLResponse)
def new_citizen(request: Request, user: CitizenManager, db: SessionDep) -> Response:
    """Formularen til en ny borger / the form for a new citizen."""
    return _citizen_form(request, db, user, values={"status": "pending"})


@router.post("/citizens/new", response_class=HTMLResponse)
def create_citizen(
    request: Request,
    user: CitizenManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    given_name: Annotated[str, Form()] = "",
    family_name: Annotated[str, Form()] = "",
    district_id: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "pending",
    dwelling: Annotated[str, Form()] = "",
    dwelling_id: Annotated[str | None, Form()] = None,
) -> Response:
    """Opret en borger / register a citizen."""
    values = {
        "given_name": given_name,
        "family_name": family_name,
        "district_id": ascii_id(district_id),
        "status": status,
        "dwelling": dwelling,
    }
    pick = ui.pick(
        "dwelling",
        dwelling,
        dwelling_id,
        lambda text: service.dwelling_choices(db, actor=user.actor, text=text),
    )
    if pick.problem:
        return _citizen_form(
            request, db, user, values=values, pick=pick, error=pick.problem, status_code=400
        )
    chosen_district = ascii_id(district_id)
    chosen_status = ui.enum_of(e.CitizenStatus, status) or e.CitizenStatus.PENDING
    try:
        if chosen_district is None:
            raise DomainError("citizen.no_district", "Vælg et distrikt", "Choose a district")
        new = service.NewCitizen(
            given_name=given_name,
            family_name=family_name,
            district_id=chosen_district,
            dwelling_id=pick.chosen,
            status=chosen_status,
        )
        with ui.savepoint(db):
            view = service.create_citizen(db, actor=user.actor, new=new, now=now)
    except DomainError as exc:
        return _citizen_form(
            request, db, user, values=values, error=ui.message(exc), status_code=ui.page_status(exc)
        )
    return RedirectResponse(f"/citizens/{view.citizen.id}?done=created", status_code=303)


def _citizen_detail(
    request: Request,
    db: Session,
    user: WebUser,
    view: service.CitizenView,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    c = view.citizen
    return ui.page(
        request,
        "people/citizen_detail.html",
        user,
        {
            "nav": "citizens",
            "view": view,
            "c": c,
            "values": values
            or {
                "given_name": c.given_name,
                "family_name": c.family_name,
                "district_id": c.district_id,
                "status": c.status.value,
            },
            "districts": districts.list_districts(db, actor=user.actor),
            "work_order": service.latest_restore_order(db, citizen_id=c.id),
            "actions": recent_actions_on(
                db, actor=user.actor, target_type="citizen", target_id=c.id
            ),
            "error": error,
            "done": ui.done_message(done),
        },
        status_code=status_code,
    )


@router.get("/citizens/{citizen_id}", response_class=HTMLResponse)
def citizen_detail(
    request: Request, citizen_id: str, user: CitizenReader, db: SessionDep, done: str | None = None
) -> Response:
    """En borger: adresse, døre, distrikt / one citizen."""
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
        view = service.get_citizen(db, actor=user.actor, citizen_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return _citizen_detail(request, db, user, view, done=done)


@router.post("/citizens/{citizen_id}", response_class=HTMLResponse)
def save_citizen(
    request: Request,
    citizen_id: str,
    user: CitizenManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    given_name: Annotated[str, Form()] = "",
    family_name: Annotated[str, Form()] = "",
    district_id: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ret borgeren, fx skift distrikt / change the citizen, e.g. assign another district."""
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
        view = service.get_citizen(db, actor=user.actor, citizen_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    values = {
        "given_name": given_name,
        "family_name": family_name,
        "district_id": ascii_id(district_id),
        "status": status,
        "reason": reason,
    }
    changes = service.CitizenChanges(
        given_name=given_name,
        family_name=family_name,
        district_id=ascii_id(district_id) or view.citizen.district_id,
        status=ui.enum_of(e.CitizenStatus, status) or UNSET,
    )
    try:
        with ui.savepoint(db):
            service.update_citizen(
                db,
                actor=user.actor,
                citizen_id=number,
                changes=changes,
                reason=ui.reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _citizen_detail(
            request,
            db,
            user,
            view,
            values=values,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(f"/citizens/{number}?done=saved", status_code=303)


@router.get("/citizens/{citizen_id}/remove", response_class=HTMLResponse)
def confirm_remove_citizen(
    request: Request, citizen_id: str, user: CitizenRemover, db: SessionDep
) -> Response:
    """Bekræft fjernelse af adressen / confirm removing the address."""
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
        view = service.get_citizen(db, actor=user.actor, citizen_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    c = view.citizen
    return ui.page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": "citizens",
            "title": _("Fjern adressen fra løsningen"),
            "subject": f"{c.given_name} {c.family_name}"
            + (f", {view.address.text}" if view.address else ""),
            "explanation": _(
                "Døren forsvinder fra alle senere nøglepakker, og døren selv spærres for nøgler, "
                "der allerede er udstedt. Akutnøgler til borgeren ophører. Der oprettes en "
                "arbejdsordre på at genetablere den oprindelige lås."
            ),
            "action": f"/citizens/{number}/remove",
            "reason": _("Flyttet"),
            "button": _("Fjern adressen"),
            "cancel_url": f"/citizens/{number}",
        },
    )


@router.post("/citizens/{citizen_id}/remove", response_class=HTMLResponse)
def remove_citizen(
    request: Request,
    citizen_id: str,
    user: CitizenRemover,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Fjern borgerens adresse fra løsningen / remove the citizen's address from the solution."""
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
        with ui.savepoint(db):
            result = revocation.remove_citizen(
                db, actor=user.actor, citizen_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        if ui.page_status(exc) == 400:
            return ui.confirm_again(
                request,
                user,
                nav="citizens",
                title=_("Fjern adressen fra løsningen"),
                subject="",
                action=f"/citizens/{citizen_id}/remove",
                button=_("Fjern adressen"),
                cancel_url=f"/citizens/{citizen_id}",
                error=ui.message(exc),
                reason=reason,
            )
        return ui.error_page(request, user, exc)
    return ui.revocation_page(
        request,
        user,
        result,
        exposed=doors.exposed_doors(db, exposure=result.exposed_doors),
        nav="citizens",
        title=_("Adressen er fjernet fra løsningen") if result.changed else _("Allerede fjernet"),
        back_url=f"/citizens/{number}",
        back_label=_("Tilbage til borgeren"),
        work_order=service.latest_restore_order(db, citizen_id=number),
    )


@router.post("/citizens/{citizen_id}/restore", response_class=HTMLResponse)
def restore_citizen(
    request: Request,
    citizen_id: str,
    user: CitizenRemover,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Genskab borgeren i løsningen / restore the citizen."""
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
        with ui.savepoint(db):
            revocation.restore_citizen(
                db, actor=user.actor, citizen_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/citizens/{number}?done=restored", status_code=303)
