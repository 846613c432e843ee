"""The housing association's pages: the overview of its properties and modules with the
municipality's requests for permission, and the partner log with its CSV export. The agreements
and blocking a company are in ``associations.agreement_pages``.

Thin: every page calls the use cases of ``associations``, which scope to the user's own
association and write the log of administrative actions. Only a housing association's user gets
these pages (403 for anyone else, as in the API).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action, allowed
from carekey.adminui import codes, formatting, i18n
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, RoleRequiredError, WebUserDep
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.associations import service
from carekey.audit import service as audit_log
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.partner_policy import LegalBasis
from carekey.domain.values import WEEKDAY_NAMES_DA, TimeWindow, ascii_id
from carekey.http.deps import NowDep, SessionDep, writes_on_read

router = APIRouter(include_in_schema=False)


def association_user(user: WebUserDep) -> WebUser:
    """Only a housing association's own user (the access model says which actions; the
    portal is for the association's people, not the municipality's staff)."""
    if user.actor.association_id is None or not allowed(user.actor, Action.READ_PROPERTIES):
        raise RoleRequiredError
    return user


AssociationUser = Annotated[WebUser, Depends(association_user)]


# --- words -------------------------------------------------------------------------------------

WEEKDAYS_EN: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekday_name(day: int) -> str:
    """A weekday in the user's language, 0 = Monday."""
    names = WEEKDAYS_EN if i18n.current_language() == "en" else WEEKDAY_NAMES_DA
    return names[day]


def band_label(band: str) -> str:
    """A band of the municipality's openings as words: "0", "under 10", "ca. 20"."""
    if band == "0":
        return "0"
    if band == "under_10":
        return _("under 10")
    return _("ca. %(number)s") % {"number": band}


def basis_label(basis: str) -> str:
    """A legal basis in the user's words."""
    return {
        LegalBasis.STATUTORY_MAIL: _("Lovpligtig postomdeling"),
        LegalBasis.GOODS_OR_SERVICES: _("Varer eller tjenester til beboerne eller ejeren"),
        LegalBasis.PUBLIC_SERVICE: _("Offentlig service"),
        LegalBasis.NAMED_RESIDENT: _("Levering til en navngiven beboer (ærinde)"),
    }.get(LegalBasis(basis), basis)


def category_label(category: str) -> str:
    """A kind of company in the user's words."""
    return {
        e.PartnerCategory.POST: _("Post"),
        e.PartnerCategory.NEWSPAPER: _("Aviser"),
        e.PartnerCategory.ADVERTISING: _("Reklamer"),
        e.PartnerCategory.PARCEL: _("Pakker"),
        e.PartnerCategory.MEAL_BOX: _("Madkasser"),
        e.PartnerCategory.PHARMACY: _("Apotek"),
    }.get(e.PartnerCategory(category), category)


def state_label(state: str) -> str:
    """Whether an agreement admits now, in words."""
    return {
        "active": _("Aktiv"),
        "upcoming": _("Ikke begyndt"),
        "ended": _("Afsluttet"),
        "blocked": _("Spærret"),
    }.get(state, state)


STATE_BADGE: Final = {"active": "ok", "upcoming": "warn", "ended": "", "blocked": "bad"}


def permission_label(status: str) -> str:
    """A permission request's status, in words."""
    return {
        e.PermissionStatus.REQUESTED: _("Afventer jeres svar"),
        e.PermissionStatus.GRANTED: _("Givet"),
        e.PermissionStatus.REFUSED: _("Afslået"),
        e.PermissionStatus.WITHDRAWN: _("Trukket tilbage"),
    }.get(e.PermissionStatus(status), status)


def action_label(action: str) -> str:
    """An administrative action on an agreement or a company, in words."""
    return codes.admin_action_label(action)


def month_label(month: str) -> str:
    """ "2026-10" as "okt. 2026" (Danish) or "Oct 2026"."""
    year, number = (int(x) for x in month.split("-"))
    da = (
        "jan.",
        "feb.",
        "mar.",
        "apr.",
        "maj",
        "jun.",
        "jul.",
        "aug.",
        "sep.",
        "okt.",
        "nov.",
        "dec.",
    )
    en = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    names = en if i18n.current_language() == "en" else da
    return f"{names[number - 1]} {year}"


def windows_text(windows: Sequence[TimeWindow]) -> str:
    """Weekly windows briefly, days with the same hours together: "mandag, tirsdag 08:00–17:00"."""
    groups: dict[tuple[int, int], list[int]] = {}
    for w in windows:
        groups.setdefault((w.start_minute, w.end_minute), []).append(w.weekday)
    return "; ".join(
        f"{', '.join(weekday_name(d) for d in days)} {_hhmm(start)}–{_hhmm(end)}"
        for (start, end), days in groups.items()
    )


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def helpers() -> dict[str, Any]:
    """The words and formatters the association's templates use."""
    return {
        **formatting.formatters(),
        "band_label": band_label,
        "basis_label": basis_label,
        "category_label": category_label,
        "state_label": state_label,
        "state_badge": STATE_BADGE,
        "permission_label": permission_label,
        "assoc_action_label": action_label,
        "month_label": month_label,
        "weekday_name": weekday_name,
        "event_label": lambda a: formatting.pair_label(audit_log.action_text(a)),
        "address_of": service.address_of,
        "property_address": service.property_address,
        "last_seen_on": service.last_seen_on,
        "hhmm": _hhmm,
        "windows_text": windows_text,
    }


