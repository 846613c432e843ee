"""The administration's door pages: the list of doors with their health, and one door with its
exposure after a revocation and its latest events.

The doors come from ``dashboard.doors``, the events from ``audit.service``; query parameters are
read leniently (``adminui.formatting``), so a hand-edited address never ends in a JSON error.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carekey.access import Action
from carekey.adminui import formatting
from carekey.adminui.deps import RoleRequiredError, permits, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.audit import service as audit_log
from carekey.dashboard import doors
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, NotFoundError
from carekey.http.deps import NowDep, SessionDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
DoorReader = Annotated[WebUser, Depends(permits(Action.READ_DOORS))]


def _action_label(action: e.AuditAction) -> str:
    return formatting.pair_label(audit_log.action_text(action))


def _helpers() -> dict[str, Any]:
    return {
        **formatting.formatters(),
        "action_label": _action_label,
        "alarm_lock_states": doors.ALARM_LOCK_STATES,
        "alarm_door_states": doors.ALARM_DOOR_STATES,
    }


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
    flag = formatting.query_flag
    filters = {
        "kind": kind if kind in kinds else "",
        "status": status if status in statuses else "",
        "serial": (serial or "").strip()[:32],
        "low_battery": "1" if flag(low_battery) else "",
        "drifting": "1" if flag(drifting) else "",
        "stale": "1" if flag(stale) else "",
        "exposed": "1" if flag(exposed) else "",
    }
    page = doors.list_doors(
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
        offset=formatting.query_int(offset) or 0,
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
            "denylist_version": doors.current_denylist_version(db, user.actor.municipality_id),
            "now": now,
            "offline_after_s": request.app.state.settings.online_offline_after_s,
            **_helpers(),
        },
        user=user,
    )


@router.get("/doors/{door_id}", response_class=HTMLResponse)
def door_page(
    request: Request, door_id: str, user: DoorReader, db: SessionDep, now: NowDep
) -> Response:
    """Én dør / one door: details, exposure after a revocation, and its latest events."""
    number = formatting.query_int(door_id)
    try:
        if number is None:
            raise NotFoundError("door.not_found", "Døren findes ikke.", "The door does not exist.")
        detail = doors.get_door(db, actor=user.actor, door_id=number, now=now)
    except NotFoundError:
        return formatting.not_found_page(request, user, _("Døren findes ikke."))
    except ForbiddenError as exc:
        raise RoleRequiredError from exc
    events = audit_log.query_audit(db, actor=user.actor, door_device_id=number, limit=25)
    return render(
        request,
        "overview/door.html",
        {
            "nav": "doors",
            "detail": detail,
            "door": detail.door,
            "events": events,
            "now": now,
            "offline_after_s": request.app.state.settings.online_offline_after_s,
            **_helpers(),
        },
        user=user,
    )
