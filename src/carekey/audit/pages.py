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
from carekey.audit.actions import record_admin_action
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
    """The audit log's filter as typed in the form, and what it resolves to.

    ``messages`` say what could not be used and how to put it right; ``invalid`` is set when a
    value could not be read at all (then nothing is shown or exported, never everything), and
    ``matches_nothing`` when a value names nothing (a serial no door has)."""

    values: dict[str, str]
    query: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    matches_nothing: bool = False
    invalid: bool = False
    names: dict[str, str] = field(default_factory=dict)

    @property
    def querystring(self) -> str:
        """The filter as a query string, for the pager and the export links."""
        return urlencode({k: v for k, v in self.values.items() if v})

    def refuse(self, message: str) -> None:
        """A value that cannot be used: say so, and show nothing."""
        self.messages.append(message)
        self.invalid = True
        self.matches_nothing = True


def _raw(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def _id_of(found: AuditFilter, key: str, value: str | None, what: str) -> int | None:
    text = _raw(value, 20)
    found.values[key] = text
    if not text:
        return None
    number = formatting.query_int(text)
    if number is None or number < 1:
        found.refuse(
            _(
                "»{value}« er ikke et gyldigt nummer for {what}: et id er et helt, positivt tal. "
                "Fjern filteret, eller søg på navnet i stedet."
            ).format(value=text, what=what)
        )
    return number


def _date_of(found: AuditFilter, key: str, value: str | None, what: str) -> dt.date | None:
    text = _raw(value, 32)
    found.values[key] = text
    if not text:
        return None
    day = formatting.query_date(text)
    if day is None:
        found.refuse(
            _(
                "{what} »{value}« er ikke en dato. Skriv den som åååå-mm-dd, fx 2026-12-04, "
                "eller vælg den i kalenderen."
            ).format(value=text, what=what)
        )
    return day


def _audit_filter(
    db: Session,
    user: WebUser,
    *,
    employee: str | None,
    employee_id: str | None,
    citizen: str | None,
    citizen_id: str | None,
    door: str | None,
    door_id: str | None,
    date_from: str | None,
    date_to: str | None,
    action: str | None,
) -> AuditFilter:
    values = {
        "employee": _raw(employee, 100),
        "citizen": _raw(citizen, 200),
        "door": _raw(door, 32),
        "action": _raw(action, 64),
    }
    found = AuditFilter(values)
    by_employee = _id_of(found, "employee_id", employee_id, _("en medarbejder"))
    by_citizen = _id_of(found, "citizen_id", citizen_id, _("en borger"))
    by_door = _id_of(found, "door_id", door_id, _("en dør"))
    first = _date_of(found, "from", date_from, _("Fra-datoen"))
    last = _date_of(found, "to", date_to, _("Til-datoen"))
    if values["action"] and values["action"] not in {a.value for a in e.AuditAction}:
        found.refuse(
            _("Handlingen »{value}« findes ikke i loggen. Vælg en handling på listen.").format(
                value=values["action"]
            )
        )
    if by_employee is not None:
        found.query["employee_id"] = by_employee
    if values["employee"]:
        found.query["employee_text"] = values["employee"]
    if by_citizen is not None:
        found.query["citizen_id"] = by_citizen
    if values["citizen"]:
        found.query["citizen_text"] = values["citizen"]
    if by_door is not None:
        found.query["door_device_id"] = by_door
    elif values["door"] and not found.invalid:
        match = audit_log.door_by_serial(db, actor=user.actor, serial=values["door"])
        if match is None:
            found.matches_nothing = True
            found.messages.append(
                _(
                    "Ingen dør har serienummeret »{value}«. Tjek nummeret på dørens mærkat, "
                    "eller søg på borgerens adresse i stedet."
                ).format(value=values["door"])
            )
        else:
            found.query["door_device_id"] = match
    if first and last and last < first:
        first, last = last, first
        found.values["from"], found.values["to"] = first.isoformat(), last.isoformat()
    if first:
        found.query["since"] = dashboard.local_range(first, first)[0]
    if last:
        found.query["until"] = dashboard.local_range(last, last)[1]
    if values["action"] and not found.invalid:
        found.query["action"] = e.AuditAction(values["action"])
    if not found.invalid and (by_employee or by_citizen or by_door):
        names = audit_log.names_for_filter(
            db,
            actor=user.actor,
            employee_id=by_employee,
            citizen_id=by_citizen,
            door_device_id=by_door,
        )
        found.names = {
            k: v for k, v in zip(("employee", "citizen", "door"), names, strict=True) if v
        }
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
        citizen=params.get("citizen"),
        citizen_id=params.get("citizen_id"),
        door=params.get("door"),
        door_id=params.get("door_id"),
        date_from=date_from,
        date_to=date_to,
        action=params.get("action"),
    )


