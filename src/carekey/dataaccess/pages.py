"""The administration's pages of the right of access (docs/access-report.md).

- ``/citizens/{id}/access-report``: the request form (who asked, on what basis, a reference,
  the period), then the printable report; ``.json`` and ``.csv`` give the same report as files.
- ``/employees/{id}/data``: everything held about an employee, printable; ``.json`` as a file.
- ``/account/data``: "Mine data", the same about oneself, for any municipal office user.

Every report shown or downloaded is a line in the log of administrative actions.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.adminui import formatting, i18n
from carekey.adminui.deps import RoleRequiredError, WebUserDep, permits, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.pages import labels
from carekey.adminui.security import WebUser
from carekey.audit.service import action_text
from carekey.clock import COPENHAGEN
from carekey.dataaccess import service
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, NotFoundError
from carekey.http.deps import NowDep, SessionDep, writes_on_read

router = APIRouter(include_in_schema=False)

CitizenReporter = Annotated[WebUser, Depends(permits(Action.PRIVACY_ACCESS_REPORT))]
EmployeeReporter = Annotated[WebUser, Depends(permits(Action.PRIVACY_EMPLOYEE_REPORT))]


def _helpers() -> dict[str, Any]:
    return {
        **formatting.formatters(),
        "bases": service.BASES,
        "role_words": lambda roles: service.role_words(roles, i18n.current_language()),
        "pair": formatting.pair_label,
        "event_label": lambda action: formatting.pair_label(action_text(e.AuditAction(action))),
        "when": _when,
        "labels": labels(),
        "key_kinds": {
            "home": _("Hjem"),
            "entrance": _("Opgang"),
            "gate": _("Port"),
            "emergency_key": _("Akutnøgle"),
        },
    }


def _when(text: str | None) -> str:
    """A UTC time of the export (``...Z``) in Danish time, for the page."""
    if not text:
        return "–"
    at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at.astimezone(COPENHAGEN).strftime("%d.%m.%Y %H:%M")


def _citizen_name(request: Request, db: Session, user: WebUser, citizen_id: str) -> Any:
    number = formatting.query_int(citizen_id)
    try:
        if number is None:
            raise NotFoundError("citizen.not_found", "Borgeren findes ikke.", "No such citizen.")
        return number, service.citizen_name(db, actor=user.actor, citizen_id=number)
    except NotFoundError:
        return formatting.not_found_page(request, user, _("Borgeren findes ikke.")), None
    except ForbiddenError as exc:
        raise RoleRequiredError from exc


def _values(request: Request) -> dict[str, str]:
    params = request.query_params
    return {
        key: (params.get(key) or "").strip()[:200]
        for key in ("basis", "requested_by", "reference", "from", "to")
    }


def _made(
    request: Request, db: Session, user: WebUser, citizen_id: str, now: Any
) -> tuple[Response | None, service.CitizenReport | None]:
    """The report the query asks for, or the form (with what to fix) when it asks for none."""
    number, name = _citizen_name(request, db, user, citizen_id)
    if name is None:
        return number, None
    values = _values(request)
    first, last = service.default_period(now)
    error = None
    if values["basis"]:
        try:
            asked = service.access_request(
                basis=values["basis"],
                requested_by=values["requested_by"],
                reference=values["reference"],
                first=formatting.query_date(values["from"]),
                last=formatting.query_date(values["to"]),
                citizen_name=name,
            )
            report = service.citizen_report(
                db, actor=user.actor, citizen_id=number, request=asked, now=now
            )
            return None, report
        except service.AccessRequestError as exc:
            error = exc.message_da if i18n.current_language() == "da" else exc.message_en
    values.setdefault("from", "")
    form = render(
        request,
        "dataaccess/citizen_form.html",
        {
            "nav": "citizens",
            "citizen_id": number,
            "citizen_name": name,
            "values": values,
            "first": values["from"] or first.isoformat(),
            "last": values["to"] or last.isoformat(),
            "error": error,
            **_helpers(),
        },
        user=user,
        status_code=422 if error else 200,
    )
    return form, None


@router.get("/citizens/{citizen_id}/access-report", response_class=HTMLResponse)
@writes_on_read
def citizen_access_report(
    request: Request, citizen_id: str, user: CitizenReporter, db: SessionDep, now: NowDep
) -> Response:
    """Indsigtsrapport / the citizen's access report (GDPR art. 15): the form, then the
    printable report of everyone who opened the home lock in the period. Logged."""
    form, report = _made(request, db, user, citizen_id, now)
    if report is None:
        assert form is not None
        return form
    return render(
        request,
        "dataaccess/citizen_report.html",
        {
            "nav": "citizens",
            "report": report,
            "query": request.url.query,
            "made_at": now,
            **_helpers(),
        },
        user=user,
    )


def _download(content: str, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/citizens/{citizen_id}/access-report.json")
@writes_on_read
def citizen_access_report_json(
    request: Request, citizen_id: str, user: CitizenReporter, db: SessionDep, now: NowDep
) -> Response:
    """The citizen's access report as a JSON file (the same query as the page). Logged."""
    form, report = _made(request, db, user, citizen_id, now)
    if report is None:
        assert form is not None
        return form
    body = json.dumps(report.to_json(), ensure_ascii=False, indent=2)
    return _download(
        body, "application/json; charset=utf-8", f"indsigt-borger-{report.citizen_id}.json"
    )


