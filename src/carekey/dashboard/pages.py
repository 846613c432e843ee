"""The office's start page: today's figures and the doors that need attention.

The figures come from ``dashboard.service``; who may open the page, and how far the figures
reach, is the access model's answer (``carekey.access``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carekey.access import Action
from carekey.adminui import formatting
from carekey.adminui.deps import permits, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.dashboard import service as dashboard
from carekey.dashboard.doors import ALARM_DOOR_STATES, ALARM_LOCK_STATES, CLOCK_DRIFT_MS
from carekey.doors.service import LOW_BATTERY_PCT
from carekey.http.deps import NowDep, SessionDep
from carekey.online import service as online

router = APIRouter(include_in_schema=False)

DashboardReader = Annotated[WebUser, Depends(permits(Action.READ_DASHBOARD))]


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
        **formatting.formatters(),
        "revocation_label": revocation_label,
        "low_battery_pct": LOW_BATTERY_PCT,
        "drift_ms": CLOCK_DRIFT_MS,
        "alarm_lock_states": ALARM_LOCK_STATES,
        "alarm_door_states": ALARM_DOOR_STATES,
        "left_unlocked_min": int(dashboard.LEFT_UNLOCKED_AFTER.total_seconds() // 60),
    }


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, user: DashboardReader, db: SessionDep, now: NowDep
) -> Response:
    """Overblik / dashboard: today's figures and the doors that need attention."""
    figures = dashboard.dashboard(db, actor=user.actor, now=now)
    fleet = None
    if figures.whole_municipality:
        fleet = online.fleet_view(
            db,
            municipality_id=user.actor.municipality_id,
            now=now,
            offline_after=dt.timedelta(seconds=request.app.state.settings.online_offline_after_s),
        )
    return render(
        request,
        "overview/dashboard.html",
        {
            "nav": "dashboard",
            "d": figures,
            "revocations_shown": figures.revocations[: dashboard.ALERT_LIST],
            "municipality": dashboard.municipality_name(db, actor=user.actor),
            "scoped": not figures.whole_municipality,
            "online": fleet,
            **_helpers(),
        },
        user=user,
    )