def _names_from_rows(found: AuditFilter, rows: list[audit_log.AuditRow]) -> None:
    """Name a filter by id from the rows it shows, where the service did not (a lead)."""
    for row in rows:
        if found.values["employee_id"] and row.employee_name:
            found.names.setdefault("employee", row.employee_name)
        if found.values["citizen_id"] and row.citizen_name:
            found.names.setdefault("citizen", row.citizen_name)
        if found.values["door_id"] and row.door_serial:
            found.names.setdefault("door", row.door_serial)


def _log_page(
    request: Request,
    user: WebUser,
    found: AuditFilter,
    *,
    rows: list[audit_log.AuditRow] | None = None,
    has_more: bool = False,
    offset: int = 0,
    too_large: bool = False,
    status_code: int = 200,
) -> Response:
    _names_from_rows(found, rows or [])
    return render(
        request,
        "overview/audit.html",
        {
            "nav": "audit",
            "rows": rows or [],
            "has_more": has_more,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "found": found,
            "actions": list(e.AuditAction),
            "xlsx_max_rows": export.XLSX_MAX_ROWS,
            "too_large": too_large,
            **_helpers(),
        },
        user=user,
        status_code=422 if found.invalid else status_code,
    )


# --- the log and its export --------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, user: AuditReader, db: SessionDep, offset: str | None = None
) -> Response:
    """Log / the audit log: filter by employee (name or number), citizen (name or address),
    door, time and action; export. A value that cannot be read is a 422 with what to fix."""
    found = _filter_of(request, db, user)
    start = formatting.query_int(offset) or 0
    if found.matches_nothing:
        return _log_page(request, user, found, offset=start)
    page = audit_log.query_audit(db, actor=user.actor, limit=PAGE_SIZE, offset=start, **found.query)
    return _log_page(request, user, found, rows=page.rows, has_more=page.has_more, offset=start)


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")


@router.get("/audit.csv")
@writes_on_read
def audit_csv_export(
    request: Request, user: AuditExporter, db: SessionDep, now: NowDep
) -> Response:
    """The filtered audit log as CSV for Danish Excel (BOM, semicolons, Danish header)."""
    found = _filter_of(request, db, user)
    if found.invalid:  # never "everything" for a filter that could not be read
        return _log_page(request, user, found)
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
    if found.invalid:  # never "everything" for a filter that could not be read
        return _log_page(request, user, found)
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
        return _log_page(request, user, found, too_large=True, status_code=422)
    export.record_export(db, actor=user.actor, now=now, filters=found.query)
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="revisionslog-{_stamp(now)}.xlsx"'},
    )


# --- who has been in this home -----------------------------------------------------------------


@router.get("/citizens/{citizen_id}/report", response_class=HTMLResponse)
@writes_on_read
def citizen_report(
    request: Request,
    citizen_id: str,
    user: AuditReader,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Hvem har været i hjemmet / who has been in this home: visits with names and times in and
    out, turns of the citizen's own key and refusals, for a period (default this week);
    printable. Every opening is itself a line in the log of administrative actions
    (``audit.home_report_viewed``, the citizen as target, the period in the details): it shows
    who cares for a person at home."""
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
    messages: list[str] = []
    for typed, what in ((date_from, _("Fra-datoen")), (date_to, _("Til-datoen"))):
        if typed and typed.strip() and formatting.query_date(typed) is None:
            messages.append(
                _(
                    "{what} »{value}« er ikke en dato; rapporten viser derfor denne uge. Skriv "
                    "datoen som åååå-mm-dd, fx 2026-12-04."
                ).format(what=what, value=typed.strip()[:32])
            )
    if not messages:
        first = formatting.query_date(date_from) or first
        last = formatting.query_date(date_to) or last
    if last < first:
        first, last = last, first
    if (last - first).days > 366:
        last = first + dt.timedelta(days=366)
        messages.append(_("Rapporten dækker højst et år; perioden er kortet af."))
    since, until = dashboard.local_range(first, last)
    entries = dashboard.home_visits(
        db, actor=user.actor, citizen_id=citizen.citizen.id, since=since, until=until
    )
    # Who opened whose home report, and for which period, is itself in the log.
    record_admin_action(
        db,
        actor=user.actor,
        municipality_id=user.actor.municipality_id,
        action="audit.home_report_viewed",
        target_type="citizen",
        target_id=citizen.citizen.id,
        now=now,
        details={"from": first.isoformat(), "to": last.isoformat()},
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
            "messages": messages,
            "municipality": dashboard.municipality_name(db, actor=user.actor),
            **_helpers(),
        },
        user=user,
    )
