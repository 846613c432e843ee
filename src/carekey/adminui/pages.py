"""What the pages of every part share: rendering with the labels, the error page, a savepoint
around a write, lenient reading of the query string, paging, confirmations and pickers.

A use case's error becomes a clear message on the form (keeping what was typed) or an error page
with the matching status (404 for another municipality's things, 403 for what the role does not
allow); never a 500. Every write runs in a savepoint, so a refused action leaves nothing behind
even though the request's unit of work commits what the page itself did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from carekey.adminui import codes, i18n
from carekey.adminui.deps import render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.domain.errors import DomainError, not_found
from carekey.domain.values import ascii_id, ascii_number
from carekey.http.errors import status_of

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_REASON = 2000
MAX_SEARCH = 200
E = TypeVar("E", bound=StrEnum)


# --- errors ------------------------------------------------------------------------------------


def message(exc: DomainError) -> str:
    """The use case's own explanation, in the language of the page."""
    return exc.message_en if i18n.current_language() == "en" else exc.message_da


def page_status(exc: DomainError) -> int:
    """The status of a page refused by a use case: 404, 403 and 409 as in the API
    (``http.errors.status_of``); anything else is a 400 with the reason on the page."""
    status = status_of(exc)
    return status if status in (403, 404, 409) else 400


def error_page(request: Request, user: WebUser, exc: DomainError) -> HTMLResponse:
    """A use case refused: 404 (not here, or another municipality's), 403 (not your role or
    district), or 409/400 with the reason."""
    status = page_status(exc)
    titles = {
        404: _("Findes ikke"),
        403: _("Ingen adgang"),
        409: _("Det kunne ikke lade sig gøre"),
        400: _("Det kunne ikke lade sig gøre"),
    }
    return render(
        request,
        "error.html",
        {"title": titles[status], "message": message(exc)},
        user=user,
        status_code=status,
    )


# --- rendering ---------------------------------------------------------------------------------


