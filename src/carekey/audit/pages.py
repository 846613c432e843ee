"""The administration's audit log pages: the log with its filter, its CSV and Excel export, and
the printable "who has been in this home" report of one citizen.

Rows come from ``audit.service``, files from ``audit.export``, the report's visits from
``dashboard.service``. The filter is read leniently: a bad date, number, employee number or
serial is ignored or matches nothing, with a message, never a JSON error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.adminui import formatting, i18n
from carekey.adminui.deps import RoleRequiredError, permits, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.audit import export
from carekey.audit import service as audit_log
from carekey.citizens.service import get_citizen
from carekey.clock import COPENHAGEN
from carekey.dashboard import service as dashboard
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, NotFoundError
from carekey.http.deps import NowDep, SessionDep, writes_on_read
from carekey.store.db import declare_writes

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
AuditReader = Annotated[WebUser, Depends(permits(Action.READ_AUDIT))]
AuditExporter = Annotated[WebUser, Depends(permits(Action.EXPORT_AUDIT))]


def action_label(action: e.AuditAction) -> str:
    """What happened, in the user's language (the texts live with the audit log)."""
    return formatting.pair_label(audit_log.action_text(action))


def _helpers() -> dict[str, Any]:
    return {**formatting.formatters(), "action_label": action_label}


# --- the filter --------------------------------------------------------------------------------


@dataclass
class AuditFilter:
    """The audit log's filter as typed in the form, and what it resolves to."""

    values: dict[str, str]
    query: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    matches_nothing: bool = False

    @property
    def querystring(self) -> str:
        """The filter as a query string, for the pager and the export links."""
        return urlencode({k: v for k, v in self.values.items() if v})


def _audit_filter(
    db: Session,
    user: WebUser,
    *,
    employee: str | None,
    employee_id: str | None,
    citizen_id: str | None,
    door: str | None,
    door_id: str | None,
    date_from: str | None,
    date_to: str | None,
    action: str | None,
) -> AuditFilter:
    number = formatting.query_int
    values = {
        "employee": (employee or "").strip()[:32],
        "employee_id": str(number(employee_id) or ""),
        "citizen_id": str(number(citizen_id) or ""),
        "door": (door or "").strip()[:32],
        "door_id": str(number(door_id) or ""),
        "from": "",
        "to": "",
        "action": action if action in {a.value for a in e.AuditAction} else "",
    }
    found = AuditFilter(values)
    if values["employee_id"]:
        found.query["employee_id"] = int(values["employee_id"])
    elif values["employee"]:
        match = audit_log.employee_by_number(
            db, actor=user.actor, employee_number=values["employee"]
        )
        if match is None:
            found.matches_nothing = True
            found.messages.append(_("Ingen medarbejder har det medarbejdernummer."))
        else:
            found.query["employee_id"] = match
    if values["citizen_id"]:
        found.query["citizen_id"] = int(values["citizen_id"])
    if values["door_id"]:
        found.query["door_device_id"] = int(values["door_id"])
    elif values["door"]:
        match = audit_log.door_by_serial(db, actor=user.actor, serial=values["door"])
        if match is None:
            found.matches_nothing = True
            found.messages.append(_("Ingen dør har det serienummer."))
        else:
            found.query["door_device_id"] = match
    first, last = formatting.query_date(date_from), formatting.query_date(date_to)
    if (date_from and date_from.strip() and first is None) or (
        date_to and date_to.strip() and last is None
    ):
        found.messages.append(_("En dato kunne ikke læses; brug formatet åååå-mm-dd."))
    if first and last and last < first:
        first, last = last, first
    if first:
        values["from"] = first.isoformat()
        found.query["since"] = dashboard.local_range(first, first)[0]
    if last:
        values["to"] = last.isoformat()
        found.query["until"] = dashboard.local_range(last, last)[1]
    if values["action"]:
        found.query["action"] = e.AuditAction(values["action"])
    return found


def _dates(request: Request) -> tuple[str | None, str | None]:
    return request.query_params.get("from"), request.query_params.get("to")


def _filter_of(request: Request, db: Session, user: WebUser) -> AuditFilter:
    params = request.query_params
    date_from, date_to = _dates(request)
    return _audit_filter(
        db,
        user,
        employee=params.get("employee"),
        employee_id=params.get("employee_id"),
        citizen_id=params.get("citizen_id"),
        door=params.get("door"),
        door_id=params.get("door_id"),
        date_from=date_from,
        date_to=date_to,
        action=params.get("action"),
    )


