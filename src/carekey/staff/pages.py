"""Pages of employees: search and filter, create and edit, block and unblock, and the employee
picker's suggestions (the import from CSV is in ``staff.import_pages``).

Thin: every page calls the use cases of ``staff`` (and ``revocation`` for blocking), which scope
by role and municipality and write the log of administrative actions.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from carekey.districts import service as districts
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_id
from carekey.doors import service as doors
from carekey.http.deps import NowDep, SessionDep
from carekey.phones.service import LOST_REASON
from carekey.revocation import service as revocation
from carekey.staff import import_pages, service

router = APIRouter(include_in_schema=False)
# The import and its table of job titles first: "/employees/import" is no employee id.
router.include_router(import_pages.router)

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
StaffReader = Annotated[WebUser, Depends(permits(Action.READ_STAFF))]
StaffManager = Annotated[WebUser, Depends(permits(Action.MANAGE_STAFF))]
StaffBlocker = Annotated[WebUser, Depends(permits(Action.BLOCK_STAFF))]
KeyGranter = Annotated[WebUser, Depends(permits(Action.GRANT_EMERGENCY_KEY))]


@router.get("/pickers/employees", response_class=HTMLResponse)
def suggest_employees(
    request: Request, user: KeyGranter, db: SessionDep, employee: str = ""
) -> Response:
    """Forslag til medarbejdervælgeren (htmx) / suggestions for the employee picker."""
    query = ui.search_text(employee)
    items = service.list_employees(db, actor=user.actor, q=query, limit=15).items if query else []
    options = [(v.employee.employee_number, v.employee.full_name) for v in items]
    return ui.page(request, "people/_options.html", user, {"options": options})


# --- employees ---------------------------------------------------------------------------------


@router.get("/employees", response_class=HTMLResponse)
def employees(
    request: Request,
    user: StaffReader,
    db: SessionDep,
    q: str | None = None,
    district: str | None = None,
    status: str | None = None,
    role: str | None = None,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Medarbejdere: søg, filtrér, blad / employees: search, filter, paginate."""
    limit, offset, number = ui.paging(page, size)
    query = ui.search_text(q)
    district_id = ascii_id(district)
    status_value = ui.enum_of(e.EmployeeStatus, status)
    role_value = ui.enum_of(e.Role, role)
    try:
        found = service.list_employees(
            db,
            actor=user.actor,
            q=query,
            role=role_value,
            district_id=district_id,
            status=status_value,
            limit=limit,
            offset=offset,
        )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "people/employees.html",
        user,
        {
            "nav": "employees",
            "items": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "filters": {
                "q": query or "",
                "district": district_id,
                "status": status_value.value if status_value else "",
                "role": role_value.value if role_value else "",
                "size": limit,
            },
            "districts": districts.list_districts(db, actor=user.actor),
            "statuses": list(e.EmployeeStatus),
            "roles": list(e.Role),
            "page_sizes": ui.PAGE_SIZES,
            "done": ui.done_message(done),
        },
    )


def _employee_form(
    request: Request,
    db: Session,
    user: WebUser,
    *,
    values: dict[str, Any],
    error: str | None = None,
    employee: service.EmployeeView | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        "people/employee_form.html",
        user,
        {
            "nav": "employees",
            "values": values,
            "error": error,
            "employee": employee,
            "districts": districts.list_districts(db, actor=user.actor),
            "roles": list(e.Role),
        },
        status_code=status_code,
    )


def _roles_of(values: Sequence[str]) -> list[e.Role]:
    return [r for r in (ui.enum_of(e.Role, v) for v in values) if r is not None]


@router.get("/employees/new", response_class=HTMLResponse)
def new_employee(request: Request, user: StaffManager, db: SessionDep) -> Response:
    """Formularen til en ny medarbejder / the form for a new employee."""
    values = {"roles": ["care_worker"], "district_ids": []}
    return _employee_form(request, db, user, values=values)


