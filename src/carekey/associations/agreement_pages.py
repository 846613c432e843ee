"""The housing association's agreement pages: the agreements and the company register, the form
to make or change an agreement, ending one, and blocking or unblocking a company.

Thin: every page calls ``associations.agreements``, which checks the whole agreement against
the partner access policy and writes nothing when it is refused; the form then shows the rule's
message and keeps what was typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.adminui import formatting
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.associations import agreements as use
from carekey.associations import service
from carekey.associations.pages import AssociationUser, association_page, done_message
from carekey.clock import COPENHAGEN
from carekey.domain.changes import UNSET
from carekey.domain.errors import DomainError, InvariantError
from carekey.domain.paging import MAX_PAGE_SIZE
from carekey.domain.partner_policy import BASES_FOR_CATEGORY, DEFAULT_BASIS, LegalBasis
from carekey.domain.values import TimeWindow, ascii_id, ascii_number
from carekey.http.deps import NowDep, SessionDep

router = APIRouter(include_in_schema=False)

MAX_ROWS: Final = 20
"""Window rows a form may send (each row: some weekdays, one start and one end)."""
BLANK_ROWS: Final = 2

Ids = Annotated[list[str] | None, Form()]


# --- reading the form --------------------------------------------------------------------------


def window_rows(windows: Sequence[TimeWindow]) -> list[dict[str, Any]]:
    """The windows as the form's rows: one row per (start, end) with its weekdays, and a few
    empty rows to add more."""
    rows: list[dict[str, Any]] = []
    for w in windows:
        start, end = _hhmm(w.start_minute), _hhmm(w.end_minute)
        for row in rows:
            if row["start"] == start and row["end"] == end:
                row["days"].add(w.weekday)
                break
        else:
            rows.append({"days": {w.weekday}, "start": start, "end": end})
    blanks = max(BLANK_ROWS, 3 - len(rows))
    return rows + [{"days": set(), "start": "", "end": ""} for _ in range(blanks)]


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def windows_of_form(
    days: Sequence[str], starts: Sequence[str], ends: Sequence[str]
) -> tuple[list[use.WindowSpec], list[dict[str, Any]]]:
    """The windows a form's rows name (weekday checkboxes ``"row:day"``, a start and an end
    per row), and the rows as typed (to show again). A row with times but no weekday is
    refused; an empty row is skipped."""
    picked: dict[int, set[int]] = {}
    for value in days[: MAX_ROWS * 7]:
        row, _sep, day = value.partition(":")
        r, d = ascii_number(row), ascii_number(day)
        if r is not None and d is not None and r < MAX_ROWS and d <= 6:
            picked.setdefault(r, set()).add(d)
    specs: list[use.WindowSpec] = []
    rows: list[dict[str, Any]] = []
    problem: InvariantError | None = None
    for i in range(min(max(len(starts), len(ends)), MAX_ROWS)):
        start = (starts[i] if i < len(starts) else "").strip()[:5]
        end = (ends[i] if i < len(ends) else "").strip()[:5]
        chosen = picked.get(i, set())
        rows.append({"days": chosen, "start": start, "end": end})
        if not chosen and not start and not end:
            continue
        if not chosen and problem is None:
            problem = InvariantError(
                "agreement.window_without_day",
                f"Vælg mindst én ugedag til tidsvinduet {start}–{end}",
                f"Choose at least one weekday for the time window {start}–{end}",
            )
        specs += [use.WindowSpec(d, start, end) for d in sorted(chosen)]
    rows += [{"days": set(), "start": "", "end": ""} for _ in range(BLANK_ROWS)]
    if problem is not None:
        raise _FormError(problem, rows)
    return specs, rows


class _FormError(Exception):
    def __init__(self, error: DomainError, rows: list[dict[str, Any]]) -> None:
        super().__init__(error.code)
        self.error = error
        self.rows = rows


def _date(text: str, what_da: str, what_en: str) -> dt.date | None:
    if not text.strip():
        return None
    found = formatting.query_date(text)
    if found is None:
        raise InvariantError(
            "agreement.bad_date",
            f"{what_da} kunne ikke læses; brug formatet åååå-mm-dd",
            f"{what_en} could not be read; use the format yyyy-mm-dd",
        )
    return found


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), COPENHAGEN).astimezone(dt.UTC)


def from_day(day: dt.date) -> dt.datetime:
    """ "Valid from" a day: from its start, Danish time."""
    return _midnight(day)


def until_day(day: dt.date) -> dt.datetime:
    """ "Valid until and including" a day: to the end of it, Danish time."""
    return _midnight(day + dt.timedelta(days=1))


def shown_from(value: dt.datetime) -> str:
    """The day an agreement begins, as the form shows it."""
    return value.astimezone(COPENHAGEN).date().isoformat()


def shown_until(value: dt.datetime | None) -> str:
    """The last day an agreement holds, as the form shows it."""
    if value is None:
        return ""
    return (value - dt.timedelta(microseconds=1)).astimezone(COPENHAGEN).date().isoformat()


# --- the agreements and the company register ---------------------------------------------------


@router.get("/association/agreements", response_class=HTMLResponse)
def agreements(
    request: Request,
    user: AssociationUser,
    db: SessionDep,
    now: NowDep,
    company: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Aftaler med samarbejdspartnere og kommunens firmaregister / agreements and companies."""
    limit, offset, number = ui.paging(request.query_params.get("page"), size)
    company_id = ascii_id(company)
    try:
        found = use.list_agreements(
            db, actor=user.actor, now=now, company_id=company_id, limit=limit, offset=offset
        )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return association_page(
        request,
        "association/agreements.html",
        user,
        {
            "nav": "association_agreements",
            "items": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "companies": service.list_companies(db, actor=user.actor),
            "company_id": company_id,
            "done": done_message(done),
        },
    )