# --- the log and its export --------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, user: AuditReader, db: SessionDep, offset: str | None = None
) -> Response:
    """Log / the audit log: filter by employee, citizen, door, time and action; export."""
    found = _filter_of(request, db, user)
    rows: list[audit_log.AuditRow] = []
    has_more = False
    start = formatting.query_int(offset) or 0
    if not found.matches_nothing:
        page = audit_log.query_audit(
            db, actor=user.actor, limit=PAGE_SIZE, offset=start, **found.query
        )
        rows, has_more = page.rows, page.has_more
    return render(
        request,
        "overview/audit.html",
        {
            "nav": "audit",
            "rows": rows,
            "has_more": has_more,
            "offset": start,
            "page_size": PAGE_SIZE,
            "found": found,
            "actions": list(e.AuditAction),
            "xlsx_max_rows": export.XLSX_MAX_ROWS,
            **_helpers(),
        },
        user=user,
    )


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")


@router.get("/audit.csv")
@writes_on_read
def audit_csv_export(
    request: Request, user: AuditExporter, db: SessionDep, now: NowDep
) -> Response:
    """The filtered audit log as CSV for Danish Excel (BOM, semicolons, Danish header)."""
    found = _filter_of(request, db, user)
    export.record_export(db, actor=user.actor, now=now, filters=found.query)
    actor, query, nothing = user.actor, dict(found.query), found.matches_nothing
    # The stream runs after the request: take the request's language along.
    language = i18n.current_language()

    def stream() -> Iterator[str]:
        # The response is sent after the request's session has committed and closed, so the
        # export reads through a session of its own, in one read-only transaction.
        with request.app.state.sessions() as own, own.begin():
            declare_writes(own, False)
            rows = iter(()) if nothing else audit_log.iter_audit(own, actor=actor, **query)
            yield from export.audit_csv(rows, language)

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="revisionslog-{_stamp(now)}.csv"'},
    )


@router.get("/audit.xlsx")
@writes_on_read
def audit_xlsx_export(
    request: Request, user: AuditExporter, db: SessionDep, now: NowDep
) -> Response:
    """The filtered audit log as an Excel workbook (at most ``export.XLSX_MAX_ROWS`` rows)."""
    found = _filter_of(request, db, user)
    limit = export.XLSX_MAX_ROWS
    if found.matches_nothing:
        content = export.audit_xlsx((), max_rows=limit, language=i18n.current_language())
    else:
        content = export.audit_workbook(
            db,
            actor=user.actor,
            filters=found.query,
            max_rows=limit,
            language=i18n.current_language(),
        )
    if content is None:
        found.messages.append(
            _(
                "Udtrækket har mere end {limit} rækker, som er grænsen for Excel-filer. "
                "Indsnævr filteret (fx tidsrummet), eller hent CSV-filen, som ikke har "
                "nogen grænse."
            ).format(limit=formatting.number(limit))
        )
        return render(
            request,
            "overview/audit.html",
            {
                "nav": "audit",
                "rows": [],
                "has_more": False,
                "offset": 0,
                "page_size": PAGE_SIZE,
                "found": found,
                "actions": list(e.AuditAction),
                "xlsx_max_rows": limit,
                "too_large": True,
                **_helpers(),
            },
            user=user,
            status_code=422,
        )
    export.record_export(db, actor=user.actor, now=now, filters=found.query)
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="revisionslog-{_stamp(now)}.xlsx"'},
    )


# --- who has been in this home -----------------------------------------------------------------


@router.get("/citizens/{citizen_id}/report", response_class=HTMLResponse)
def citizen_report(
    request: Request,
    citizen_id: str,
    user: AuditReader,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Hvem har været i hjemmet / who has been in this home: visits with names and times in and
    out, turns of the citizen's own key and refusals, for a period (default this week);
    printable."""
    number = formatting.query_int(citizen_id)
    try:
        if number is None:
            raise NotFoundError("citizen.not_found", "Borgeren findes ikke.", "No such citizen.")
        citizen = get_citizen(db, actor=user.actor, citizen_id=number)
    except NotFoundError:
        return formatting.not_found_page(request, user, _("Borgeren findes ikke."))
    except ForbiddenError as exc:
        raise RoleRequiredError from exc
    date_from, date_to = _dates(request)
    first, last = dashboard.this_week(now)
    first = formatting.query_date(date_from) or first
    last = formatting.query_date(date_to) or last
    if last < first:
        first, last = last, first
    if (last - first).days > 366:
        last = first + dt.timedelta(days=366)
    since, until = dashboard.local_range(first, last)
    entries = dashboard.home_visits(
        db, actor=user.actor, citizen_id=citizen.citizen.id, since=since, until=until
    )
    return render(
        request,
        "overview/report.html",
        {
            "nav": "citizens",
            "view": citizen,
            "entries": entries,
            "visits": sum(1 for x in entries if x.kind == "visit"),
            "first": first,
            "last": last,
            "municipality": dashboard.municipality_name(db, actor=user.actor),
            **_helpers(),
        },
        user=user,
    )
