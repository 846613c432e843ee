"""Pages of the administration: the dashboard, the doors, the audit log (with CSV and Excel
export) and the printable "who has been in this home" report of one citizen.

Handlers stay thin: figures come from ``services.dashboard``, log rows from
``services.audit_log``. Query parameters are read leniently (a bad date or number is ignored
with a message) so that a hand-edited address never ends in a JSON error.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

# openpyxl ships no type information and types-openpyxl is not a dev dependency (yet).
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from sqlalchemy import select

from carekey.access import Action
from carekey.adminui import i18n
from carekey.adminui.deps import RoleRequiredError, permits, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.audit import service as audit_log
from carekey.audit.actions import record_admin_action
from carekey.citizens.service import get_citizen
from carekey.clock import COPENHAGEN
from carekey.dashboard import service as dashboard
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, NotFoundError
from carekey.domain.values import ascii_number
from carekey.doors.service import LOW_BATTERY_PCT
from carekey.http.deps import NowDep, SessionDep
from carekey.server.admin_app import municipality_name
from carekey.store import models as m

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
XLSX_MAX_ROWS = 50_000
"""An Excel export holds at most this many rows; beyond it the office narrows the filter or
takes the CSV, which streams without limit."""

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
DashboardReader = Annotated[WebUser, Depends(permits(Action.READ_DASHBOARD))]
DoorReader = Annotated[WebUser, Depends(permits(Action.READ_DOORS))]
AuditReader = Annotated[WebUser, Depends(permits(Action.READ_AUDIT))]
AuditExporter = Annotated[WebUser, Depends(permits(Action.EXPORT_AUDIT))]


def kind_label(kind: e.DoorKind | None) -> str:
    """The door kind in the user's language."""
    return (
        {
            e.DoorKind.HOME_LOCK: _("Hoveddør"),
            e.DoorKind.ENTRANCE_CONTROLLER: _("Opgangsdør"),
            e.DoorKind.GATE_CONTROLLER: _("Port"),
        }.get(kind, "")
        if kind
        else ""
    )


def status_label(status: e.DoorStatus) -> str:
    """The door status in the user's language."""
    return {
        e.DoorStatus.STOCK: _("På lager"),
        e.DoorStatus.INSTALLED: _("Monteret"),
        e.DoorStatus.COMMISSIONED: _("Idriftsat"),
        e.DoorStatus.ACTIVE: _("Aktiv"),
        e.DoorStatus.FAULTY: _("Fejl"),
        e.DoorStatus.DECOMMISSIONED: _("Taget ned"),
    }[status]


def action_label(action: e.AuditAction) -> str:
    """What happened, in the user's language (the texts live with the audit log)."""
    da, en = audit_log.ACTION_TEXT.get(action, (str(action), str(action)))
    return en if i18n.current_language() == "en" else da


def pair_label(pair: tuple[str, str] | None) -> str:
    """A (Danish, English) pair in the user's language."""
    if pair is None:
        return ""
    return pair[1] if i18n.current_language() == "en" else pair[0]


def number(value: float | None, decimals: int = 0, *, sign: bool = False) -> str:
    """A number in the user's language: "1.234,5" in Danish, "1,234.5" in English; with
    ``sign`` a plus in front of positive numbers ("+2,5")."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    if sign:
        pattern = f"+{pattern};-{pattern}"
    return str(format_decimal(value, format=pattern, locale=i18n.current_language()))


def percent(value: float | None) -> str:
    """A percentage the way the language writes it: "15 %" in Danish, "15%" in English."""
    if value is None:
        return ""
    return f"{number(value)}%" if i18n.current_language() == "en" else f"{number(value)}\u00a0%"


def seconds(milliseconds: float | None, *, sign: bool = False) -> str:
    """Milliseconds as seconds with one decimal: "+2,5 s" in Danish, "+2.5 s" in English."""
    if milliseconds is None:
        return ""
    return f"{number(milliseconds / 1000, 1, sign=sign)}\u00a0s"


def revocation_label(kind: str) -> str:
    """What was revoked, in the user's language."""
    return {
        "phone": _("Telefon spærret"),
        "employee": _("Medarbejder spærret"),
        "emergency": _("Akutnøgle trukket tilbage"),
        "citizen": _("Borger fjernet"),
    }.get(kind, _("Nøgler trukket tilbage"))


def _helpers() -> dict[str, Any]:
    return {
        "kind_label": kind_label,
        "status_label": status_label,
        "action_label": action_label,
        "pair_label": pair_label,
        "revocation_label": revocation_label,
        "number": number,
        "percent": percent,
        "seconds": seconds,
        "low_battery_pct": LOW_BATTERY_PCT,
        "drift_ms": dashboard.CLOCK_DRIFT_MS,
        "left_unlocked_min": int(dashboard.LEFT_UNLOCKED_AFTER.total_seconds() // 60),
    }


def _not_found(request: Request, user: WebUser, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"title": _("Ikke fundet"), "message": message},
        user=user,
        status_code=404,
    )


def _int(value: str | None) -> int | None:
    return ascii_number(value)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