def page(
    request: Request,
    template: str,
    user: WebUser,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render one of the administration's pages with the labels and the user's powers."""
    values: dict[str, Any] = {
        "labels": labels(),
    }
    values.update(context)
    return render(request, template, values, user=user, status_code=status_code)


def labels() -> dict[str, dict[str, str]]:
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
            "association_user": _("Foreningsbruger"),
            "partner_admin": _("Partneradministrator"),
            "partner_worker": _("Partnermedarbejder"),
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
            "signed_off": _("godkendt"),
            "cancelled": _("annulleret"),
        },
        # What an office user did: the log of administrative actions' own words.
        "action": {code: codes.in_language(pair) for code, pair in codes.ADMIN_ACTIONS.items()},
    }


def done_message(code: str | None) -> str | None:
    """The confirmation after a redirect (a fixed set: never text from the query string)."""
    messages = {
        "created": _("Oprettet."),
        "saved": _("Ændringerne er gemt."),
        "unblocked": _("Spærringen er ophævet."),
        "restored": _("Borgeren er genskabt i løsningen."),
        "granted": _("Akutnøglen er givet."),
        "revoked": _("Akutnøglen er tilbagekaldt."),
        "imported": _("Importen er gennemført."),
        "authenticator_reset": _(
            "Godkender-appen er nulstillet. Ved næste login sætter medarbejderen en ny op."
        ),
    }
    return messages.get(code or "")


@contextmanager
def savepoint(db: Session) -> Iterator[None]:
    """A write that is undone as a whole if the use case refuses it."""
    with db.begin_nested():
        yield


# --- reading the request leniently -------------------------------------------------------------


def path_id(value: str, what_da: str, what_en: str) -> int:
    """The id in a page's path; anything but ASCII digits is "not found"."""
    number = ascii_id(value)
    if number is None:
        raise not_found(what_da, what_en)
    return number


def enum_of(kind: type[E], value: str | None) -> E | None:
    """A filter's value as ``kind``; nothing or nonsense is no filter."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def ids_of(values: Sequence[str]) -> list[int]:
    """The ids among the values of a multiple choice."""
    return [i for i in (ascii_id(v) for v in values) if i is not None]


def search_text(value: str | None) -> str | None:
    """What the user searched for, bounded; nothing is ``None``."""
    text = (value or "").strip()[:MAX_SEARCH]
    return text or None


def reason_text(value: str) -> str:
    """The reason typed on a form, trimmed; too long is refused."""
    text = value.strip()
    if len(text) > MAX_REASON:
        raise DomainError(
            "web.reason_too_long",
            f"Begrundelsen må højst have {MAX_REASON} tegn",
            f"The reason may have at most {MAX_REASON} characters",
        )
    return text


# --- paging ------------------------------------------------------------------------------------


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


def paging(page: str | None, size: str | None) -> tuple[int, int, int]:
    """(limit, offset, page number) from the query string; nonsense falls back to page 1."""
    wanted = ascii_number(size)
    limit = wanted if wanted in PAGE_SIZES else DEFAULT_PAGE_SIZE
    number = ascii_number(page) or 1
    number = min(max(number, 1), MAX_PAGE)
    return limit, (number - 1) * limit, number


def pager(request: Request, total: int, page: int, limit: int) -> Pager:
    """The pager of a list of ``total`` items shown ``limit`` at a time, at ``page``."""
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


# --- confirmations -----------------------------------------------------------------------------


def confirm_again(
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
    """The confirmation form once more, with what was wrong (400)."""
    return page(
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


class RevocationOutcome(Protocol):
    """What a revocation did (``revocation.service.Revocation``), as far as its page shows it."""

    @property
    def changed(self) -> bool: ...

    @property
    def denylist_version(self) -> int | None: ...

    @property
    def exposed_doors(self) -> Mapping[int, dt.datetime]: ...


def revocation_page(
    request: Request,
    user: WebUser,
    result: RevocationOutcome,
    *,
    exposed: Sequence[Any],
    nav: str,
    title: str,
    back_url: str,
    back_label: str,
    work_order: Any = None,
) -> HTMLResponse:
    """What a block or a removal did, and the doors (``exposed``, the latest first) that may
    still accept the revoked keys until they learn of it."""
    return page(
        request,
        "people/revocation_result.html",
        user,
        {
            "nav": nav,
            "title": title,
            "result": result,
            "exposed": exposed,
            "exposed_total": len(result.exposed_doors),
            "latest": max(result.exposed_doors.values(), default=None),
            "back_url": back_url,
            "back_label": back_label,
            "work_order": work_order,
        },
    )


# --- pickers: an employee, a citizen or a dwelling by what the user typed ----------------------


@dataclass
class Pick:
    """What a picker resolved: one id, or candidates to choose from, or a problem."""

    chosen: int | None = None
    label: str = ""
    candidates: list[tuple[int, str]] = field(default_factory=list)
    problem: str | None = None


PickKind = Literal["employee", "citizen", "dwelling"]


def _pick_texts(kind: PickKind) -> tuple[str | None, str, str]:
    """(nothing typed, nothing found, several found) for a kind of picker."""
    if kind == "employee":
        return (
            _("Vælg en medarbejder."),
            _("Ingen medarbejder passer på søgningen."),
            _("Flere passer; vælg den rigtige medarbejder."),
        )
    if kind == "citizen":
        return (
            _("Vælg en borger."),
            _("Ingen borger passer på søgningen."),
            _("Flere passer; vælg den rigtige borger."),
        )
    # An address is optional: nothing typed is no dwelling, not a problem.
    return (
        None,
        _("Ingen bolig passer på adressen."),
        _("Flere boliger passer; vælg den rigtige."),
    )


def pick(
    kind: PickKind,
    text: str,
    chosen: str | None,
    find: Callable[[str], Sequence[tuple[int, str]]],
) -> Pick:
    """The one ``kind`` of thing the user chose (``chosen``, an id from a list of candidates) or
    typed (``text``, which ``find`` turns into (id, label) candidates)."""
    chosen_id = ascii_id(chosen)
    if chosen_id is not None:
        return Pick(chosen=chosen_id)
    empty, none, many = _pick_texts(kind)
    query = text.strip()[:MAX_SEARCH]
    if not query:
        return Pick(problem=empty)
    options = list(find(query))
    if len(options) == 1:
        return Pick(chosen=options[0][0], label=options[0][1])
    if not options:
        return Pick(problem=none)
    return Pick(candidates=options, problem=many)