def _form(
    request: Request,
    db: Session,
    user: WebUser,
    now: dt.datetime,
    *,
    values: dict[str, Any],
    view: use.AgreementView | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    companies = service.list_companies(db, actor=user.actor)
    properties = service.list_properties(db, actor=user.actor, now=now, limit=MAX_PAGE_SIZE)
    return association_page(
        request,
        "association/agreement_form.html",
        user,
        {
            "nav": "association_agreements",
            "values": values,
            "view": view,
            "error": error,
            "companies": companies,
            "properties": properties.items,
            "bases": list(LegalBasis),
            "bases_for": {c.value: sorted(b) for c, b in BASES_FOR_CATEGORY.items()},
        },
        status_code=status_code,
    )


@router.get("/association/agreements/new", response_class=HTMLResponse)
def new_agreement(
    request: Request, user: AssociationUser, db: SessionDep, now: NowDep, company: str = ""
) -> Response:
    """Formularen til en ny aftale / the form for a new agreement."""
    chosen = ascii_id(company)
    basis = ""
    if chosen is not None:
        try:
            found = service.get_company(db, actor=user.actor, company_id=chosen)
            basis = DEFAULT_BASIS.get(found.company.category, LegalBasis.GOODS_OR_SERVICES).value
        except DomainError:
            chosen = None
    values = {
        "company": chosen,
        "basis": basis,
        "property_ids": [],
        "entrance_ids": [],
        "gate_ids": [],
        "rows": window_rows([]),
        "valid_from": now.astimezone(COPENHAGEN).date().isoformat(),
        "valid_until": "",
        "reason": "",
    }
    return _form(request, db, user, now, values=values)


@router.post("/association/agreements/new", response_class=HTMLResponse)
def create_agreement(
    request: Request,
    user: AssociationUser,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    company: Annotated[str, Form()] = "",
    basis: Annotated[str, Form()] = "",
    property_ids: Ids = None,
    entrance_ids: Ids = None,
    gate_ids: Ids = None,
    window_days: Ids = None,
    window_start: Ids = None,
    window_end: Ids = None,
    valid_from: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Lav aftalen / make the agreement."""
    values: dict[str, Any] = {
        "company": ascii_id(company),
        "basis": basis if basis in {b.value for b in LegalBasis} else "",
        "property_ids": ui.ids_of(property_ids or []),
        "entrance_ids": ui.ids_of(entrance_ids or []),
        "gate_ids": ui.ids_of(gate_ids or []),
        "rows": window_rows([]),
        "valid_from": valid_from.strip()[:10],
        "valid_until": valid_until.strip()[:10],
        "reason": reason,
    }
    try:
        specs, values["rows"] = windows_of_form(
            window_days or [], window_start or [], window_end or []
        )
        if values["company"] is None:
            raise InvariantError("agreement.no_company", "Vælg et firma", "Choose a company")
        chosen_basis = ui.enum_of(LegalBasis, basis)
        if chosen_basis is None:
            raise InvariantError(
                "agreement.no_basis", "Vælg et grundlag for adgangen", "Choose a legal basis"
            )
        first = _date(valid_from, "Startdatoen", "The start date")
        last = _date(valid_until, "Slutdatoen", "The end date")
        new = use.NewAgreement(
            company_id=values["company"],
            basis=chosen_basis,
            doors=use.DoorChoice(
                values["property_ids"], values["entrance_ids"], values["gate_ids"]
            ),
            windows=specs,
            valid_from=from_day(first) if first else None,
            valid_until=until_day(last) if last else None,
        )
        with ui.savepoint(db):
            view = use.create_agreement(
                db, actor=user.actor, new=new, now=now, reason=ui.reason_text(reason) or None
            )
    except _FormError as problem:
        values["rows"] = problem.rows
        return _form(
            request, db, user, now, values=values, error=ui.message(problem.error), status_code=400
        )
    except DomainError as exc:
        if ui.page_status(exc) == 404:
            return ui.error_page(request, user, exc)
        return _form(
            request,
            db,
            user,
            now,
            values=values,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(
        f"/association/agreements/{view.agreement.id}?done=created", status_code=303
    )


# --- one agreement -----------------------------------------------------------------------------


def _agreement_id(value: str) -> int:
    return ui.path_id(value, "Aftalen", "agreement")


@router.get("/association/agreements/{agreement_id}", response_class=HTMLResponse)
def agreement_detail(
    request: Request,
    agreement_id: str,
    user: AssociationUser,
    db: SessionDep,
    now: NowDep,
    done: str | None = None,
) -> Response:
    """En aftale: firma, grundlag, døre, tidsvinduer, historik / one agreement."""
    try:
        view = use.get_agreement(
            db, actor=user.actor, agreement_id=_agreement_id(agreement_id), now=now
        )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return association_page(
        request,
        "association/agreement_detail.html",
        user,
        {"nav": "association_agreements", "view": view, "done": done_message(done)},
    )


def _edit_values(view: use.AgreementView) -> dict[str, Any]:
    return {
        "company": view.company.id,
        "basis": view.agreement.legal_basis,
        "property_ids": [],
        "entrance_ids": sorted({p.entrance.id for p in view.doors if p.entrance}),
        "gate_ids": sorted({p.gate.id for p in view.doors if p.gate}),
        "rows": window_rows(view.windows),
        "valid_from": shown_from(view.agreement.valid_from),
        "valid_until": shown_until(view.agreement.valid_until),
        "reason": "",
    }


@router.get("/association/agreements/{agreement_id}/edit", response_class=HTMLResponse)
def edit_agreement(
    request: Request, agreement_id: str, user: AssociationUser, db: SessionDep, now: NowDep
) -> Response:
    """Ret døre, tidsvinduer og gyldighed / change doors, windows and validity."""
    try:
        view = use.get_agreement(
            db, actor=user.actor, agreement_id=_agreement_id(agreement_id), now=now
        )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return _form(request, db, user, now, values=_edit_values(view), view=view)


@router.post("/association/agreements/{agreement_id}/edit", response_class=HTMLResponse)
def save_agreement(
    request: Request,
    agreement_id: str,
    user: AssociationUser,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    property_ids: Ids = None,
    entrance_ids: Ids = None,
    gate_ids: Ids = None,
    window_days: Ids = None,
    window_start: Ids = None,
    window_end: Ids = None,
    valid_from: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Gem ændringerne / save the changes."""
    try:
        number = _agreement_id(agreement_id)
        view = use.get_agreement(db, actor=user.actor, agreement_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    values = _edit_values(view)
    values.update(
        {
            "property_ids": ui.ids_of(property_ids or []),
            "entrance_ids": ui.ids_of(entrance_ids or []),
            "gate_ids": ui.ids_of(gate_ids or []),
            "valid_from": valid_from.strip()[:10],
            "valid_until": valid_until.strip()[:10],
            "reason": reason,
        }
    )
    try:
        specs, values["rows"] = windows_of_form(
            window_days or [], window_start or [], window_end or []
        )
        first = _date(valid_from, "Startdatoen", "The start date")
        last = _date(valid_until, "Slutdatoen", "The end date")
        # A day left as it was shown leaves the time of day as it is.
        same_from = first is None or first.isoformat() == shown_from(view.agreement.valid_from)
        same_until = (last.isoformat() if last else "") == shown_until(view.agreement.valid_until)
        changes = use.AgreementChanges(
            doors=use.DoorChoice(
                values["property_ids"], values["entrance_ids"], values["gate_ids"]
            ),
            windows=specs,
            valid_from=UNSET if same_from or first is None else from_day(first),
            valid_until=UNSET if same_until else (until_day(last) if last else None),
        )
        with ui.savepoint(db):
            use.update_agreement(
                db,
                actor=user.actor,
                agreement_id=number,
                changes=changes,
                now=now,
                reason=ui.reason_text(reason) or None,
            )
    except _FormError as problem:
        values["rows"] = problem.rows
        return _form(
            request,
            db,
            user,
            now,
            values=values,
            view=view,
            error=ui.message(problem.error),
            status_code=400,
        )
    except DomainError as exc:
        if ui.page_status(exc) == 404:
            return ui.error_page(request, user, exc)
        return _form(
            request,
            db,
            user,
            now,
            values=values,
            view=view,
            error=ui.message(exc),
            status_code=ui.page_status(exc),
        )
    return RedirectResponse(f"/association/agreements/{number}?done=saved", status_code=303)


@router.post("/association/agreements/{agreement_id}/end", response_class=HTMLResponse)
def end_agreement(
    request: Request,
    agreement_id: str,
    user: AssociationUser,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Afslut aftalen nu / end the agreement now."""
    try:
        number = _agreement_id(agreement_id)
        with ui.savepoint(db):
            use.end_agreement(
                db,
                actor=user.actor,
                agreement_id=number,
                now=now,
                reason=ui.reason_text(reason) or None,
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/association/agreements/{number}?done=ended", status_code=303)


# --- blocking a company ------------------------------------------------------------------------


def _company_id(value: str) -> int:
    return ui.path_id(value, "Firmaet", "company")


def _block_texts() -> dict[str, str]:
    return {
        "title": _("Spær firmaet"),
        "button": _("Spær firmaet nu"),
        "explanation": _(
            "Alle jeres aftaler med firmaet spærres med det samme, og de nøgler, firmaets "
            "medarbejdere allerede har fået til jeres opgange og porte, sættes på spærrelisten. "
            "Firmaets adgang til andre boligforeningers opgange berøres ikke."
        ),
    }


@router.get("/association/companies/{company_id}/block", response_class=HTMLResponse)
def confirm_block_company(
    request: Request, company_id: str, user: AssociationUser, db: SessionDep
) -> Response:
    """Bekræft spærring af et firma / confirm blocking a company."""
    try:
        found = service.get_company(db, actor=user.actor, company_id=_company_id(company_id))
        if not found.agreements:
            raise use.no_agreements()
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    texts = _block_texts()
    return ui.page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": "association_agreements",
            "title": texts["title"],
            "subject": found.company.name,
            "explanation": texts["explanation"],
            "action": f"/association/companies/{found.company.id}/block",
            "reason": "",
            "button": texts["button"],
            "cancel_url": "/association/agreements",
        },
    )


@router.post("/association/companies/{company_id}/block", response_class=HTMLResponse)
def block_company(
    request: Request,
    company_id: str,
    user: AssociationUser,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Spær firmaet med det samme / block the company at once."""
    try:
        number = _company_id(company_id)
        with ui.savepoint(db):
            use.block_company(
                db, actor=user.actor, company_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        if ui.page_status(exc) == 400:
            texts = _block_texts()
            return ui.confirm_again(
                request,
                user,
                nav="association_agreements",
                title=texts["title"],
                subject="",
                action=f"/association/companies/{company_id}/block",
                button=texts["button"],
                cancel_url="/association/agreements",
                error=ui.message(exc),
                reason=reason,
            )
        return ui.error_page(request, user, exc)
    return RedirectResponse("/association/agreements?done=company_blocked", status_code=303)


@router.post("/association/companies/{company_id}/unblock", response_class=HTMLResponse)
def unblock_company(
    request: Request,
    company_id: str,
    user: AssociationUser,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ophæv spærringen af firmaet / unblock the company."""
    try:
        number = _company_id(company_id)
        with ui.savepoint(db):
            use.unblock_company(
                db, actor=user.actor, company_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse("/association/agreements?done=company_unblocked", status_code=303)
