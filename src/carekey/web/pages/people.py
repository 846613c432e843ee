"""Pages of the administration: employees (with CSV import), phones (enrolment, one-click block
of a lost phone), districts, citizens (one-click removal of the address) and emergency keys.

Thin, like the JSON API: every page calls the use cases of ``services.admin``,
``services.revocation``, ``services.emergency`` and ``services.keys``, which scope by role and
municipality and write the log of administrative actions. A use case's error becomes a clear
message on the form (keeping what was typed) or an error page with the matching status (404 for
another municipality's things, 403 for what the role does not allow); never a 500.

Every write runs in a savepoint, so a refused action leaves nothing behind even though the
request's unit of work commits what the page itself did.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.adminui import i18n
from carekey.adminui.deps import CsrfDep, permits, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.domain import enums as e
from carekey.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    not_found,
)
from carekey.domain.values import ascii_id, ascii_number
from carekey.emergency_keys import service as emergency
from carekey.http.deps import NowDep, SessionDep
from carekey.keyservice.service import create_enrolment_code
from carekey.revocation import service as revocation
from carekey.services import admin
from carekey.store import models as m

router = APIRouter(include_in_schema=False)

# Who may open which page is the access model's answer (``carekey.access``), never a role here.
StaffReader = Annotated[WebUser, Depends(permits(Action.READ_STAFF))]
StaffManager = Annotated[WebUser, Depends(permits(Action.MANAGE_STAFF))]
StaffBlocker = Annotated[WebUser, Depends(permits(Action.BLOCK_STAFF))]
PhoneManager = Annotated[WebUser, Depends(permits(Action.MANAGE_PHONES))]
DistrictReader = Annotated[WebUser, Depends(permits(Action.READ_DISTRICTS))]
DistrictManager = Annotated[WebUser, Depends(permits(Action.MANAGE_DISTRICTS))]
CitizenReader = Annotated[WebUser, Depends(permits(Action.READ_CITIZENS))]
CitizenManager = Annotated[WebUser, Depends(permits(Action.MANAGE_CITIZENS))]
CitizenRemover = Annotated[WebUser, Depends(permits(Action.REMOVE_CITIZEN))]
KeyReader = Annotated[WebUser, Depends(permits(Action.READ_EMERGENCY_KEYS))]
KeyGranter = Annotated[WebUser, Depends(permits(Action.GRANT_EMERGENCY_KEY))]

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 100_000
RECENT_ACTIONS = 10
MAX_REASON = 2000
MAX_SEARCH = 200
MAX_SHOWN_DOORS = 100
IMPORT_MAX_BYTES = 512 * 1024
IMPORT_MAX_ROWS = 5000
LOST_REASON = "Mistet"
E = TypeVar("E", bound=StrEnum)


# --- small helpers -----------------------------------------------------------------------------


def _message(exc: DomainError) -> str:
    """The use case's own explanation, in the language of the page."""
    return exc.message_en if i18n.current_language() == "en" else exc.message_da


def _status_of(exc: DomainError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ForbiddenError):
        return 403
    if isinstance(exc, ConflictError):
        return 409
    return 400


def _error_page(request: Request, user: WebUser, exc: DomainError) -> HTMLResponse:
    """A use case refused: 404 (not here, or another municipality's), 403 (not your role or
    district), or 409/400 with the reason."""
    status = _status_of(exc)
    titles = {
        404: _("Findes ikke"),
        403: _("Ingen adgang"),
        409: _("Det kunne ikke lade sig gøre"),
        400: _("Det kunne ikke lade sig gøre"),
    }
    return render(
        request,
        "error.html",
        {"title": titles[status], "message": _message(exc)},
        user=user,
        status_code=status,
    )


