"""The partner company's log page: its own workers' openings, refusals and lockings at
entrances and gates, filtered by period, worker and door, with its CSV export.

Thin: the page calls ``partners.log``. Only a partner company's administrator gets it (403 for
anyone else, as in the API).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carekey.access import Action, allowed
from carekey.adminui import formatting
from carekey.adminui import pages as ui
from carekey.adminui.deps import RoleRequiredError, WebUserDep
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.audit import service as audit_log
from carekey.clock import COPENHAGEN
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_id
from carekey.http.deps import NowDep, SessionDep, writes_on_read
from carekey.partners import log
from carekey.partners.errand_pages import partner_page

router = APIRouter(include_in_schema=False)


def log_reader(user: WebUserDep) -> WebUser:
    """Only a partner company's own administrator."""
    if user.actor.company_id is None or not allowed(user.actor, Action.READ_PARTNER_LOG):
        raise RoleRequiredError
    return user


LogReader = Annotated[WebUser, Depends(log_reader)]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), COPENHAGEN).astimezone(dt.UTC)


def log_filter(params: dict[str, str]) -> tuple[log.LogFilter, dict[str, str], list[str]]:
    """The filter the query string names (days in Danish time, "to" inclusive), the values
    to show again, and what could not be read."""
    worker = ascii_id(params.get("worker", "").strip()[:12])
    door = ascii_id(params.get("door", "").strip()[:12])
    values = {"worker": str(worker or ""), "door": str(door or ""), "from": "", "to": ""}
    messages: list[str] = []
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
        since = _midnight(first)
    if last:
        values["to"] = last.isoformat()
        until = _midnight(last + dt.timedelta(days=1))
    found = log.LogFilter(worker_id=worker, door_id=door, since=since, until=until)
    return found, values, messages


@router.get("/partner/log", response_class=HTMLResponse)
def company_log(
    request: Request,
    user: LogReader,
    db: SessionDep,
    page: str | None = None,
    size: str | None = None,
) -> Response:
    """Jeres medarbejderes åbninger / your own staff's openings."""
    limit, offset, number = ui.paging(page, size)
    filters, values, messages = log_filter(dict(request.query_params))
    try:
        found = log.company_log(db, actor=user.actor, filters=filters, limit=limit, offset=offset)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return partner_page(
        request,
        "partner/log.html",
        user,
        {
            "nav": "partner_log",
            "rows": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "people": log.log_people(db, actor=user.actor),
            "doors": log.log_doors(db, actor=user.actor),
            "values": values,
            "messages": messages,
            "querystring": urlencode({k: v for k, v in values.items() if v}),
            "page_sizes": ui.PAGE_SIZES,
            "size": limit,
            "address_of": log.address_of,
            "event_label": lambda a: formatting.pair_label(audit_log.action_text(a)),
        },
    )


@router.get("/partner/log.csv")
@writes_on_read
def company_log_csv(request: Request, user: LogReader, db: SessionDep, now: NowDep) -> Response:
    """Loggen som CSV til Excel / the log as CSV for Danish Excel."""
    filters, _values, _messages = log_filter(dict(request.query_params))
    try:
        rows = log.export_company_log(db, actor=user.actor, filters=filters, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    stamp = now.astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")
    return Response(
        log.company_log_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="aabninger-{stamp}.csv"'},
    )
