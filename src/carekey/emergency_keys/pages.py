"""Pages of emergency keys: the live keys (or all), granting one to an employee for a citizen,
and revoking one.

Thin: every page calls the use cases of ``emergency_keys``, which scope by role and municipality
and write the log of administrative actions.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.citizens import service as citizens
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_number
from carekey.emergency_keys import service
from carekey.http.deps import NowDep, SessionDep
from carekey.staff import service as staff

router = APIRouter(include_in_schema=False)

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
KeyReader = Annotated[WebUser, Depends(permits(Action.READ_EMERGENCY_KEYS))]
KeyGranter = Annotated[WebUser, Depends(permits(Action.GRANT_EMERGENCY_KEY))]

LONGEST_MINUTES_TYPED = 100_000
"""A duration typed beyond this is cut here before the use case refuses it as too long."""


def _emergency_page(
    request: Request,
    db: Session,
    user: WebUser,
    now: dt.datetime,
    *,
    state: str = "active",
    page: str | None = None,
    size: str | None = None,
    values: dict[str, Any] | None = None,
    employee_pick: ui.Pick | None = None,
    citizen_pick: ui.Pick | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    limit, offset, number = ui.paging(page, size)
    found = service.list_emergency_keys(
        db, actor=user.actor, now=now, active_only=state != "all", limit=limit, offset=offset
    )
    return ui.page(
        request,
        "people/emergency_keys.html",
        user,
        {
            "nav": "emergency",
            "items": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "state": "all" if state == "all" else "active",
            "values": values or {"minutes": 120},
            "employee_pick": employee_pick,
            "citizen_pick": citizen_pick,
            "max_minutes": service.longest_duration_minutes(db, actor=user.actor),
            "error": error,
            "done": ui.done_message(done),
        },
        status_code=status_code,
    )


@router.get("/emergency-keys", response_class=HTMLResponse)
def emergency_keys(
    request: Request,
    user: KeyReader,
    db: SessionDep,
    now: NowDep,
    state: str = "active",
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Akutnøgler: aktive eller alle, og formularen til at give en / emergency keys."""
    return _emergency_page(request, db, user, now, state=state, page=page, size=size, done=done)


@router.post("/emergency-keys", response_class=HTMLResponse)
def grant_emergency_key(
    request: Request,
    user: KeyGranter,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    employee: Annotated[str, Form()] = "",
    employee_id: Annotated[str | None, Form()] = None,
    citizen: Annotated[str, Form()] = "",
    citizen_id: Annotated[str | None, Form()] = None,
    minutes: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Giv en akutnøgle / grant an emergency key."""
    values = {"employee": employee, "citizen": citizen, "minutes": minutes, "reason": reason}
    employee_pick = ui.pick(
        "employee",
        employee,
        employee_id,
        lambda text: staff.employee_choices(db, actor=user.actor, text=text),
    )
    citizen_pick = ui.pick(
        "citizen",
        citizen,
        citizen_id,
        lambda text: citizens.citizen_choices(db, actor=user.actor, text=text),
    )
    problem = employee_pick.problem or citizen_pick.problem
    duration = ascii_number(minutes)
    if problem is None and duration is None:
        problem = _("Angiv varigheden i minutter.")
    if problem is not None or duration is None:
        return _emergency_page(
            request,
            db,
            user,
            now,
            values=values,
            employee_pick=employee_pick,
            citizen_pick=citizen_pick,
            error=problem,
            status_code=400,
        )
    assert employee_pick.chosen is not None
    assert citizen_pick.chosen is not None
    try:
        with ui.savepoint(db):
            service.grant_emergency_key(
                db,
                actor=user.actor,
                employee_id=employee_pick.chosen,
                citizen_id=citizen_pick.chosen,
                reason=ui.reason_text(reason),
                duration=dt.timedelta(minutes=min(duration, LONGEST_MINUTES_TYPED)),
                now=now,
            )
    except DomainError as exc:
        return _emergency_page(
            request,
            db,
            user,
            now,
            values=values,
            employee_pick=employee_pick,
            citizen_pick=citizen_pick,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse("/emergency-keys?done=granted", status_code=303)


@router.post("/emergency-keys/{grant_id}/revoke", response_class=HTMLResponse)
def revoke_emergency_key(
    request: Request,
    grant_id: str,
    user: KeyGranter,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Tilbagekald en akutnøgle / revoke an emergency key."""
    try:
        number = ui.path_id(grant_id, "Akutnøglen", "emergency key")
        service.get_emergency_key(db, actor=user.actor, grant_id=number, now=now)
        with ui.savepoint(db):
            service.revoke_emergency_key(
                db, actor=user.actor, grant_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse("/emergency-keys?done=revoked", status_code=303)