def done_message(code: str | None) -> str | None:
    """The confirmation after a redirect (a fixed set: never text from the query string)."""
    return {
        "granted": _("Tilladelsen er givet."),
        "refused": _("Anmodningen er afslået."),
        "created": _("Aftalen er lavet."),
        "saved": _("Ændringerne er gemt."),
        "ended": _("Aftalen er afsluttet, og dens nøgler er spærret."),
        "company_blocked": _(
            "Firmaet er spærret. Alle jeres aftaler med firmaet er spærret, og de nøgler, der "
            "allerede er udleveret under dem, er sat på spærrelisten."
        ),
        "company_unblocked": _("Spærringen af firmaet er ophævet."),
    }.get(code or "")


def association_page(
    request: Request,
    template: str,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """One of the association's pages, with its words."""
    return ui.page(request, template, user, {**helpers(), **context}, status_code=status_code)


# --- the overview ------------------------------------------------------------------------------


def _overview(
    request: Request,
    db: Session,
    user: WebUser,
    now: dt.datetime,
    *,
    page_number: str | None = None,
    size: str | None = None,
    done: str | None = None,
    error: str | None = None,
    notes: dict[int, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    limit, offset, number = ui.paging(page_number, size)
    found = service.list_properties(db, actor=user.actor, now=now, limit=limit, offset=offset)
    open_requests = service.list_permission_requests(
        db, actor=user.actor, status=e.PermissionStatus.REQUESTED, limit=100
    )
    answered = [
        v
        for v in service.list_permission_requests(db, actor=user.actor, limit=20).items
        if v.request.status is not e.PermissionStatus.REQUESTED
    ][:10]
    return association_page(
        request,
        "association/overview.html",
        user,
        {
            "nav": "association",
            "association": service.own_association(db, actor=user.actor),
            "properties": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "months": service.finished_months(now),
            "open_requests": open_requests.items,
            "answered": answered,
            "notes": notes or {},
            "done": done_message(done),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/association", response_class=HTMLResponse)
def overview(
    request: Request,
    user: AssociationUser,
    db: SessionDep,
    now: NowDep,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Boligforeningen: ejendomme, moduler og kommunens anmodninger / the overview."""
    return _overview(request, db, user, now, page_number=page, size=size, done=done)


@router.post("/association/permissions/{request_id}", response_class=HTMLResponse)
def answer_permission(
    request: Request,
    request_id: str,
    user: AssociationUser,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Giv eller afslå kommunens anmodning / grant or refuse the municipality's request."""
    try:
        number = ui.path_id(request_id, "Anmodningen", "permission request")
        chosen = ui.enum_of(service.Decision, decision)
        if chosen is None:
            raise DomainError(
                "permission.no_decision",
                "Vælg at give eller afslå tilladelsen",
                "Choose to grant or refuse the permission",
            )
        with ui.savepoint(db):
            service.answer_permission_request(
                db, actor=user.actor, request_id=number, decision=chosen, note=note, now=now
            )
    except DomainError as exc:
        status = ui.page_status(exc)
        if status == 404:
            return ui.error_page(request, user, exc)
        notes = {n: note for n in [ascii_id(request_id)] if n is not None}
        return _overview(
            request, db, user, now, error=ui.message(exc), notes=notes, status_code=status
        )
    done = "granted" if chosen is service.Decision.GRANT else "refused"
    return RedirectResponse(f"/association?done={done}", status_code=303)


# --- the partner log ---------------------------------------------------------------------------


def _log_filter(
    db: Session, user: WebUser, params: dict[str, str]
) -> tuple[service.LogFilter, dict[str, str], list[str]]:
    values = {
        "company": params.get("company", "").strip()[:12],
        "from": "",
        "to": "",
    }
    messages: list[str] = []
    company_id = ascii_id(values["company"])
    values["company"] = str(company_id or "")
    first = formatting.query_date(params.get("from"))
    last = formatting.query_date(params.get("to"))
    if (params.get("from", "").strip() and first is None) or (
        params.get("to", "").strip() and last is None
    ):
        messages.append(_("En dato kunne ikke læses; brug formatet åååå-mm-dd."))
    if first and last and last < first:
        first, last = last, first
    since = until = None
    if first:
        values["from"] = first.isoformat()
        since = dt.datetime.combine(first, dt.time(), COPENHAGEN).astimezone(dt.UTC)
    if last:
        values["to"] = last.isoformat()
        until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), COPENHAGEN).astimezone(
            dt.UTC
        )
    return service.LogFilter(company_id=company_id, since=since, until=until), values, messages


@router.get("/association/log", response_class=HTMLResponse)
def partner_log(
    request: Request,
    user: AssociationUser,
    db: SessionDep,
    page: str | None = None,
    size: str | None = None,
) -> Response:
    """Partnernes åbninger af jeres opgange og porte / partner openings of your doors."""
    limit, offset, number = ui.paging(page, size)
    filters, values, messages = _log_filter(db, user, dict(request.query_params))
    try:
        found = service.partner_log(
            db, actor=user.actor, filters=filters, limit=limit, offset=offset
        )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    query = urlencode({k: v for k, v in values.items() if v})
    return association_page(
        request,
        "association/log.html",
        user,
        {
            "nav": "association_log",
            "rows": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "companies": service.list_companies(db, actor=user.actor),
            "values": values,
            "messages": messages,
            "querystring": query,
            "page_sizes": ui.PAGE_SIZES,
            "size": limit,
        },
    )


@router.get("/association/log.csv")
@writes_on_read
def partner_log_csv(
    request: Request, user: AssociationUser, db: SessionDep, now: NowDep
) -> Response:
    """Partnerloggen som CSV til Excel / the partner log as CSV for Danish Excel."""
    filters, _values, _messages = _log_filter(db, user, dict(request.query_params))
    try:
        rows = service.export_partner_log(db, actor=user.actor, filters=filters, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    stamp = now.astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")
    return Response(
        service.partner_log_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="partnerlog-{stamp}.csv"'},
    )
