"""Values on the administration's pages the way people read and type them.

Out: numbers, percentages and seconds written the way the user's language writes them, and door
kinds and statuses in the user's words. In: query parameters read leniently, so that a bad date
or number typed into an address is ignored (or ends in a "not found" page), never in a JSON
error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import Response

from carekey.adminui import i18n
from carekey.adminui.deps import render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.domain import enums as e
from carekey.domain.values import ascii_number

# --- out ---------------------------------------------------------------------------------------


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
        e.DoorStatus.SCRAPPED: _("Kasseret"),
    }[status]


def lock_state_label(state: e.LockState | None) -> str:
    """The bolt as the door's signed log last reported it, in the user's language."""
    if state is None:
        return _("Ikke meldt endnu")
    return {
        e.LockState.LOCKED: _("Låst"),
        e.LockState.UNLOCKED: _("Ulåst"),
        e.LockState.JAMMED: _("Sidder fast"),
        e.LockState.UNKNOWN: _("Ukendt (strømsvigt under drejning)"),
    }[state]


def door_state_label(state: e.DoorSensorState | None) -> str:
    """The door leaf as the door sensor last reported it, in the user's language."""
    if state is None:
        return _("Ikke meldt endnu")
    return {
        e.DoorSensorState.CLOSED: _("Lukket"),
        e.DoorSensorState.OPEN: _("Åben"),
        e.DoorSensorState.AJAR: _("Står åben"),
        e.DoorSensorState.FORCED_OPEN: _("Åbnet med magt"),
    }[state]


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


def giver_label(given_by: str) -> str:
    """Who gave a consent, in words."""
    return {
        e.ConsentGivenBy.CITIZEN: _("Borgeren selv"),
        e.ConsentGivenBy.RELATIVE: _("Pårørende"),
        e.ConsentGivenBy.GUARDIAN: _("Værge"),
    }.get(e.ConsentGivenBy(given_by), given_by)


def formatters() -> dict[str, Any]:
    """The helpers above under the names the templates call them by."""
    return {
        "kind_label": kind_label,
        "status_label": status_label,
        "lock_state_label": lock_state_label,
        "door_state_label": door_state_label,
        "pair_label": pair_label,
        "giver_label": giver_label,
        "number": number,
        "percent": percent,
        "seconds": seconds,
    }


# --- in ----------------------------------------------------------------------------------------


def query_int(value: str | None) -> int | None:
    """A whole number typed in ASCII digits, else None (``²`` or ``٣`` never reach ``int()``)."""
    return ascii_number(value)


def query_date(value: str | None) -> dt.date | None:
    """A date typed as yyyy-mm-dd, else None."""
    try:
        return dt.date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


def query_flag(value: str | None) -> bool:
    """A checkbox or a hand-typed yes."""
    return value in ("1", "on", "true", "ja")


def not_found_page(request: Request, user: WebUser, message: str) -> Response:
    """The 404 page for an id that names nothing the user may see, with ``message``."""
    return render(
        request,
        "error.html",
        {"title": _("Ikke fundet"), "message": message},
        user=user,
        status_code=404,
    )
