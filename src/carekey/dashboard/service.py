"""The office's overview: today's figures, the doors that need attention, and who has been in
a home.

Everything here reads; nothing is written. Each figure is one aggregate query (or a handful,
``dashboard.queries``), never a loop over thousands of rows, so the dashboard stays fast on a
municipality the size of Copenhagen (3,500 doors, a large audit log).

Who sees what is the access model's answer (``carekey.access``): an administrator sees the whole
municipality; a district lead sees the doors on the way to the homes of their districts'
citizens (home lock, stairwell, gate), the events at those doors, and the employees and phones
of their districts; everyone else is refused. The door list is ``dashboard.doors``; which doors
may still accept a blocked key is ``dashboard.exposure``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, reach
from carekey.audit.service import AuditRow, iter_audit
from carekey.clock import COPENHAGEN
from carekey.dashboard import queries
from carekey.dashboard.doors import (
    ALARM_DOOR_STATES,
    ALARM_LOCK_STATES,
    CLOCK_DRIFT_MS,
    DoorSummary,
    summaries,
)
from carekey.dashboard.exposure import Exposure, RevocationExposure, exposure
from carekey.domain import enums as e
from carekey.domain.places import Address
from carekey.doors.service import LOW_BATTERY_PCT

LEFT_UNLOCKED_AFTER: Final = dt.timedelta(minutes=15)
LEFT_UNLOCKED_LOOKBACK: Final = dt.timedelta(hours=24)
"""How far back to look for a home door that was opened and not locked again."""
ALERT_LIST: Final = 6
"""How many doors each alert list shows on the dashboard; the rest are one click away."""
CLOSING_ACTIONS: Final = (e.AuditAction.LOCKED, e.AuditAction.AUTO_RELOCKED)


def local_day(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Today in Danish time, as a UTC range (``since`` inclusive, ``until`` exclusive)."""
    today = now.astimezone(COPENHAGEN).date()
    return local_range(today, today)