def _flag(value: str | None) -> bool:
    return value in ("1", "on", "true", "ja")


# --- dashboard ---------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, user: DashboardReader, db: SessionDep, now: NowDep
) -> Response:
    """Overblik / dashboard: today's figures and the doors that need attention."""
    figures = dashboard.dashboard(db, actor=user.actor, now=now)
    return render(
        request,
        "overview/dashboard.html",
        {
            "nav": "dashboard",
            "d": figures,
            "revocations_shown": figures.revocations[: dashboard.ALERT_LIST],
            "municipality": municipality_name(db, user.actor.municipality_id),
            "scoped": user.actor.roles.isdisjoint({e.Role.ADMINISTRATOR}),
            **_helpers(),
        },
        user=user,
    )


# --- doors -------------------------------------------------------------------------------------


@router.get("/doors", response_class=HTMLResponse)
def doors_page(
    request: Request,
    user: DoorReader,
    db: SessionDep,
    now: NowDep,
    kind: str | None = None,
    status: str | None = None,
    serial: str | None = None,
    low_battery: str | None = None,
    drifting: str | None = None,
    stale: str | None = None,
    exposed: str | None = None,
    offset: str | None = None,
) -> Response:
    """Døre / doors: battery, firmware, last contact, clock, denylist version, event counts."""
    kinds = {k.value: k for k in e.DoorKind}
    statuses = {s.value: s for s in e.DoorStatus}
    filters = {
        "kind": kind if kind in kinds else "",
        "status": status if status in statuses else "",
        "serial": (serial or "").strip()[:32],
        "low_battery": "1" if _flag(low_battery) else "",
        "drifting": "1" if _flag(drifting) else "",
        "stale": "1" if _flag(stale) else "",
        "exposed": "1" if _flag(exposed) else "",
    }
    page = dashboard.list_doors(
        db,
        actor=user.actor,
        now=now,
        kind=kinds.get(filters["kind"]),
        status=statuses.get(filters["status"]),
        serial=filters["serial"] or None,
        low_battery=bool(filters["low_battery"]),
        drifting=bool(filters["drifting"]),
        stale_denylist=bool(filters["stale"]),
        exposed=bool(filters["exposed"]),
        limit=PAGE_SIZE,
        offset=_int(offset) or 0,
    )
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "overview/doors.html",
        {
            "nav": "doors",
            "page": page,
            "filters": filters,
            "query": query,
            "kinds": list(e.DoorKind),
            "statuses": list(e.DoorStatus),
            "denylist_version": dashboard.current_denylist_version(db, user.actor.municipality_id),
            **_helpers(),
        },
        user=user,
    )


@router.get("/doors/{door_id}", response_class=HTMLResponse)
def door_page(
    request: Request, door_id: str, user: DoorReader, db: SessionDep, now: NowDep
) -> Response:
    """Én dør / one door: details, exposure after a revocation, and its latest events."""
    number = _int(door_id)
    try:
        if number is None:
            raise NotFoundError("door.not_found", "", "")
        detail = dashboard.get_door(db, actor=user.actor, door_id=number, now=now)
    except NotFoundError:
        return _not_found(request, user, _("Døren findes ikke."))
    except ForbiddenError as exc:
        raise RoleRequiredError from exc
    events = audit_log.query_audit(db, actor=user.actor, door_device_id=number, limit=25)
    return render(
        request,
        "overview/door.html",
        {"nav": "doors", "detail": detail, "door": detail.door, "events": events, **_helpers()},
        user=user,
    )


# --- the audit log -----------------------------------------------------------------------------


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
    db: SessionDep,
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
    municipality_id = user.actor.municipality_id
    values = {
        "employee": (employee or "").strip()[:32],
        "employee_id": str(_int(employee_id) or ""),
        "citizen_id": str(_int(citizen_id) or ""),
        "door": (door or "").strip()[:32],
        "door_id": str(_int(door_id) or ""),
        "from": "",
        "to": "",
        "action": action if action in {a.value for a in e.AuditAction} else "",
    }
    found = AuditFilter(values)
    if values["employee_id"]:
        found.query["employee_id"] = int(values["employee_id"])
    elif values["employee"]:
        match = db.execute(
            select(m.Employee.id)
            .where(m.Employee.municipality_id == municipality_id)
            .where(m.Employee.employee_number == values["employee"])
        ).scalar()
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
        match = db.execute(
            select(m.DoorDevice.id)
            .where(m.DoorDevice.municipality_id == municipality_id)
            .where(m.DoorDevice.serial == values["door"].upper())
        ).scalar()
        if match is None:
            found.matches_nothing = True
            found.messages.append(_("Ingen dør har det serienummer."))
        else:
            found.query["door_device_id"] = match
    first, last = _date(date_from), _date(date_to)
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