@router.get("/citizens/{citizen_id}/access-report.csv")
@writes_on_read
def citizen_access_report_csv(
    request: Request, citizen_id: str, user: CitizenReporter, db: SessionDep, now: NowDep
) -> Response:
    """The home lock's events of the report as CSV for Danish Excel. Logged."""
    form, report = _made(request, db, user, citizen_id, now)
    if report is None:
        assert form is not None
        return form
    return _download(
        report.to_csv(i18n.current_language()),
        "text/csv; charset=utf-8",
        f"indsigt-borger-{report.citizen_id}.csv",
    )


# --- an employee's own data --------------------------------------------------------------------


def _employee_report(
    request: Request, db: Session, user: WebUser, employee_id: int | None, now: Any
) -> tuple[Response | None, service.EmployeeReport | None]:
    if employee_id is None:
        return formatting.not_found_page(request, user, _("Medarbejderen findes ikke.")), None
    try:
        reason = (request.query_params.get("reason") or "").strip()[:2000] or None
        made = service.employee_report(
            db, actor=user.actor, employee_id=employee_id, now=now, reason=reason
        )
    except NotFoundError:
        return formatting.not_found_page(request, user, _("Medarbejderen findes ikke.")), None
    except ForbiddenError as exc:
        raise RoleRequiredError from exc
    return None, made


def _employee_page(
    request: Request, user: WebUser, report: service.EmployeeReport, *, own: bool
) -> Response:
    data = report.to_json()
    return render(
        request,
        "dataaccess/employee_report.html",
        {
            "nav": "employees",
            "d": data,
            "own": own,
            "json_href": "/account/data.json"
            if own
            else f"/employees/{data['employee']['id']}/data.json",
            **_helpers(),
        },
        user=user,
    )


def _employee_json(report: service.EmployeeReport) -> Response:
    body = json.dumps(report.to_json(), ensure_ascii=False, indent=2)
    number = report.data["employee"]["id"]
    return _download(body, "application/json; charset=utf-8", f"medarbejderdata-{number}.json")


@router.get("/employees/{employee_id}/data", response_class=HTMLResponse)
@writes_on_read
def employee_data(
    request: Request, employee_id: str, user: EmployeeReporter, db: SessionDep, now: NowDep
) -> Response:
    """Medarbejderens data / everything held about an employee, printable. Logged."""
    page, report = _employee_report(request, db, user, formatting.query_int(employee_id), now)
    if report is None:
        assert page is not None
        return page
    return _employee_page(request, user, report, own=False)


@router.get("/employees/{employee_id}/data.json")
@writes_on_read
def employee_data_json(
    request: Request, employee_id: str, user: EmployeeReporter, db: SessionDep, now: NowDep
) -> Response:
    """The employee's data as a JSON file. Logged."""
    page, report = _employee_report(request, db, user, formatting.query_int(employee_id), now)
    if report is None:
        assert page is not None
        return page
    return _employee_json(report)


def _own(user: WebUser) -> None:
    # "Mine data" is the municipality's answer to its own staff: another party's user asks
    # their own organisation (docs/access-report.md).
    if user.actor.association_id is not None or user.actor.company_id is not None:
        raise RoleRequiredError


@router.get("/account/data", response_class=HTMLResponse)
@writes_on_read
def own_data(request: Request, user: WebUserDep, db: SessionDep, now: NowDep) -> Response:
    """Mine data / my own data: everything CareKey holds about the signed-in employee."""
    _own(user)
    page, report = _employee_report(request, db, user, user.actor.employee_id, now)
    if report is None:
        assert page is not None
        return page
    return _employee_page(request, user, report, own=True)


@router.get("/account/data.json")
@writes_on_read
def own_data_json(request: Request, user: WebUserDep, db: SessionDep, now: NowDep) -> Response:
    """My own data as a JSON file."""
    _own(user)
    page, report = _employee_report(request, db, user, user.actor.employee_id, now)
    if report is None:
        assert page is not None
        return page
    return _employee_json(report)