def local_range(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The days ``first`` to ``last`` (both included) in Danish time, as a UTC range."""
    start = dt.datetime.combine(first, dt.time(), COPENHAGEN)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), COPENHAGEN)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def this_week(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """Monday to Sunday of the current week in Danish time."""
    today = now.astimezone(COPENHAGEN).date()
    monday = today - dt.timedelta(days=today.weekday())
    return monday, monday + dt.timedelta(days=6)


def municipality_name(db: Session, *, actor: Actor) -> str:
    """The name of the actor's own municipality, for a page header."""
    return queries.municipality_name(db, actor.municipality_id)


# --- the dashboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UnlockedDoor:
    """A home door whose last lock event is an unlock, a while ago: left open after a visit?"""

    door_id: int
    serial: str
    address: Address | None
    citizen_id: int | None
    citizen_name: str | None
    unlocked_at: dt.datetime
    employee_name: str | None


@dataclass(frozen=True)
class Dashboard:
    """The figures and alerts of the office's start page."""

    day_start: dt.datetime
    openings_today: int
    refusals_today: int
    employees_with_live_keys: int
    blocked_phones: int
    blocked_employees: int
    denylist_version: int
    low_battery_count: int
    low_battery: list[DoorSummary]
    alarm_count: int
    alarms: list[DoorSummary]
    """Doors in alarm: forced open, ajar, jammed, or a bolt in an unknown state."""
    drifting_count: int
    drifting: list[DoorSummary]
    left_unlocked_count: int
    left_unlocked: list[UnlockedDoor]
    exposed: list[Exposure] = field(default_factory=list)
    revocations: list[RevocationExposure] = field(default_factory=list)
    whole_municipality: bool = True
    """False when the figures cover only the actor's own districts."""

    @property
    def alert_count(self) -> int:
        """How many doors need attention."""
        return (
            self.low_battery_count
            + self.alarm_count
            + self.drifting_count
            + self.left_unlocked_count
            + len(self.exposed)
        )


def _left_unlocked(db: Session, scope: Scope, now: dt.datetime) -> tuple[int, list[UnlockedDoor]]:
    latest = queries.unlocked_home_doors(
        db,
        scope,
        since=now - LEFT_UNLOCKED_LOOKBACK,
        until=now,
        unlocked_before=now - LEFT_UNLOCKED_AFTER,
    )
    if not latest:
        return 0, []
    count, latest = len(latest), latest[:ALERT_LIST]  # longest open first
    rows = queries.door_rows(db, [door_id for door_id, _, _ in latest])
    doors = {s.id: s for s in summaries(db, rows, with_counts=False)}
    return count, [
        UnlockedDoor(
            door_id=door_id,
            serial=doors[door_id].serial,
            address=doors[door_id].address,
            citizen_id=doors[door_id].citizen_id,
            citizen_name=doors[door_id].citizen_name,
            unlocked_at=at,
            employee_name=who,
        )
        for door_id, at, who in latest
    ]


def dashboard(db: Session, *, actor: Actor, now: dt.datetime) -> Dashboard:
    """Today's openings and refusals, employees with live keys, blocked phones and employees,
    and the doors that need attention, for the actor's municipality or districts."""
    scope = reach(actor, Action.READ_DASHBOARD)
    day_start, day_end = local_day(now)
    openings, refusals = queries.openings_and_refusals(db, scope, day_start, day_end)
    low_count, drift_count = queries.door_health_counts(
        db, scope, battery_below=LOW_BATTERY_PCT, clock_off_by_more_than=CLOCK_DRIFT_MS
    )
    low = queries.weakest_batteries(db, scope, battery_below=LOW_BATTERY_PCT, limit=ALERT_LIST)
    drift = queries.worst_clocks(db, scope, clock_off_by_more_than=CLOCK_DRIFT_MS, limit=ALERT_LIST)
    left_count, left = _left_unlocked(db, scope, now)
    alarm_count, alarms = queries.doors_in_alarm(
        db,
        scope,
        lock_states=ALARM_LOCK_STATES,
        door_states=ALARM_DOOR_STATES,
        limit=ALERT_LIST,
    )
    exposed, revocations = exposure(db, scope=scope, now=now)
    return Dashboard(
        day_start=day_start,
        openings_today=openings,
        refusals_today=refusals,
        employees_with_live_keys=queries.employees_with_live_keys(db, scope, now),
        blocked_phones=queries.blocked_phones(db, scope),
        blocked_employees=queries.blocked_employees(db, scope),
        denylist_version=queries.newest_denylist_version(db, scope.municipality_id),
        low_battery_count=low_count,
        low_battery=summaries(db, low, with_counts=False),
        alarm_count=alarm_count,
        alarms=summaries(db, alarms, with_counts=False),
        drifting_count=drift_count,
        drifting=summaries(db, drift, with_counts=False),
        left_unlocked_count=left_count,
        left_unlocked=left,
        exposed=exposed,
        revocations=revocations,
        whole_municipality=scope.whole_municipality,
    )


# --- who has been in this home -----------------------------------------------------------------


@dataclass(frozen=True)
class HomeEntry:
    """One line of the report: a visit (in and out), a turn of the citizen's own key, a refusal."""

    kind: str  # "visit", "manual_turn", "refused"
    at: dt.datetime
    who: str | None
    employee_number: str | None = None
    out_at: dt.datetime | None = None
    out_action: e.AuditAction | None = None
    reason_code: str | None = None
    reason: tuple[str, str] | None = None

    @property
    def duration(self) -> dt.timedelta | None:
        """How long the visit lasted, when the door was locked again."""
        return None if self.out_at is None else self.out_at - self.at


def _who(row: AuditRow) -> str | None:
    if row.employee_name and row.partner_company:
        return f"{row.employee_name} ({row.partner_company})"
    return row.employee_name or None


def home_visits(
    db: Session, *, actor: Actor, citizen_id: int, since: dt.datetime, until: dt.datetime
) -> list[HomeEntry]:
    """Who has been in the citizen's home between ``since`` and ``until``, oldest first: each
    visit with the time in (unlocked) and out (locked, by hand or automatically), turns of the
    citizen's own key, and refused attempts. An unlock with no lock before the next unlock shows
    without a time out."""
    rows = list(iter_audit(db, actor=actor, citizen_id=citizen_id, since=since, until=until))
    rows.reverse()  # oldest first
    entries: list[HomeEntry] = []
    open_visit: int | None = None  # index into ``entries``
    for row in rows:
        if row.action is e.AuditAction.UNLOCKED:
            entries.append(
                HomeEntry("visit", row.occurred_at, _who(row), row.employee_number or None)
            )
            open_visit = len(entries) - 1
        elif row.action in CLOSING_ACTIONS and open_visit is not None:
            visit = entries[open_visit]
            entries[open_visit] = HomeEntry(
                "visit",
                visit.at,
                visit.who,
                visit.employee_number,
                out_at=row.occurred_at,
                out_action=row.action,
            )
            open_visit = None
        elif row.action is e.AuditAction.MANUAL_TURN:
            entries.append(HomeEntry("manual_turn", row.occurred_at, None))
        elif row.action is e.AuditAction.REFUSED:
            entries.append(
                HomeEntry(
                    "refused",
                    row.occurred_at,
                    _who(row),
                    row.employee_number or None,
                    reason_code=row.reason_code,
                    reason=row.reason_text,
                )
            )
    return entries