def _filter_of(request: Request, db: SessionDep, user: WebUser) -> AuditFilter:
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


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, user: AuditReader, db: SessionDep, offset: str | None = None
) -> Response:
    """Log / the audit log: filter by employee, citizen, door, time and action; export."""
    found = _filter_of(request, db, user)
    rows: list[audit_log.AuditRow] = []
    has_more = False
    start = _int(offset) or 0
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
            "xlsx_max_rows": XLSX_MAX_ROWS,
            **_helpers(),
        },
        user=user,
    )


def _record_export(db: SessionDep, user: WebUser, now: dt.datetime, found: AuditFilter) -> None:
    # Exporting personal data is itself an action worth a line in the log.
    record_admin_action(
        db,
        actor=user.actor,
        municipality_id=user.actor.municipality_id,
        action="audit.exported",
        target_type="audit_log",
        target_id=user.actor.municipality_id,
        now=now,
        details={k: (str(v) if v is not None else None) for k, v in found.query.items()},
    )


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")


@router.get("/audit.csv")
def audit_csv_export(
    request: Request, user: AuditExporter, db: SessionDep, now: NowDep
) -> Response:
    """The filtered audit log as CSV for Danish Excel (BOM, semicolons, Danish header)."""
    found = _filter_of(request, db, user)
    _record_export(db, user, now, found)
    actor, query, nothing = user.actor, dict(found.query), found.matches_nothing

    def stream() -> Iterator[str]:
        # The response is sent after the request's session has committed and closed, so the
        # export reads through a session of its own, in one read-only transaction.
        with request.app.state.sessions() as own, own.begin():
            rows = iter(()) if nothing else audit_log.iter_audit(own, actor=actor, **query)
            yield from audit_log.audit_csv(rows)

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="revisionslog-{_stamp(now)}.csv"'},
    )


def audit_xlsx(
    rows: Iterable[audit_log.AuditRow], *, max_rows: int = XLSX_MAX_ROWS
) -> bytes | None:
    """The audit log as an Excel workbook with the CSV's Danish header, or None when there are
    more than ``max_rows`` rows. Times are real Excel date-times in Danish time; people's names
    are always text, never formulas."""
    taken: list[audit_log.AuditRow] = []
    more = False
    # Read to the end even past the limit: stopping a server-side cursor half-way leaves it open.
    for row in rows:
        if len(taken) < max_rows:
            taken.append(row)
        else:
            more = True
    if more:
        return None
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Revisionslog")
    sheet.freeze_panes = "A2"
    widths = (19, 22, 22, 28, 26, 16, 24, 24, 16, 14, 40, 8, 14, 20)
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[_column(number)].width = width
    bold = Font(bold=True)
    header = []
    for title in audit_log.CSV_HEADER:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in taken:
        cells: list[Any] = []
        for index, text in enumerate(row.to_csv()):
            if index == 0:
                when = WriteOnlyCell(sheet, value=row.local_time.replace(tzinfo=None))
                when.number_format = "yyyy-mm-dd hh:mm:ss"
                cells.append(when)
            elif index == 12 and row.door_seq is not None:
                cells.append(row.door_seq)
            else:
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"  # never a formula, whatever a name starts with
                cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column(number: int) -> str:
    return chr(ord("A") + number - 1)


@router.get("/audit.xlsx")
def audit_xlsx_export(
    request: Request, user: AuditExporter, db: SessionDep, now: NowDep
) -> Response:
    """The filtered audit log as an Excel workbook (at most ``XLSX_MAX_ROWS`` rows)."""
    found = _filter_of(request, db, user)
    content: bytes | None = b""
    if found.matches_nothing:
        content = audit_xlsx((), max_rows=XLSX_MAX_ROWS)
    else:
        # One cheap look past the limit first, so a huge filter is refused without reading it.
        beyond = audit_log.query_audit(
            db, actor=user.actor, limit=1, offset=XLSX_MAX_ROWS, **found.query
        )
        if beyond.rows:
            content = None
        else:
            rows = audit_log.iter_audit(db, actor=user.actor, **found.query)
            content = audit_xlsx(rows, max_rows=XLSX_MAX_ROWS)
    if content is None:
        found.messages.append(
            _(
                "Udtrækket har mere end {limit} rækker, som er grænsen for Excel-filer. "
                "Indsnævr filteret (fx tidsrummet), eller hent CSV-filen, som ikke har "
                "nogen grænse."
            ).format(limit=number(XLSX_MAX_ROWS))
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
                "xlsx_max_rows": XLSX_MAX_ROWS,
                "too_large": True,
                **_helpers(),
            },
            user=user,
            status_code=422,
        )
    _record_export(db, user, now, found)
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
    number = _int(citizen_id)
    try:
        if number is None:
            raise NotFoundError("citizen.not_found", "", "")
        citizen = get_citizen(db, actor=user.actor, citizen_id=number)
    except NotFoundError:
        return _not_found(request, user, _("Borgeren findes ikke."))
    except ForbiddenError as exc:
        raise RoleRequiredError from exc
    date_from, date_to = _dates(request)
    first, last = dashboard.this_week(now)
    first = _date(date_from) or first
    last = _date(date_to) or last
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
            "municipality": municipality_name(db, user.actor.municipality_id),
            **_helpers(),
        },
        user=user,
    )