def _page(
    request: Request,
    template: str,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render one of this area's pages with the labels and the user's powers."""
    values: dict[str, Any] = {
        "labels": _labels(),
    }
    values.update(context)
    return render(request, template, values, user=user, status_code=status_code)


@contextmanager
def _savepoint(db: Session) -> Iterator[None]:
    """A write that is undone as a whole if the use case refuses it."""
    with db.begin_nested():
        yield


def _parse_id(value: str | None) -> int | None:
    return ascii_id(value)


def _path_id(value: str, what_da: str, what_en: str) -> int:
    number = _parse_id(value)
    if number is None:
        raise not_found(what_da, what_en)
    return number


def _enum(kind: type[E], value: str | None) -> E | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def _search(value: str | None) -> str | None:
    text = (value or "").strip()[:MAX_SEARCH]
    return text or None


def _reason_text(value: str) -> str:
    text = value.strip()
    if len(text) > MAX_REASON:
        raise DomainError(
            "web.reason_too_long",
            f"Begrundelsen må højst have {MAX_REASON} tegn",
            f"The reason may have at most {MAX_REASON} characters",
        )
    return text


@dataclass(frozen=True)
class Pager:
    """Where a list is: this page, how many, and the links to the neighbours."""

    page: int
    pages: int
    total: int
    first: int
    last: int
    size: int
    prev_url: str | None
    next_url: str | None


def _paging(page: str | None, size: str | None) -> tuple[int, int, int]:
    """(limit, offset, page number) from the query string; nonsense falls back to page 1."""
    wanted = ascii_number(size)
    limit = wanted if wanted in PAGE_SIZES else DEFAULT_PAGE_SIZE
    number = ascii_number(page) or 1
    number = min(max(number, 1), MAX_PAGE)
    return limit, (number - 1) * limit, number


def _pager(request: Request, total: int, page: int, limit: int) -> Pager:
    pages = max(1, -(-total // limit))
    params = dict(request.query_params)

    def link(number: int) -> str:
        return "?" + urlencode({**params, "page": str(number)})

    return Pager(
        page=page,
        pages=pages,
        total=total,
        first=min(total, (page - 1) * limit + 1),
        last=min(total, page * limit),
        size=limit,
        prev_url=link(page - 1) if page > 1 else None,
        next_url=link(page + 1) if page < pages else None,
    )


def _recent_actions(db: Session, user: WebUser, target_type: str, target_id: int) -> list[Any]:
    """The latest administrative actions on one object, newest first."""
    row = m.AdminAction
    return list(
        db.execute(
            select(row)
            .where(row.municipality_id == user.actor.municipality_id)
            .where(row.target_type == target_type)
            .where(row.target_id == str(target_id))
            .order_by(row.at.desc(), row.id.desc())
            .limit(RECENT_ACTIONS)
        ).scalars()
    )


def _labels() -> dict[str, dict[str, str]]:
    """Danish (or English) words for the stored codes."""
    return {
        "status": {
            "active": _("Aktiv"),
            "blocked": _("Spærret"),
            "lost": _("Mistet"),
            "wiped": _("Nulstillet"),
            "pending": _("Afventer"),
            "paused": _("Pause"),
            "removed": _("Fjernet"),
        },
        "badge": {
            "active": "ok",
            "pending": "warn",
            "paused": "warn",
            "wiped": "warn",
            "blocked": "bad",
            "lost": "bad",
            "removed": "bad",
        },
        "role": {
            "care_worker": _("Plejemedarbejder"),
            "administrator": _("Administrator"),
            "district_lead": _("Distriktsleder"),
            "auditor": _("Revisor"),
            "installer": _("Montør"),
        },
        "door": {
            "home_lock": _("Hoveddør"),
            "entrance_controller": _("Opgangsdør"),
            "gate_controller": _("Port"),
        },
        "work_order": {
            "ordered": _("bestilt"),
            "scheduled": _("planlagt"),
            "done": _("udført"),
            "cancelled": _("annulleret"),
        },
        "action": {
            "employee.created": _("Medarbejder oprettet"),
            "employee.changed": _("Medarbejder rettet"),
            "employee.blocked": _("Medarbejder spærret"),
            "employee.unblocked": _("Spærring ophævet"),
            "auth.signed_in": _("Logget ind"),
            "auth.totp_enrolled": _("Engangskode sat op"),
            "phone.created": _("Telefon registreret"),
            "phone.changed": _("Telefon rettet"),
            "phone.blocked": _("Telefon spærret"),
            "phone.lost": _("Telefon spærret (mistet)"),
            "phone.unblocked": _("Spærring ophævet"),
            "phone.enrolment_code": _("Tilmeldingskode lavet"),
            "district.created": _("Distrikt oprettet"),
            "district.changed": _("Distrikt rettet"),
            "citizen.created": _("Borger oprettet"),
            "citizen.changed": _("Borger rettet"),
            "citizen.removed": _("Adresse fjernet fra løsningen"),
            "citizen.restored": _("Borger genskabt"),
            "emergency_key.granted": _("Akutnøgle givet"),
            "emergency_key.revoked": _("Akutnøgle tilbagekaldt"),
        },
    }


def _done_message(code: str | None) -> str | None:
    """The confirmation after a redirect (a fixed set: never text from the query string)."""
    messages = {
        "created": _("Oprettet."),
        "saved": _("Ændringerne er gemt."),
        "unblocked": _("Spærringen er ophævet."),
        "restored": _("Borgeren er genskabt i løsningen."),
        "granted": _("Akutnøglen er givet."),
        "revoked": _("Akutnøglen er tilbagekaldt."),
        "imported": _("Importen er gennemført."),
    }
    return messages.get(code or "")


@dataclass(frozen=True)
class ExposedDoor:
    """A door that may accept a revoked key until it learns of the revocation."""

    door: m.DoorDevice | None
    door_id: int
    until: dt.datetime


def _exposed(db: Session, result: revocation.Revocation) -> list[ExposedDoor]:
    ordered = sorted(result.exposed_doors.items(), key=lambda item: (item[1], item[0]))
    shown = ordered[-MAX_SHOWN_DOORS:][::-1]
    doors = {
        d.id: d
        for d in db.execute(
            select(m.DoorDevice).where(m.DoorDevice.id.in_([door for door, _ in shown]))
        ).scalars()
    }
    return [ExposedDoor(doors.get(door), door, until) for door, until in shown]


def _revocation_page(
    request: Request,
    db: Session,
    user: WebUser,
    result: revocation.Revocation,
    *,
    nav: str,
    title: str,
    back_url: str,
    back_label: str,
    work_order: m.WorkOrder | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "people/revocation_result.html",
        user,
        {
            "nav": nav,
            "title": title,
            "result": result,
            "exposed": _exposed(db, result),
            "exposed_total": len(result.exposed_doors),
            "latest": max(result.exposed_doors.values(), default=None),
            "back_url": back_url,
            "back_label": back_label,
            "work_order": work_order,
        },
    )


def _district_choices(db: Session, user: WebUser) -> list[admin.DistrictView]:
    return admin.list_districts(db, actor=user.actor)


# --- pickers: find an employee, a citizen or a dwelling by what the user typed ------------------


@dataclass
class Pick:
    """What a picker resolved: one id, or candidates to choose from, or a problem."""

    chosen: int | None = None
    label: str = ""
    candidates: list[tuple[int, str]] = field(default_factory=list)
    problem: str | None = None


def _pick_employee(db: Session, user: WebUser, text: str, chosen: str | None) -> Pick:
    """An employee by exact employee number or by name, among those the user may see."""
    chosen_id = _parse_id(chosen)
    if chosen_id is not None:
        return Pick(chosen=chosen_id)
    query = text.strip()[:MAX_SEARCH]
    if not query:
        return Pick(problem=_("Vælg en medarbejder."))
    exact = admin.employee_by_number(db, actor=user.actor, employee_number=query)
    if exact is not None:
        return Pick(chosen=exact.id, label=f"{exact.full_name} ({exact.employee_number})")
    found = admin.list_employees(db, actor=user.actor, q=query, limit=20)
    options = [
        (v.employee.id, f"{v.employee.full_name} ({v.employee.employee_number})")
        for v in found.items
    ]
    if len(options) == 1:
        return Pick(chosen=options[0][0], label=options[0][1])
    if not options:
        return Pick(problem=_("Ingen medarbejder passer på søgningen."))
    return Pick(candidates=options, problem=_("Flere passer; vælg den rigtige medarbejder."))


def _pick_citizen(db: Session, user: WebUser, text: str, chosen: str | None) -> Pick:
    """A citizen by name among those the user may see."""
    chosen_id = _parse_id(chosen)
    if chosen_id is not None:
        return Pick(chosen=chosen_id)
    query = text.strip()[:MAX_SEARCH]
    if not query:
        return Pick(problem=_("Vælg en borger."))
    found = admin.list_citizens(db, actor=user.actor, q=query, limit=20)
    options = [
        (
            v.citizen.id,
            f"{v.citizen.given_name} {v.citizen.family_name}"
            + (f", {v.address.text}" if v.address else ""),
        )
        for v in found.items
    ]
    if len(options) == 1:
        return Pick(chosen=options[0][0], label=options[0][1])
    if not options:
        return Pick(problem=_("Ingen borger passer på søgningen."))
    return Pick(candidates=options, problem=_("Flere passer; vælg den rigtige borger."))


def _dwelling_label(dwelling: m.Dwelling, entrance: m.Entrance, prop: m.Property) -> str:
    return f"{entrance.label}, {dwelling.floor}. {dwelling.side}., {prop.postal_code} {prop.city}"


def _pick_dwelling(db: Session, user: WebUser, text: str, chosen: str | None) -> Pick:
    """A dwelling of the municipality by its address (street and number, floor, side)."""
    chosen_id = _parse_id(chosen)
    if chosen_id is not None:
        return Pick(chosen=chosen_id)
    query = text.strip()[:MAX_SEARCH]
    if not query:
        return Pick()
    words = [w for w in re.split(r"[\s,.]+", query) if w][:6]
    stmt = (
        select(m.Dwelling, m.Entrance, m.Property)
        .join(m.Entrance, m.Entrance.id == m.Dwelling.entrance_id)
        .join(m.Property, m.Property.id == m.Entrance.property_id)
        .where(m.Property.municipality_id == user.actor.municipality_id)
    )
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                m.Entrance.label.ilike(pattern, escape="\\"),
                m.Property.postal_code.ilike(pattern, escape="\\"),
                m.Property.city.ilike(pattern, escape="\\"),
                m.Dwelling.floor.ilike(pattern, escape="\\"),
                m.Dwelling.side.ilike(pattern, escape="\\"),
            )
        )
    rows = db.execute(stmt.order_by(m.Entrance.label, m.Dwelling.id).limit(20)).all()
    options = [(d.id, _dwelling_label(d, ent, p)) for d, ent, p in rows]
    if len(options) == 1:
        return Pick(chosen=options[0][0], label=options[0][1])
    if not options:
        return Pick(problem=_("Ingen bolig passer på adressen."))
    return Pick(candidates=options, problem=_("Flere boliger passer; vælg den rigtige."))


@router.get("/pickers/employees", response_class=HTMLResponse)
def suggest_employees(
    request: Request, user: KeyGranter, db: SessionDep, employee: str = ""
) -> Response:
    """Forslag til medarbejdervælgeren (htmx) / suggestions for the employee picker."""
    query = _search(employee)
    items = admin.list_employees(db, actor=user.actor, q=query, limit=15).items if query else []
    options = [(v.employee.employee_number, v.employee.full_name) for v in items]
    return _page(request, "people/_options.html", user, {"options": options})


@router.get("/pickers/citizens", response_class=HTMLResponse)
def suggest_citizens(
    request: Request, user: KeyGranter, db: SessionDep, citizen: str = ""
) -> Response:
    """Forslag til borgervælgeren (htmx) / suggestions for the citizen picker."""
    query = _search(citizen)
    items = admin.list_citizens(db, actor=user.actor, q=query, limit=15).items if query else []
    options = [
        (f"{v.citizen.given_name} {v.citizen.family_name}", v.address.text if v.address else "")
        for v in items
    ]
    return _page(request, "people/_options.html", user, {"options": options})


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
    limit, offset, number = _paging(page, size)
    query = _search(q)
    district_id = _parse_id(district)
    status_value = _enum(e.EmployeeStatus, status)
    role_value = _enum(e.Role, role)
    try:
        found = admin.list_employees(
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
        return _error_page(request, user, exc)
    return _page(
        request,
        "people/employees.html",
        user,
        {
            "nav": "employees",
            "items": found.items,
            "paging": _pager(request, found.total, number, limit),
            "filters": {
                "q": query or "",
                "district": district_id,
                "status": status_value.value if status_value else "",
                "role": role_value.value if role_value else "",
                "size": limit,
            },
            "districts": _district_choices(db, user),
            "statuses": list(e.EmployeeStatus),
            "roles": list(e.Role),
            "page_sizes": PAGE_SIZES,
            "done": _done_message(done),
        },
    )


def _employee_form(
    request: Request,
    db: Session,
    user: WebUser,
    *,
    values: dict[str, Any],
    error: str | None = None,
    employee: admin.EmployeeView | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "people/employee_form.html",
        user,
        {
            "nav": "employees",
            "values": values,
            "error": error,
            "employee": employee,
            "districts": _district_choices(db, user),
            "roles": list(e.Role),
        },
        status_code=status_code,
    )


def _roles_of(values: Sequence[str]) -> list[e.Role]:
    return [r for r in (_enum(e.Role, v) for v in values) if r is not None]


def _ids_of(values: Sequence[str]) -> list[int]:
    return [i for i in (_parse_id(v) for v in values) if i is not None]


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
        "district_ids": _ids_of(district_ids or []),
    }
    try:
        with _savepoint(db):
            view = admin.create_employee(
                db,
                actor=user.actor,
                employee_number=employee_number,
                full_name=full_name,
                email=email or None,
                roles=_roles_of(roles or []),
                district_ids=values["district_ids"],
                password=password or None,
                now=now,
            )
    except DomainError as exc:
        return _employee_form(
            request, db, user, values=values, error=_message(exc), status_code=_status_of(exc)
        )
    return RedirectResponse(f"/employees/{view.employee.id}?done=created", status_code=303)


# --- CSV import --------------------------------------------------------------------------------

_HEADERS = {
    "employee_number": ("medarbejdernummer", "medarbejdernr", "medarbejder nr", "employee_number"),
    "full_name": ("navn", "fulde navn", "name", "full_name"),
    "email": ("email", "e-mail", "mail"),
    "roles": ("roller", "rolle", "roles", "role"),
    "districts": ("distrikter", "distrikt", "districts", "district"),
}
_ROLE_WORDS = {
    "plejemedarbejder": e.Role.CARE_WORKER,
    "medarbejder": e.Role.CARE_WORKER,
    "hjemmehjælper": e.Role.CARE_WORKER,
    "sosu": e.Role.CARE_WORKER,
    "administrator": e.Role.ADMINISTRATOR,
    "admin": e.Role.ADMINISTRATOR,
    "distriktsleder": e.Role.DISTRICT_LEAD,
    "leder": e.Role.DISTRICT_LEAD,
    "revisor": e.Role.AUDITOR,
    "montør": e.Role.INSTALLER,
    **{r.value: r for r in e.Role},
}


@dataclass
class ImportRow:
    """One line of the file and what the import makes of it."""

    line: int
    employee_number: str
    full_name: str
    action: str = ""  # "create", "update", "unchanged" or "" (rejected)
    problem: str | None = None
    roles: list[e.Role] = field(default_factory=list)
    district_codes: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """The whole file: what would be created, updated and rejected, and a digest of the plan."""

    rows: list[ImportRow]
    problem: str | None = None
    warning: str | None = None

    @property
    def accepted(self) -> list[ImportRow]:
        """The rows that will be written."""
        return [r for r in self.rows if r.problem is None]

    @property
    def rejected(self) -> list[ImportRow]:
        """The rows that will not, with their reasons."""
        return [r for r in self.rows if r.problem is not None]

    def count(self, action: str) -> int:
        """How many accepted rows have ``action``."""
        return sum(1 for r in self.accepted if r.action == action)

    @property
    def digest(self) -> str:
        """What the preview promised: confirming checks that it still holds."""
        plan = [(r.line, r.action) for r in self.rows]
        return hashlib.sha256(json.dumps(plan).encode()).hexdigest()[:32]


def _decode(content: bytes) -> tuple[str, str | None]:
    try:
        return content.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace"), _(
            "Filen er ikke gemt som UTF-8; den er læst som Windows-tegnsæt. "
            "Kontrollér æ, ø og å i forhåndsvisningen."
        )


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,|+/]", value) if part.strip()]


def _read_csv(content: bytes) -> tuple[list[dict[str, str]], list[ImportRow], ImportPlan]:
    """Lines of the file as fields by column; lines that cannot be read are rejected. The plan
    returned carries a problem with the whole file, or a warning."""
    text, warning = _decode(content)
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        return [], [], ImportPlan([], problem=_("Filen er tom."))
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[dict[str, str]] = []
    rejected: list[ImportRow] = []
    try:
        header = [h.strip().lower() for h in next(reader)]
        columns: dict[str, int] = {}
        for name, aliases in _HEADERS.items():
            for index, title in enumerate(header):
                if title in aliases:
                    columns[name] = index
        if "employee_number" not in columns or "full_name" not in columns:
            return (
                [],
                [],
                ImportPlan(
                    [],
                    problem=_(
                        "Første linje skal være kolonneoverskrifter, mindst medarbejdernummer "
                        "og navn (fx medarbejdernummer;navn;email;roller;distrikter)."
                    ),
                ),
            )
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(records) + len(rejected) >= IMPORT_MAX_ROWS:
                return (
                    [],
                    [],
                    ImportPlan(
                        [],
                        problem=_("Filen har for mange linjer; højst {rows} ad gangen.").format(
                            rows=IMPORT_MAX_ROWS
                        ),
                    ),
                )
            record = {"line": str(line)}
            for name, index in columns.items():
                record[name] = cells[index].strip() if index < len(cells) else ""
            if len(cells) != len(header):
                rejected.append(
                    ImportRow(
                        line,
                        record["employee_number"],
                        record["full_name"],
                        problem=_(
                            "Linjen har {found} felter, men overskriften har {expected}."
                        ).format(found=len(cells), expected=len(header)),
                    )
                )
                continue
            records.append(record)
    except csv.Error:
        return [], [], ImportPlan([], problem=_("Filen kan ikke læses som CSV."))
    return records, rejected, ImportPlan([], warning=warning)


def _plan_import(
    db: Session, user: WebUser, content: bytes, now: dt.datetime, *, commit_if: str | None = None
) -> ImportPlan:
    """Run the import through the use cases, row by row, each in its own savepoint: a row the
    use case refuses is rejected with its reason. Everything is undone again unless the plan's
    digest equals ``commit_if`` (what the user confirmed): then exactly the accepted rows stay,
    all of them together."""
    records, rejected, header = _read_csv(content)
    if header.problem:
        return header
    choices = _district_choices(db, user)
    districts = {v.district.name.lower(): v.district.id for v in choices}
    districts.update({v.district.code.lower(): v.district.id for v in choices})
    rows: list[ImportRow] = list(rejected)
    seen: dict[str, int] = {}
    outer = db.begin_nested()
    try:
        for record in records:
            row = ImportRow(int(record["line"]), record["employee_number"], record["full_name"])
            rows.append(row)
            key = row.employee_number.lower()
            if key and key in seen:
                row.problem = _("Medarbejdernummeret står også på linje {line}.").format(
                    line=seen[key]
                )
                continue
            seen[key] = row.line
            words = _split_list(record.get("roles", ""))
            unknown = [w for w in words if w.lower() not in _ROLE_WORDS]
            if unknown:
                row.problem = _("Ukendt rolle: {role}.").format(role=", ".join(unknown))
                continue
            row.roles = sorted({_ROLE_WORDS[w.lower()] for w in words}, key=list(e.Role).index)
            row.district_codes = _split_list(record.get("districts", ""))
            unknown = [d for d in row.district_codes if d.lower() not in districts]
            if unknown:
                row.problem = _("Ukendt distrikt: {district}.").format(district=", ".join(unknown))
                continue
            district_ids = sorted({districts[d.lower()] for d in row.district_codes})
            _import_row(db, user, row, record, district_ids, now)
    except BaseException:
        outer.rollback()
        raise
    rows.sort(key=lambda r: r.line)
    plan = ImportPlan(rows, warning=header.warning)
    if commit_if is not None and plan.digest == commit_if and plan.accepted:
        outer.commit()
    else:
        outer.rollback()
    return plan


def _import_row(
    db: Session,
    user: WebUser,
    row: ImportRow,
    record: dict[str, str],
    district_ids: list[int],
    now: dt.datetime,
) -> None:
    existing = db.execute(
        select(m.Employee)
        .where(m.Employee.municipality_id == user.actor.municipality_id)
        .where(m.Employee.employee_number == row.employee_number.strip())
    ).scalar_one_or_none()
    try:
        with db.begin_nested():
            if existing is None:
                if not row.roles:
                    raise DomainError(
                        "import.no_role",
                        "Angiv mindst én rolle for en ny medarbejder",
                        "Give a new employee at least one role",
                    )
                admin.create_employee(
                    db,
                    actor=user.actor,
                    employee_number=row.employee_number,
                    full_name=row.full_name,
                    email=record.get("email") or None,
                    roles=row.roles,
                    district_ids=district_ids,
                    now=now,
                    reason="CSV-import",
                )
                row.action = "create"
                return
            before = admin.get_employee(db, actor=user.actor, employee_id=existing.id)
            snapshot = (
                before.employee.full_name,
                before.employee.email,
                list(before.roles),
                [d.id for d in before.districts],
            )
            after = admin.update_employee(
                db,
                actor=user.actor,
                employee_id=existing.id,
                full_name=row.full_name,
                email=(record.get("email") or None) if "email" in record else admin.UNSET,
                roles=row.roles if row.roles else admin.UNSET,
                district_ids=district_ids if "districts" in record else admin.UNSET,
                now=now,
                reason="CSV-import",
            )
            changed = snapshot != (
                after.employee.full_name,
                after.employee.email,
                list(after.roles),
                [d.id for d in after.districts],
            )
            row.action = "update" if changed else "unchanged"
    except DomainError as exc:
        row.problem = _message(exc)
        row.action = ""


def _import_page(
    request: Request,
    user: WebUser,
    *,
    plan: ImportPlan | None = None,
    content: bytes = b"",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "people/employee_import.html",
        user,
        {
            "nav": "employees",
            "plan": plan,
            "error": error,
            "content": base64.b64encode(content).decode() if plan and plan.accepted else "",
            "max_kb": IMPORT_MAX_BYTES // 1024,
            "max_rows": IMPORT_MAX_ROWS,
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
    """Forhåndsvisning: hvad oprettes, rettes og afvises / preview of what the import does."""
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
    plan = _plan_import(db, user, content, now)
    if plan.problem:
        return _import_page(request, user, error=plan.problem, status_code=400)
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
    plan = _plan_import(db, user, data, now, commit_if=digest)
    if plan.problem:
        return _import_page(request, user, error=plan.problem, status_code=400)
    if plan.digest != digest:
        return _import_page(
            request,
            user,
            plan=plan,
            content=data,
            error=_(
                "Data er ændret siden forhåndsvisningen; intet er gemt. Se den nye "
                "forhåndsvisning, og bekræft igen."
            ),
            status_code=409,
        )
    if not plan.accepted:
        return _import_page(
            request, user, plan=plan, error=_("Der er intet at importere."), status_code=400
        )
    return _page(
        request,
        "people/employee_import.html",
        user,
        {"nav": "employees", "plan": plan, "imported": True, "error": None, "content": ""},
    )


# --- one employee ------------------------------------------------------------------------------


@router.get("/employees/{employee_id}", response_class=HTMLResponse)
def employee_detail(
    request: Request, employee_id: str, user: StaffReader, db: SessionDep, done: str | None = None
) -> Response:
    """En medarbejder: roller, distrikter, telefoner, seneste handlinger / one employee."""
    try:
        number = _path_id(employee_id, "Medarbejderen", "employee")
        view = admin.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    return _page(
        request,
        "people/employee_detail.html",
        user,
        {
            "nav": "employees",
            "view": view,
            "x": view.employee,
            "actions": _recent_actions(db, user, "employee", view.employee.id),
            "done": _done_message(done),
            "lost_reason": LOST_REASON,
        },
    )


@router.get("/employees/{employee_id}/edit", response_class=HTMLResponse)
def edit_employee(
    request: Request, employee_id: str, user: StaffManager, db: SessionDep
) -> Response:
    """Ret en medarbejder / change an employee."""
    try:
        number = _path_id(employee_id, "Medarbejderen", "employee")
        view = admin.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
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
        number = _path_id(employee_id, "Medarbejderen", "employee")
        view = admin.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    values: dict[str, Any] = {
        "employee_number": view.employee.employee_number,
        "full_name": full_name,
        "email": email,
        "roles": roles or [],
        "district_ids": _ids_of(district_ids or []),
        "reason": reason,
    }
    try:
        with _savepoint(db):
            admin.update_employee(
                db,
                actor=user.actor,
                employee_id=number,
                full_name=full_name,
                email=email or None,
                roles=_roles_of(roles or []),
                district_ids=values["district_ids"],
                reason=_reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _employee_form(
            request,
            db,
            user,
            values=values,
            employee=view,
            error=_message(exc),
            status_code=_status_of(exc),
        )
    return RedirectResponse(f"/employees/{number}?done=saved", status_code=303)


@router.get("/employees/{employee_id}/block", response_class=HTMLResponse)
def confirm_block_employee(
    request: Request, employee_id: str, user: StaffBlocker, db: SessionDep
) -> Response:
    """Bekræft spærring af en medarbejder / confirm blocking an employee."""
    try:
        number = _path_id(employee_id, "Medarbejderen", "employee")
        view = admin.get_employee(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    return _page(
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


def _confirm_again(
    request: Request,
    user: WebUser,
    *,
    nav: str,
    title: str,
    subject: str,
    action: str,
    button: str,
    cancel_url: str,
    error: str,
    reason: str,
    lost: bool | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": nav,
            "title": title,
            "subject": subject,
            "action": action,
            "button": button,
            "cancel_url": cancel_url,
            "error": error,
            "reason": reason,
            "lost": lost,
        },
        status_code=400,
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
        number = _path_id(employee_id, "Medarbejderen", "employee")
        with _savepoint(db):
            result = revocation.block_employee(
                db, actor=user.actor, employee_id=number, reason=_reason_text(reason), now=now
            )
    except DomainError as exc:
        if _status_of(exc) == 400:
            return _confirm_again(
                request,
                user,
                nav="employees",
                title=_("Spær medarbejder"),
                subject="",
                action=f"/employees/{employee_id}/block",
                button=_("Spær medarbejderen"),
                cancel_url=f"/employees/{employee_id}",
                error=_message(exc),
                reason=reason,
            )
        return _error_page(request, user, exc)
    return _revocation_page(
        request,
        db,
        user,
        result,
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
        number = _path_id(employee_id, "Medarbejderen", "employee")
        with _savepoint(db):
            revocation.unblock_employee(
                db, actor=user.actor, employee_id=number, reason=_reason_text(reason), now=now
            )
    except DomainError as exc:
        return _error_page(request, user, exc)
    return RedirectResponse(f"/employees/{number}?done=unblocked", status_code=303)


# --- phones ------------------------------------------------------------------------------------


@router.get("/phones", response_class=HTMLResponse)
def phones(
    request: Request,
    user: StaffReader,
    db: SessionDep,
    q: str | None = None,
    status: str | None = None,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Telefoner / phones."""
    limit, offset, number = _paging(page, size)
    query = _search(q)
    status_value = _enum(e.PhoneStatus, status)
    found = admin.list_phones(
        db, actor=user.actor, q=query, status=status_value, limit=limit, offset=offset
    )
    return _page(
        request,
        "people/phones.html",
        user,
        {
            "nav": "phones",
            "items": found.items,
            "paging": _pager(request, found.total, number, limit),
            "filters": {
                "q": query or "",
                "status": status_value.value if status_value else "",
                "size": limit,
            },
            "statuses": list(e.PhoneStatus),
            "page_sizes": PAGE_SIZES,
            "lost_reason": LOST_REASON,
            "done": _done_message(done),
        },
    )


def _phone_form(
    request: Request,
    user: WebUser,
    *,
    values: dict[str, Any],
    phone: admin.PhoneView | None = None,
    pick: Pick | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "people/phone_form.html",
        user,
        {
            "nav": "phones",
            "values": values,
            "phone": phone,
            "pick": pick,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/phones/new", response_class=HTMLResponse)
def new_phone(request: Request, user: PhoneManager) -> Response:
    """Formularen til en ny telefon / the form for a new phone."""
    return _phone_form(request, user, values={})


def _owner(db: Session, user: WebUser, employee: str, employee_id: str | None) -> Pick:
    if not employee.strip() and not _parse_id(employee_id):
        return Pick()
    return _pick_employee(db, user, employee, employee_id)


@router.post("/phones/new", response_class=HTMLResponse)
def create_phone(
    request: Request,
    user: PhoneManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    label: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    employee: Annotated[str, Form()] = "",
    employee_id: Annotated[str | None, Form()] = None,
) -> Response:
    """Registrér en telefon / register a phone."""
    values = {"label": label, "model": model, "employee": employee}
    pick = _owner(db, user, employee, employee_id)
    if pick.problem:
        return _phone_form(
            request, user, values=values, pick=pick, error=pick.problem, status_code=400
        )
    try:
        with _savepoint(db):
            view = admin.create_phone(
                db,
                actor=user.actor,
                label=label,
                model=model or None,
                employee_id=pick.chosen,
                now=now,
            )
    except DomainError as exc:
        return _phone_form(
            request, user, values=values, error=_message(exc), status_code=_status_of(exc)
        )
    return RedirectResponse(f"/phones/{view.phone.id}?done=created", status_code=303)


@router.get("/phones/{phone_id}", response_class=HTMLResponse)
def phone_detail(
    request: Request, phone_id: str, user: StaffReader, db: SessionDep, done: str | None = None
) -> Response:
    """En telefon / one phone."""
    try:
        number = _path_id(phone_id, "Telefonen", "phone")
        view = admin.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    return _page(
        request,
        "people/phone_detail.html",
        user,
        {
            "nav": "phones",
            "view": view,
            "p": view.phone,
            "actions": _recent_actions(db, user, "phone", view.phone.id),
            "done": _done_message(done),
            "lost_reason": LOST_REASON,
        },
    )


@router.get("/phones/{phone_id}/edit", response_class=HTMLResponse)
def edit_phone(request: Request, phone_id: str, user: PhoneManager, db: SessionDep) -> Response:
    """Ret en telefon / change a phone."""
    try:
        number = _path_id(phone_id, "Telefonen", "phone")
        view = admin.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    values = {
        "label": view.phone.label,
        "model": view.phone.model or "",
        "employee": view.employee.employee_number if view.employee else "",
    }
    return _phone_form(request, user, values=values, phone=view)


@router.post("/phones/{phone_id}/edit", response_class=HTMLResponse)
def save_phone(
    request: Request,
    phone_id: str,
    user: PhoneManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    label: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    employee: Annotated[str, Form()] = "",
    employee_id: Annotated[str | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Gem ændringer / save the changes."""
    try:
        number = _path_id(phone_id, "Telefonen", "phone")
        view = admin.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    values = {"label": label, "model": model, "employee": employee, "reason": reason}
    pick = _owner(db, user, employee, employee_id)
    if pick.problem:
        return _phone_form(
            request,
            user,
            values=values,
            phone=view,
            pick=pick,
            error=pick.problem,
            status_code=400,
        )
    try:
        with _savepoint(db):
            admin.update_phone(
                db,
                actor=user.actor,
                phone_id=number,
                label=label,
                model=model or None,
                employee_id=pick.chosen,
                reason=_reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _phone_form(
            request,
            user,
            values=values,
            phone=view,
            error=_message(exc),
            status_code=_status_of(exc),
        )
    return RedirectResponse(f"/phones/{number}?done=saved", status_code=303)


@router.post("/phones/{phone_id}/lost", response_class=HTMLResponse)
def block_lost_phone(
    request: Request,
    phone_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = LOST_REASON,
) -> Response:
    """Spær en mistet telefon med ét klik / block a lost phone in one click."""
    return _block_phone(request, phone_id, user, db, now, reason=reason or LOST_REASON, lost=True)


@router.get("/phones/{phone_id}/block", response_class=HTMLResponse)
def confirm_block_phone(
    request: Request, phone_id: str, user: StaffBlocker, db: SessionDep
) -> Response:
    """Spær med en anden begrundelse / block with another reason."""
    try:
        number = _path_id(phone_id, "Telefonen", "phone")
        view = admin.get_phone(db, actor=user.actor, phone_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    return _page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": "phones",
            "title": _("Spær telefon"),
            "subject": view.phone.label,
            "explanation": _(
                "Telefonen afvises af serveren med det samme og sletter sine nøgler ved næste "
                "kontakt. Døre uden netforbindelse lærer spærringen af den næste telefon, der "
                "rører dem."
            ),
            "action": f"/phones/{number}/block",
            "reason": "",
            "lost": False,
            "button": _("Spær telefonen"),
            "cancel_url": f"/phones/{number}",
        },
    )


@router.post("/phones/{phone_id}/block", response_class=HTMLResponse)
def block_phone(
    request: Request,
    phone_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
    lost: Annotated[str, Form()] = "",
) -> Response:
    """Spær telefonen med en begrundelse / block the phone with a reason."""
    return _block_phone(request, phone_id, user, db, now, reason=reason, lost=bool(lost))


def _block_phone(
    request: Request,
    phone_id: str,
    user: WebUser,
    db: Session,
    now: dt.datetime,
    *,
    reason: str,
    lost: bool,
) -> Response:
    htmx = request.headers.get("hx-request") == "true"
    try:
        number = _path_id(phone_id, "Telefonen", "phone")
        with _savepoint(db):
            result = revocation.block_phone(
                db,
                actor=user.actor,
                phone_id=number,
                reason=_reason_text(reason),
                lost=lost,
                now=now,
            )
    except DomainError as exc:
        if htmx:
            return _page(
                request,
                "people/_flash.html",
                user,
                {"error": _message(exc)},
                status_code=_status_of(exc),
            )
        if _status_of(exc) == 400:
            return _confirm_again(
                request,
                user,
                nav="phones",
                title=_("Spær telefon"),
                subject="",
                action=f"/phones/{phone_id}/block",
                button=_("Spær telefonen"),
                cancel_url=f"/phones/{phone_id}",
                error=_message(exc),
                reason=reason,
                lost=lost,
            )
        return _error_page(request, user, exc)
    if htmx:
        view = admin.get_phone(db, actor=user.actor, phone_id=number)
        return _page(
            request,
            "people/_phone_row.html",
            user,
            {
                "v": view,
                "lost_reason": LOST_REASON,
                "just_blocked": True,
                "exposed_total": len(result.exposed_doors),
                "latest": max(result.exposed_doors.values(), default=None),
            },
        )
    return _revocation_page(
        request,
        db,
        user,
        result,
        nav="phones",
        title=_("Telefonen er spærret") if result.changed else _("Allerede spærret"),
        back_url=f"/phones/{number}",
        back_label=_("Tilbage til telefonen"),
    )


@router.post("/phones/{phone_id}/unblock", response_class=HTMLResponse)
def unblock_phone(
    request: Request,
    phone_id: str,
    user: StaffBlocker,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ophæv spærringen af en fundet telefon / unblock a found phone."""
    try:
        number = _path_id(phone_id, "Telefonen", "phone")
        with _savepoint(db):
            revocation.unblock_phone(
                db, actor=user.actor, phone_id=number, reason=_reason_text(reason), now=now
            )
    except DomainError as exc:
        return _error_page(request, user, exc)
    return RedirectResponse(f"/phones/{number}?done=unblocked", status_code=303)


def enrolment_payload(server_url: str, code: str) -> str:
    """What the QR image carries; the key app reads the server and the one-time code from it."""
    return f"carekey-enrol:{server_url.rstrip('/')}:{code}"


@router.post("/phones/{phone_id}/enrol", response_class=HTMLResponse)
def enrol_phone(
    request: Request,
    phone_id: str,
    user: PhoneManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Engangskode og QR-kode til at tilmelde telefonen / one-time code and QR to enrol."""
    try:
        number = _path_id(phone_id, "Telefonen", "phone")
        view = admin.get_phone(db, actor=user.actor, phone_id=number)
        with _savepoint(db):
            code, expires = create_enrolment_code(db, actor=user.actor, phone_id=number, now=now)
    except DomainError as exc:
        return _error_page(request, user, exc)
    payload = enrolment_payload(str(request.base_url), code)
    return _page(
        request,
        "people/phone_enrol.html",
        user,
        {
            "nav": "phones",
            "view": view,
            "code": code,
            "expires": expires,
            "payload": payload,
            "server": str(request.base_url).rstrip("/"),
            "qr": segno.make(payload, error="m").svg_data_uri(scale=6, border=2),
        },
    )


# --- districts ---------------------------------------------------------------------------------


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
    return _page(
        request,
        "people/districts.html",
        user,
        {
            "nav": "districts",
            "items": _district_choices(db, user),
            "values": values or {},
            "error": error,
            "done": _done_message(done),
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
        with _savepoint(db):
            admin.create_district(db, actor=user.actor, code=code, name=name, now=now)
    except DomainError as exc:
        return _districts_page(
            request,
            db,
            user,
            values={"code": code, "name": name},
            error=_message(exc),
            status_code=_status_of(exc),
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
        number = _path_id(district_id, "Distriktet", "district")
        view = admin.get_district(db, actor=user.actor, district_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    return _district_detail(request, db, user, view, done=done)


def _district_detail(
    request: Request,
    db: Session,
    user: WebUser,
    view: admin.DistrictView,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "people/district_detail.html",
        user,
        {
            "nav": "districts",
            "view": view,
            "d": view.district,
            "values": values or {"code": view.district.code, "name": view.district.name},
            "error": error,
            "done": _done_message(done),
            "actions": _recent_actions(db, user, "district", view.district.id),
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
        number = _path_id(district_id, "Distriktet", "district")
        view = admin.get_district(db, actor=user.actor, district_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    try:
        with _savepoint(db):
            admin.update_district(
                db,
                actor=user.actor,
                district_id=number,
                code=code,
                name=name,
                reason=_reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _district_detail(
            request,
            db,
            user,
            view,
            values={"code": code, "name": name, "reason": reason},
            error=_message(exc),
            status_code=_status_of(exc),
        )
    return RedirectResponse(f"/districts/{number}?done=saved", status_code=303)


# --- citizens ----------------------------------------------------------------------------------


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
    limit, offset, number = _paging(page, size)
    query = _search(q)
    district_id = _parse_id(district)
    status_value = _enum(e.CitizenStatus, status)
    found = admin.list_citizens(
        db,
        actor=user.actor,
        q=query,
        district_id=district_id,
        status=status_value,
        limit=limit,
        offset=offset,
    )
    return _page(
        request,
        "people/citizens.html",
        user,
        {
            "nav": "citizens",
            "items": found.items,
            "paging": _pager(request, found.total, number, limit),
            "filters": {
                "q": query or "",
                "district": district_id,
                "status": status_value.value if status_value else "",
                "size": limit,
            },
            "districts": _district_choices(db, user),
            "statuses": list(e.CitizenStatus),
            "page_sizes": PAGE_SIZES,
            "done": _done_message(done),
        },
    )


def _citizen_form(
    request: Request,
    db: Session,
    user: WebUser,
    *,
    values: dict[str, Any],
    pick: Pick | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "people/citizen_form.html",
        user,
        {
            "nav": "citizens",
            "values": values,
            "pick": pick,
            "error": error,
            "districts": _district_choices(db, user),
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
        "district_id": _parse_id(district_id),
        "status": status,
        "dwelling": dwelling,
    }
    pick = _pick_dwelling(db, user, dwelling, dwelling_id)
    if pick.problem:
        return _citizen_form(
            request, db, user, values=values, pick=pick, error=pick.problem, status_code=400
        )
    chosen_district = _parse_id(district_id)
    chosen_status = _enum(e.CitizenStatus, status) or e.CitizenStatus.PENDING
    try:
        if chosen_district is None:
            raise DomainError("citizen.no_district", "Vælg et distrikt", "Choose a district")
        with _savepoint(db):
            view = admin.create_citizen(
                db,
                actor=user.actor,
                given_name=given_name,
                family_name=family_name,
                district_id=chosen_district,
                dwelling_id=pick.chosen,
                status=chosen_status,
                now=now,
            )
    except DomainError as exc:
        return _citizen_form(
            request, db, user, values=values, error=_message(exc), status_code=_status_of(exc)
        )
    return RedirectResponse(f"/citizens/{view.citizen.id}?done=created", status_code=303)


def _restore_order(db: Session, citizen_id: int) -> m.WorkOrder | None:
    return db.execute(
        select(m.WorkOrder)
        .where(m.WorkOrder.citizen_id == citizen_id)
        .where(m.WorkOrder.kind == e.WorkOrderKind.RESTORE)
        .order_by(m.WorkOrder.ordered_at.desc(), m.WorkOrder.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _citizen_detail(
    request: Request,
    db: Session,
    user: WebUser,
    view: admin.CitizenView,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    c = view.citizen
    return _page(
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
            "districts": _district_choices(db, user),
            "work_order": _restore_order(db, c.id),
            "actions": _recent_actions(db, user, "citizen", c.id),
            "error": error,
            "done": _done_message(done),
        },
        status_code=status_code,
    )


@router.get("/citizens/{citizen_id}", response_class=HTMLResponse)
def citizen_detail(
    request: Request, citizen_id: str, user: CitizenReader, db: SessionDep, done: str | None = None
) -> Response:
    """En borger: adresse, døre, distrikt / one citizen."""
    try:
        number = _path_id(citizen_id, "Borgeren", "citizen")
        view = admin.get_citizen(db, actor=user.actor, citizen_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
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
        number = _path_id(citizen_id, "Borgeren", "citizen")
        view = admin.get_citizen(db, actor=user.actor, citizen_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    values = {
        "given_name": given_name,
        "family_name": family_name,
        "district_id": _parse_id(district_id),
        "status": status,
        "reason": reason,
    }
    chosen_status = _enum(e.CitizenStatus, status)
    try:
        with _savepoint(db):
            admin.update_citizen(
                db,
                actor=user.actor,
                citizen_id=number,
                given_name=given_name,
                family_name=family_name,
                district_id=_parse_id(district_id) or view.citizen.district_id,
                status=chosen_status or admin.UNSET,
                reason=_reason_text(reason) or None,
                now=now,
            )
    except DomainError as exc:
        return _citizen_detail(
            request,
            db,
            user,
            view,
            values=values,
            error=_message(exc),
            status_code=_status_of(exc),
        )
    return RedirectResponse(f"/citizens/{number}?done=saved", status_code=303)


@router.get("/citizens/{citizen_id}/remove", response_class=HTMLResponse)
def confirm_remove_citizen(
    request: Request, citizen_id: str, user: CitizenRemover, db: SessionDep
) -> Response:
    """Bekræft fjernelse af adressen / confirm removing the address."""
    try:
        number = _path_id(citizen_id, "Borgeren", "citizen")
        view = admin.get_citizen(db, actor=user.actor, citizen_id=number)
    except DomainError as exc:
        return _error_page(request, user, exc)
    c = view.citizen
    return _page(
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
        number = _path_id(citizen_id, "Borgeren", "citizen")
        with _savepoint(db):
            result = revocation.remove_citizen(
                db, actor=user.actor, citizen_id=number, reason=_reason_text(reason), now=now
            )
    except DomainError as exc:
        if _status_of(exc) == 400:
            return _confirm_again(
                request,
                user,
                nav="citizens",
                title=_("Fjern adressen fra løsningen"),
                subject="",
                action=f"/citizens/{citizen_id}/remove",
                button=_("Fjern adressen"),
                cancel_url=f"/citizens/{citizen_id}",
                error=_message(exc),
                reason=reason,
            )
        return _error_page(request, user, exc)
    return _revocation_page(
        request,
        db,
        user,
        result,
        nav="citizens",
        title=_("Adressen er fjernet fra løsningen") if result.changed else _("Allerede fjernet"),
        back_url=f"/citizens/{number}",
        back_label=_("Tilbage til borgeren"),
        work_order=_restore_order(db, number),
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
        number = _path_id(citizen_id, "Borgeren", "citizen")
        with _savepoint(db):
            revocation.restore_citizen(
                db, actor=user.actor, citizen_id=number, reason=_reason_text(reason), now=now
            )
    except DomainError as exc:
        return _error_page(request, user, exc)
    return RedirectResponse(f"/citizens/{number}?done=restored", status_code=303)


# --- emergency keys ----------------------------------------------------------------------------


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
    employee_pick: Pick | None = None,
    citizen_pick: Pick | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    limit, offset, number = _paging(page, size)
    found = admin.list_emergency_keys(
        db, actor=user.actor, now=now, active_only=state != "all", limit=limit, offset=offset
    )
    municipality = db.get(m.Municipality, user.actor.municipality_id)
    return _page(
        request,
        "people/emergency_keys.html",
        user,
        {
            "nav": "emergency",
            "items": found.items,
            "paging": _pager(request, found.total, number, limit),
            "state": "all" if state == "all" else "active",
            "values": values or {"minutes": 120},
            "employee_pick": employee_pick,
            "citizen_pick": citizen_pick,
            "max_minutes": municipality.emergency_key_max_minutes if municipality else 480,
            "error": error,
            "done": _done_message(done),
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
    employee_pick = _pick_employee(db, user, employee, employee_id)
    citizen_pick = _pick_citizen(db, user, citizen, citizen_id)
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
        with _savepoint(db):
            emergency.grant_emergency_key(
                db,
                actor=user.actor,
                employee_id=employee_pick.chosen,
                citizen_id=citizen_pick.chosen,
                reason=_reason_text(reason),
                duration=dt.timedelta(minutes=min(duration, 100_000)),
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
            error=_message(exc),
            status_code=_status_of(exc),
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
        number = _path_id(grant_id, "Akutnøglen", "emergency key")
        admin.get_emergency_key(db, actor=user.actor, grant_id=number, now=now)
        with _savepoint(db):
            emergency.revoke_emergency_key(
                db, actor=user.actor, grant_id=number, reason=_reason_text(reason), now=now
            )
    except DomainError as exc:
        return _error_page(request, user, exc)
    return RedirectResponse("/emergency-keys?done=revoked", status_code=303)
