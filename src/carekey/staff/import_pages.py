"""Pages of the employee import: upload a CSV file, see every row's outcome, import all of it or
nothing; and the municipality's table of job titles to roles that the import uses.

Thin: the import is ``staff.importing``, the table ``staff.job_titles``; both scope by role and
municipality and write the log of administrative actions.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carekey.access import Action
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_id
from carekey.http.deps import NowDep, SessionDep
from carekey.staff import job_titles
from carekey.staff.importing import (
    IMPORT_MAX_BYTES,
    IMPORT_MAX_ROWS,
    JOB_TITLES_PAGE,
    ImportPlan,
    plan_import,
)

router = APIRouter(include_in_schema=False)

StaffManager = Annotated[WebUser, Depends(permits(Action.MANAGE_STAFF))]
TitleManager = Annotated[WebUser, Depends(permits(Action.MANAGE_JOB_TITLES))]


def _import_page(
    request: Request,
    user: WebUser,
    *,
    plan: ImportPlan | None = None,
    content: bytes = b"",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        "people/employee_import.html",
        user,
        {
            "nav": "employees",
            "plan": plan,
            "message": ui.message,
            "error": error,
            "imported": bool(plan and plan.written),
            "content": base64.b64encode(content).decode() if plan and plan.importable else "",
            "max_kb": IMPORT_MAX_BYTES // 1024,
            "max_rows": IMPORT_MAX_ROWS,
            "job_titles_page": JOB_TITLES_PAGE,
        },
        status_code=status_code,
    )


@router.get("/employees/import", response_class=HTMLResponse)
def import_form(request: Request, user: StaffManager) -> Response:
    """Import af medarbejdere fra CSV / import employees from CSV."""
    return _import_page(request, user)


@router.post("/employees/import", response_class=HTMLResponse)
async def import_preview(
    request: Request,
    user: StaffManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    file: UploadFile | None = None,
) -> Response:
    """Forhåndsvisning: hver rækkes udfald / preview of every row's outcome."""
    if file is None or not file.filename:
        return _import_page(
            request, user, error=_("Vælg en CSV-fil at importere."), status_code=400
        )
    content = await file.read(IMPORT_MAX_BYTES + 1)
    if len(content) > IMPORT_MAX_BYTES:
        return _import_page(
            request,
            user,
            error=_("Filen er for stor; højst {kb} kB ad gangen. Del den op.").format(
                kb=IMPORT_MAX_BYTES // 1024
            ),
            status_code=413,
        )
    plan = plan_import(db, actor=user.actor, content=content, now=now)
    if plan.problem:
        return _import_page(request, user, error=ui.message(plan.problem), status_code=400)
    return _import_page(request, user, plan=plan, content=content)


@router.post("/employees/import/confirm", response_class=HTMLResponse)
def import_confirm(
    request: Request,
    user: StaffManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    content: Annotated[str, Form()] = "",
    digest: Annotated[str, Form()] = "",
) -> Response:
    """Gennemfør importen, alt eller intet / import, all or nothing."""
    try:
        data = base64.b64decode(content, validate=True)
    except ValueError:
        data = b""
    if not data or len(data) > IMPORT_MAX_BYTES:
        return _import_page(
            request,
            user,
            error=_("Upload filen igen; forhåndsvisningen er udløbet."),
            status_code=400,
        )
    plan = plan_import(db, actor=user.actor, content=data, now=now, commit_if=digest)
    if plan.problem:
        return _import_page(request, user, error=ui.message(plan.problem), status_code=400)
    if plan.written:
        return _import_page(request, user, plan=plan)
    if plan.digest != digest:
        error = _(
            "Data er ændret siden forhåndsvisningen; intet er gemt. Se den nye "
            "forhåndsvisning, og bekræft igen."
        )
        return _import_page(request, user, plan=plan, content=data, error=error, status_code=409)
    return _import_page(
        request,
        user,
        plan=plan,
        error=_("Intet er importeret: filen har fejl. Ret dem, og upload filen igen."),
        status_code=400,
    )


# --- the table of job titles -------------------------------------------------------------------


def _titles_page(
    request: Request,
    user: WebUser,
    table: job_titles.TitleTable,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ui.page(
        request,
        "people/job_titles.html",
        user,
        {
            "nav": "employees",
            "table": table,
            "defaults": sorted(job_titles.DEFAULT_TITLES.items()),
            "roles": job_titles.TITLE_ROLES,
            "values": values or {"title": "", "role": ""},
            "error": error,
            "done": done,
        },
        status_code=status_code,
    )


@router.get(JOB_TITLES_PAGE, response_class=HTMLResponse)
def job_title_table(
    request: Request, user: TitleManager, db: SessionDep, done: str | None = None
) -> Response:
    """Stillinger og roller: importens tabel / job titles and roles: the import's table."""
    messages = {"added": _("Stillingen er tilføjet."), "removed": _("Stillingen er fjernet.")}
    table = job_titles.list_job_titles(db, actor=user.actor)
    return _titles_page(request, user, table, done=messages.get(done or ""))


@router.post(JOB_TITLES_PAGE, response_class=HTMLResponse)
def add_job_title(
    request: Request,
    user: TitleManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    title: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
) -> Response:
    """Tilføj en stilling / add a job title."""
    try:
        with ui.savepoint(db):
            job_titles.add_job_title(db, actor=user.actor, title=title, role=role, now=now)
    except DomainError as exc:
        table = job_titles.list_job_titles(db, actor=user.actor)
        return _titles_page(
            request,
            user,
            table,
            values={"title": title, "role": role},
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(f"{JOB_TITLES_PAGE}?done=added", status_code=303)


@router.post(JOB_TITLES_PAGE + "/{row_id}/delete", response_class=HTMLResponse)
def remove_job_title(
    request: Request,
    row_id: str,
    user: TitleManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Fjern en stilling / remove a job title."""
    try:
        number = ascii_id(row_id)
        if number is None:
            raise job_titles.title_not_found()
        with ui.savepoint(db):
            job_titles.remove_job_title(db, actor=user.actor, row_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"{JOB_TITLES_PAGE}?done=removed", status_code=303)
