"""Pages of districts: the list with counts, creating one, and one district with its history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.security import WebUser
from carekey.audit.actions_log import recent_actions_on
from carekey.districts import service
from carekey.domain.errors import DomainError
from carekey.http.deps import NowDep, SessionDep

router = APIRouter(include_in_schema=False)

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
DistrictReader = Annotated[WebUser, Depends(permits(Action.READ_DISTRICTS))]
DistrictManager = Annotated[WebUser, Depends(permits(Action.MANAGE_DISTRICTS))]


def _districts_page(
    request: Request,
    db: Session,
    user: WebUser,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        "people/districts.html",
        user,
        {
            "nav": "districts",
            "items": service.list_districts(db, actor=user.actor),
            "values": values or {},
            "error": error,
            "done": ui.done_message(done),
        },
        status_code=status_code,
    )


@router.get("/districts", response_class=HTMLResponse)
def districts(
    request: Request, user: DistrictReader, db: SessionDep, done: str | None = None
) -> Response:
    """Distrikter med antal medarbejdere og borgere / districts with counts."""
    return _districts_page(request, db, user, done=done)


@router.post("/districts", response_class=HTMLResponse)
def create_district(
    request: Request,
    user: DistrictManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    """Opret et distrikt / create a district."""
    try:
        with ui.savepoint(db):
            service.create_district(db, actor=user.actor, code=code, name=name, now=now)
    except DomainError as exc:
        return _districts_page(
            request,
            db,
            user,
            values={"code": code, "name": name},
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse("/districts?done=created", status_code=303)


@router.get("/districts/{district_id}", response_class=HTMLResponse)
def district_detail(
    request: Request,
    district_id: str,
    user: DistrictReader,
    db: SessionDep,
    done: str | None = None,
) -> Response:
    """Et distrikt / one district."""
    try:
        number = ui.path_id(district_id, "Distriktet", "district")
        view = service.get_district(db, actor=user.actor, district_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return _district_detail(request, db, user, view, done=done)


def _district_detail(
    request: Request,
    db: Session,
    user: WebUser,
    view: service.DistrictView,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        "people/district_detail.html",
        user,
        {
            "nav": "districts",
            "view": view,
            "d": view.district,
            "values": values or {"code": view.district.code, "name": view.district.name},
            "error": error,
            "done": ui.done_message(done),
            "actions": recent_actions_on(
                db, actor=user.actor, target_type="district", target_id=view.district.id
            ),
        },
        status_code=status_code,
    )


@router.post("/districts/{district_id}", response_class=HTMLResponse)
def save_district(
    request: Request,
    district_id: str,
    user: DistrictManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ret et distrikt / change a district."""
    try:
        number = ui.path_id(district_id, "Distriktet", "district")
        view = service.get_district(db, actor=user.actor, district_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    try:
        with ui.savepoint(db):
            service.update_district(
                db,
                actor=user.actor,
                district_id=number,
                code=code,
                name=name,
                reason=ui.reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _district_detail(
            request,
            db,
            user,
            view,
            values={"code": code, "name": name, "reason": reason},
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(f"/districts/{number}?done=saved", status_code=303)