@router.post("/employees/new", response_class=HTMLResponse)
def create_employee(
    request: Request,
    user: StaffManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    employee_number: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    district_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Opret en medarbejder / create an employee."""
    values: dict[str, Any] = {
        "employee_number": employee_number,
        "full_name": full_name,
        "email": email,
        "roles": roles or [],
        "district_ids": ui.ids_of(district_ids or []),
    }
    new = service.NewEmployee(
        employee_number=employee_number,
        full_name=full_name,
        email=email or None,
        roles=_roles_of(roles or []),
        district_ids=values["district_ids"],
        password=password or None,
    )
    try:
        with ui.savepoint(db):
            view = service.create_employee(db, actor=user.actor, new=new, now=now)
    except DomainError as exc:
        return _employee_form(
            request, db, user, values=values, error=ui.message(exc), status_code=ui.page_status(exc)
        )
    return RedirectResponse(f"/employees/{view.employee.id}?done=created", status_code=303)


# --- one employee ------------------------------------------------------------------------------


@router.get("/employees/{employee_id}", response_class=HTMLResponse)
def employee_detail(
    request: Request, employee_id: str, user: StaffReader, db: SessionDep, done: str | None = None
) -> Response:
    """En medarbejder: roller, distrikter, telefoner, seneste handlinger / one employee."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        view = service.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "people/employee_detail.html",
        user,
        {
            "nav": "employees",
            "view": view,
            "x": view.employee,
            "actions": recent_actions_on(
                db, actor=user.actor, target_type="employee", target_id=view.employee.id
            ),
            "done": ui.done_message(done),
            "lost_reason": LOST_REASON,
        },
    )


@router.get("/employees/{employee_id}/edit", response_class=HTMLResponse)
def edit_employee(
    request: Request, employee_id: str, user: StaffManager, db: SessionDep
) -> Response:
    """Ret en medarbejder / change an employee."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        view = service.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    values = {
        "employee_number": view.employee.employee_number,
        "full_name": view.employee.full_name,
        "email": view.employee.email or "",
        "roles": [r.value for r in view.roles],
        "district_ids": [d.id for d in view.districts],
    }
    return _employee_form(request, db, user, values=values, employee=view)


@router.post("/employees/{employee_id}/edit", response_class=HTMLResponse)
def save_employee(
    request: Request,
    employee_id: str,
    user: StaffManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    full_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    district_ids: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Gem ændringer / save the changes."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        view = service.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    values: dict[str, Any] = {
        "employee_number": view.employee.employee_number,
        "full_name": full_name,
        "email": email,
        "roles": roles or [],
        "district_ids": ui.ids_of(district_ids or []),
        "reason": reason,
    }
    changes = service.EmployeeChanges(
        full_name=full_name,
        email=email or None,
        roles=_roles_of(roles or []),
        district_ids=values["district_ids"],
    )
    try:
        with ui.savepoint(db):
            service.update_employee(
                db,
                actor=user.actor,
                employee_id=number,
                changes=changes,
                reason=ui.reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _employee_form(
            request,
            db,
            user,
            values=values,
            employee=view,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(f"/employees/{number}?done=saved", status_code=303)


@router.get("/employees/{employee_id}/block", response_class=HTMLResponse)
def confirm_block_employee(
    request: Request, employee_id: str, user: StaffBlocker, db: SessionDep
) -> Response:
    """Bekræft spærring af en medarbejder / confirm blocking an employee."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        view = service.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": "employees",
            "title": _("Spær medarbejder"),
            "subject": f"{view.employee.full_name} ({view.employee.employee_number})",
            "explanation": _(
                "Medarbejderen kan ikke længere logge ind, og alle nøgler på alle telefoner "
                "spærres med det samme. Døre uden netforbindelse lærer spærringen af den næste "
                "telefon, der rører dem."
            ),
            "action": f"/employees/{number}/block",
            "reason": "",
            "button": _("Spær medarbejderen"),
            "cancel_url": f"/employees/{number}",
        },
    )


@router.post("/employees/{employee_id}/block", response_class=HTMLResponse)
def block_employee(
    request: Request,
    employee_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Spær medarbejderen / block the employee."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        with ui.savepoint(db):
            result = revocation.block_employee(
                db, actor=user.actor, employee_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        if ui.page_status(exc) == 400:
            return ui.confirm_again(
                request,
                user,
                nav="employees",
                title=_("Spær medarbejder"),
                subject="",
                action=f"/employees/{employee_id}/block",
                button=_("Spær medarbejderen"),
                cancel_url=f"/employees/{employee_id}",
                error=ui.message(exc),
                reason=reason,
            )
        return ui.error_page(request, user, exc)
    return ui.revocation_page(
        request,
        user,
        result,
        exposed=doors.exposed_doors(db, exposure=result.exposed_doors),
        nav="employees",
        title=_("Medarbejderen er spærret") if result.changed else _("Allerede spærret"),
        back_url=f"/employees/{number}",
        back_label=_("Tilbage til medarbejderen"),
    )


@router.post("/employees/{employee_id}/unblock", response_class=HTMLResponse)
def unblock_employee(
    request: Request,
    employee_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ophæv spærringen / unblock the employee."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        with ui.savepoint(db):
            revocation.unblock_employee(
                db, actor=user.actor, employee_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/employees/{number}?done=unblocked", status_code=303)
