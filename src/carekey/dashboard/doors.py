"""The doors as the office sees them: battery, firmware, last contact, clock, denylist version
seen, stored events, whose home it is and where it sits.

An administrator or auditor sees the whole municipality's doors; a district lead the doors on
the way to the homes of their districts' citizens (home lock, stairwell, gate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.dashboard import queries
from carekey.dashboard.exposure import Exposure, exposed_doors
from carekey.dashboard.queries import DoorFilter, DoorRow
from carekey.domain import enums as e
from carekey.domain.paging import MAX_PAGE_SIZE, Page
from carekey.domain.places import Address
from carekey.doors.service import LOW_BATTERY_PCT
from carekey.store import models as m

ALARM_LOCK_STATES: Final = frozenset({e.LockState.JAMMED, e.LockState.UNKNOWN})
ALARM_DOOR_STATES: Final = frozenset({e.DoorSensorState.FORCED_OPEN, e.DoorSensorState.AJAR})
"""A door is in alarm while its newest signed events say its bolt is jammed or unknown, or its
leaf was forced open or stands ajar (Matter DoorLock's alarms; a low battery has its own list)."""

CLOCK_DRIFT_MS: Final = 2_000
"""A door clock further off than this (either way) is shown as drifting (2 s: about a year of a
±20 ppm crystal without a phone setting the time would be 10 minutes)."""


@dataclass(frozen=True)
class DoorSummary:
    """A door device with where it sits, whose home it is, and how many events it has stored."""

    id: int
    serial: str
    kind: e.DoorKind
    status: e.DoorStatus
    firmware_version: str
    battery_pct: int | None
    clock_offset_ms: int | None
    last_seen_at: dt.datetime | None
    denylist_version_seen: int
    last_event_seq: int
    installed_at: dt.datetime | None
    address: Address | None
    citizen_id: int | None = None
    citizen_name: str | None = None
    events_stored: int = 0
    refusals: int = 0
    lock_state: e.LockState | None = None
    door_state: e.DoorSensorState | None = None

    @property
    def alarm(self) -> bool:
        """The bolt is jammed or unknown, or the leaf was forced open or stands ajar."""
        return self.lock_state in ALARM_LOCK_STATES or self.door_state in ALARM_DOOR_STATES

    online_status: str | None = None
    """``online`` / ``offline`` from the door's signed reports over the broker; None for a
    door that has never been online (it learns from phones only)."""
    last_heard_at: dt.datetime | None = None

    def online_state(self, now: dt.datetime, offline_after_s: float) -> str | None:
        """``online`` (heard within ``offline_after_s``), ``offline``, or None (phones only)."""
        if self.online_status is None:
            return None
        heard = self.last_heard_at
        recent = heard is not None and (now - heard).total_seconds() <= offline_after_s
        return "online" if self.online_status == "online" and recent else "offline"

    events_dropped: int = 0
    """Events the door's ring evicted, by the door's own (unsigned) count as a phone reported
    it: information, not evidence (see :mod:`carekey.ingest.service`)."""

    @property
    def low_battery(self) -> bool:
        """Below the low-battery threshold."""
        return self.battery_pct is not None and self.battery_pct < LOW_BATTERY_PCT

    @property
    def drifting(self) -> bool:
        """The door's clock is further off than ``CLOCK_DRIFT_MS``."""
        return self.clock_offset_ms is not None and abs(self.clock_offset_ms) > CLOCK_DRIFT_MS


@dataclass(frozen=True)
class DoorDetail:
    """One door, the municipality's newest denylist version, and the door's exposure if any."""

    door: DoorSummary
    denylist_version_current: int
    exposure: Exposure | None


def summaries(db: Session, rows: Iterable[DoorRow], *, with_counts: bool) -> list[DoorSummary]:
    """The doors of ``rows`` with the citizen living behind each home lock and, when asked,
    how many events each has stored and how many of them were refusals."""
    rows = list(rows)
    residents = queries.residents(db, [r.door.dwelling_id for r in rows if r.door.dwelling_id])
    counts = queries.event_counts(db, [r.door.id for r in rows]) if with_counts else {}
    result = []
    for r in rows:
        d = r.door
        resident = residents.get(d.dwelling_id) if d.dwelling_id else None
        total, refusals = counts.get(d.id, (0, 0))
        result.append(
            DoorSummary(
                id=d.id,
                serial=d.serial,
                kind=e.DoorKind(d.kind),
                status=e.DoorStatus(d.status),
                firmware_version=d.firmware_version,
                battery_pct=d.battery_pct,
                clock_offset_ms=d.clock_offset_ms,
                last_seen_at=d.last_seen_at,
                denylist_version_seen=d.denylist_version_seen,
                last_event_seq=d.last_event_seq,
                installed_at=d.installed_at,
                address=r.address,
                citizen_id=resident[0] if resident else None,
                citizen_name=resident[1] if resident else None,
                events_stored=total,
                refusals=refusals,
                lock_state=e.LockState(d.lock_state) if d.lock_state else None,
                door_state=e.DoorSensorState(d.door_state) if d.door_state else None,
                events_dropped=d.events_dropped or 0,
                online_status=d.online_status,
                last_heard_at=d.last_heard_at,
            )
        )
    return result


def current_denylist_version(db: Session, municipality_id: int) -> int:
    """The municipality's newest denylist version (0 before the first)."""
    return queries.newest_denylist_version(db, municipality_id)


def list_doors(
    db: Session,
    *,
    actor: Actor,
    now: dt.datetime,
    kind: e.DoorKind | None = None,
    status: e.DoorStatus | None = None,
    low_battery: bool = False,
    drifting: bool = False,
    stale_denylist: bool = False,
    exposed: bool = False,
    serial: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[DoorSummary]:
    """Doors in the actor's scope with battery, firmware, last contact, clock offset, denylist
    version seen and stored event counts, filtered as asked:

    - ``low_battery``: below ``LOW_BATTERY_PCT`` per cent, weakest first;
    - ``drifting``: clock off by more than ``CLOCK_DRIFT_MS``, worst first;
    - ``stale_denylist``: has not seen the municipality's newest denylist version;
    - ``exposed``: may still accept a revoked key (``dashboard.exposure``);
    - ``serial``: serial number contains this text.
    """
    scope = reach(actor, Action.READ_DOORS)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    where = DoorFilter(
        kind=kind,
        status=status,
        serial_contains=serial.strip() if serial and serial.strip() else None,
        battery_below=LOW_BATTERY_PCT if low_battery else None,
        clock_off_by_more_than=CLOCK_DRIFT_MS if drifting else None,
        stale_denylist=stale_denylist,
        door_ids=(
            [x.door_id for x in exposed_doors(db, scope=scope, now=now)] if exposed else None
        ),
    )
    total, rows = queries.find_doors(db, scope, where, limit=limit, offset=offset)
    return Page(summaries(db, rows, with_counts=True), total, limit, offset)


def get_door(db: Session, *, actor: Actor, door_id: int, now: dt.datetime) -> DoorDetail:
    """One door in the actor's scope; another municipality's door is "not found", a door outside
    a district lead's districts is forbidden."""
    scope = reach(actor, Action.READ_DOORS)
    door = get_in_scope(db, scope, m.DoorDevice, door_id)
    summary = summaries(db, queries.door_rows(db, [door.id]), with_counts=True)[0]
    exposure = next(
        (x for x in exposed_doors(db, scope=scope, now=now) if x.door_id == door_id), None
    )
    return DoorDetail(summary, current_denylist_version(db, scope.municipality_id), exposure)
