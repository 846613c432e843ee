"""The office's overview: today's figures, the health of the doors, and who has been in a home.

Everything here reads; nothing is written. Each figure is one aggregate query (or a handful),
never a loop over thousands of rows, so the dashboard stays fast on a municipality the size of
Copenhagen (3,500 doors, a large audit log).

Who sees what: an administrator sees the whole municipality; a district lead sees the doors on
the way to the homes of their districts' citizens (home lock, stairwell, gate), the events at
those doors, and the employees and phones of their districts; everyone else is refused.

Exposure after a revocation ("which doors may still accept a blocked key, and until when"):
a revoked credential is carried to the doors by the first denylist version published at or after
its revocation (``revocation.block_phone`` and friends write both in one transaction, so the
version's ``created_at`` equals the credential's ``revoked_at``). A door named in a revoked,
still unexpired credential whose ``denylist_version_seen`` is below that version may still open
for it until the credential expires; the door drops off the list as soon as it reports the
version, or when the last such credential expires. A removed citizen's home lock is exposed the
same way until it learns the version that withdrew it (bounded by the longest key lifetime).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from carekey.access import Action, Actor, Scope, get_in_scope, reach
from carekey.access import queries as access_sql
from carekey.audit.service import AuditRow, iter_audit
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.paging import MAX_PAGE_SIZE, Page
from carekey.domain.places import Address
from carekey.doors.service import LOW_BATTERY_PCT
from carekey.store import models as m

CLOCK_DRIFT_MS: Final = 2_000
"""A door clock further off than this (either way) is shown as drifting (2 s: about a year of a
±20 ppm crystal without a phone setting the time would be 10 minutes)."""
LEFT_UNLOCKED_AFTER: Final = dt.timedelta(minutes=15)
LEFT_UNLOCKED_LOOKBACK: Final = dt.timedelta(hours=24)
"""How far back to look for a home door that was opened and not locked again."""
MAX_KEY_LIFETIME: Final = dt.timedelta(hours=9)
ALERT_LIST: Final = 6
"""How many doors each alert list shows on the dashboard; the rest are one click away."""

OPENING_ACTIONS: Final = (e.AuditAction.UNLOCKED, e.AuditAction.RELAY_PULSED)
LOCK_STATE_ACTIONS: Final = (
    e.AuditAction.UNLOCKED,
    e.AuditAction.LOCKED,
    e.AuditAction.AUTO_RELOCKED,
    e.AuditAction.MANUAL_TURN,
)
CLOSING_ACTIONS: Final = (e.AuditAction.LOCKED, e.AuditAction.AUTO_RELOCKED)
LIVE_DOOR: Final = (
    e.DoorStatus.INSTALLED,
    e.DoorStatus.COMMISSIONED,
    e.DoorStatus.ACTIVE,
    e.DoorStatus.FAULTY,
)

AE = m.AuditEvent
DD = m.DoorDevice


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


# --- doors -------------------------------------------------------------------------------------


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

    @property
    def low_battery(self) -> bool:
        """Below the low-battery threshold."""
        return self.battery_pct is not None and self.battery_pct < LOW_BATTERY_PCT

    @property
    def drifting(self) -> bool:
        """The door's clock is further off than ``CLOCK_DRIFT_MS``."""
        return self.clock_offset_ms is not None and abs(self.clock_offset_ms) > CLOCK_DRIFT_MS


def _door_statement() -> Select[*tuple[Any, ...]]:
    dwelling = aliased(m.Dwelling)
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    return (
        select(
            DD,
            prop.id.label("property_id"),
            prop.street,
            prop.house_number,
            prop.postal_code,
            prop.city,
            entrance.id.label("entrance_id"),
            entrance.label.label("entrance_label"),
            dwelling.floor,
            dwelling.side,
            gate.label.label("gate_label"),
        )
        .outerjoin(dwelling, dwelling.id == DD.dwelling_id)
        .outerjoin(entrance, entrance.id == func.coalesce(DD.entrance_id, dwelling.entrance_id))
        .outerjoin(gate, gate.id == DD.gate_id)
        .outerjoin(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
    )


def _summaries(db: Session, rows: Iterable[Any], *, with_counts: bool) -> list[DoorSummary]:
    rows = list(rows)
    doors: list[m.DoorDevice] = [r[0] for r in rows]
    ids = [d.id for d in doors]
    dwelling_ids = [d.dwelling_id for d in doors if d.dwelling_id]
    residents: dict[int, tuple[int, str]] = {}
    if dwelling_ids:
        for cid, dwelling_id, given, family in db.execute(
            select(m.Citizen.id, m.Citizen.dwelling_id, m.Citizen.given_name, m.Citizen.family_name)
            .where(m.Citizen.dwelling_id.in_(dwelling_ids))
            .where(m.Citizen.status != e.CitizenStatus.REMOVED)
            .order_by(m.Citizen.id.desc())
        ):
            if dwelling_id is not None:
                residents[dwelling_id] = (cid, f"{given} {family}")
    counts: dict[int, tuple[int, int]] = {}
    if with_counts and ids:
        refused = func.sum(case((AE.action == e.AuditAction.REFUSED, 1), else_=0))
        counts = {
            door_id: (int(total), int(refusals or 0))
            for door_id, total, refusals in db.execute(
                select(AE.door_device_id, func.count(), refused)
                .where(AE.door_device_id.in_(ids))
                .group_by(AE.door_device_id)
            )
        }
    result = []
    for r in rows:
        d: m.DoorDevice = r[0]
        address = None
        if r.street is not None:
            address = Address(
                r.property_id,
                r.street,
                r.house_number,
                r.postal_code,
                r.city,
                entrance_id=r.entrance_id,
                entrance_label=r.entrance_label,
                dwelling_id=d.dwelling_id,
                floor=r.floor if d.dwelling_id else None,
                side=r.side if d.dwelling_id else None,
                gate_id=d.gate_id,
                gate_label=r.gate_label,
            )
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
                address=address,
                citizen_id=resident[0] if resident else None,
                citizen_name=resident[1] if resident else None,
                events_stored=total,
                refusals=refusals,
            )
        )
    return result


def current_denylist_version(db: Session, municipality_id: int) -> int:
    """The municipality's newest denylist version (0 before the first)."""
    version = db.execute(
        select(func.max(m.DenylistVersion.version)).where(
            m.DenylistVersion.municipality_id == municipality_id
        )
    ).scalar()
    return int(version or 0)


def _drifting() -> ColumnElement[bool]:
    return or_(DD.clock_offset_ms > CLOCK_DRIFT_MS, DD.clock_offset_ms < -CLOCK_DRIFT_MS)


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
    - ``exposed``: may still accept a revoked key (see the module's docstring);
    - ``serial``: serial number contains this text.
    """
    scope = reach(actor, Action.READ_DOORS)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    where: list[ColumnElement[bool]] = [access_sql.doors_in(scope)]
    order: list[Any] = [DD.serial, DD.id]
    if kind is not None:
        where.append(DD.kind == kind)
    if status is not None:
        where.append(DD.status == status)
    if serial and serial.strip():
        escaped = serial.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(DD.serial.ilike(f"%{escaped}%", escape="\\"))
    if low_battery:
        where.append(DD.battery_pct < LOW_BATTERY_PCT)
        order = [DD.battery_pct, *order]
    if drifting:
        where.append(_drifting())
        order = [func.abs(DD.clock_offset_ms).desc(), *order]
    if stale_denylist:
        where.append(DD.denylist_version_seen < current_denylist_version(db, scope.municipality_id))
        where.append(DD.status.in_(LIVE_DOOR))
    if exposed:
        where.append(DD.id.in_([x.door_id for x in exposed_doors(db, scope=scope, now=now)]))
    total = db.execute(select(func.count()).select_from(DD).where(*where)).scalar_one()
    rows = db.execute(_door_statement().where(*where).order_by(*order).limit(limit).offset(offset))
    return Page(_summaries(db, rows, with_counts=True), int(total), limit, offset)


@dataclass(frozen=True)
class DoorDetail:
    """One door, the municipality's newest denylist version, and the door's exposure if any."""

    door: DoorSummary
    denylist_version_current: int
    exposure: Exposure | None


def get_door(db: Session, *, actor: Actor, door_id: int, now: dt.datetime) -> DoorDetail:
    """One door in the actor's scope; another municipality's door is "not found", a door outside
    a district lead's districts is forbidden."""
    scope = reach(actor, Action.READ_DOORS)
    door = get_in_scope(db, scope, DD, door_id)
    rows = list(db.execute(_door_statement().where(DD.id == door.id)))
    summary = _summaries(db, rows, with_counts=True)[0]
    exposure = next(
        (x for x in exposed_doors(db, scope=scope, now=now) if x.door_id == door_id), None
    )
    return DoorDetail(summary, current_denylist_version(db, scope.municipality_id), exposure)


# --- exposure after a revocation ---------------------------------------------------------------


@dataclass(frozen=True)
class Exposure:
    """A door that may still accept a revoked key: until when, and whose keys."""

    door_id: int
    serial: str
    kind: e.DoorKind
    address: Address | None
    version_seen: int
    version_needed: int | None  # None: no denylist version carries it; it ends at ``until``
    until: dt.datetime
    employee_names: tuple[str, ...] = ()
    citizen_removed: bool = False


@dataclass(frozen=True)
class RevocationExposure:
    """One revocation (a blocked phone or employee, a revoked emergency key, a removed citizen)
    and the doors that have not yet learnt of it: how many, and the latest time one of its keys
    could still work at one of them."""

    kind: str  # "phone", "employee", "emergency", "citizen" or "other"
    revoked_at: dt.datetime
    doors: int
    until: dt.datetime
    employee_id: int | None = None
    name: str | None = None  # the employee, partner staff member or removed citizen
    employee_number: str | None = None
    phone_labels: tuple[str, ...] = ()
    citizen_id: int | None = None


# (employee id, partner staff id, citizen id, revoked at): one revocation
_GroupKey = tuple[int | None, int | None, int | None, dt.datetime]
# (version needed, until, employee id, citizen removal, revocation)
_Need = tuple[int | None, dt.datetime, int | None, bool, _GroupKey]


def exposed_doors(db: Session, *, scope: Scope, now: dt.datetime) -> list[Exposure]:
    """Doors in scope that have not yet learnt of a revocation whose keys are still unexpired,
    with the latest time such a key could work there; latest first."""
    return _exposure(db, scope=scope, now=now)[0]


def exposure_by_revocation(
    db: Session, *, scope: Scope, now: dt.datetime
) -> list[RevocationExposure]:
    """The same exposure, one line per revocation: who was blocked and when, how many doors in
    scope have not yet learnt of it, and the latest time one of its keys could still work at
    one of them; the longest-lasting first."""
    return _exposure(db, scope=scope, now=now)[1]


def _exposure(
    db: Session, *, scope: Scope, now: dt.datetime
) -> tuple[list[Exposure], list[RevocationExposure]]:
    ic = m.IssuedCredential
    creds = db.execute(
        select(
            ic.door_device_ids,
            ic.revoked_at,
            ic.expires_at,
            ic.employee_id,
            ic.partner_staff_id,
            ic.phone_id,
            ic.emergency_grant_id,
        )
        .where(ic.municipality_id == scope.municipality_id)
        .where(ic.revoked_at.is_not(None))
        .where(ic.expires_at > now)
    ).all()
    removed = db.execute(
        select(DD.id, m.Citizen.removed_at, m.Citizen.id)
        .join(m.Citizen, m.Citizen.dwelling_id == DD.dwelling_id)
        .where(m.Citizen.municipality_id == scope.municipality_id)
        .where(m.Citizen.status == e.CitizenStatus.REMOVED)
        .where(m.Citizen.removed_at > now - MAX_KEY_LIFETIME)
        .where(DD.status != e.DoorStatus.DECOMMISSIONED)
    ).all()
    if not creds and not removed:
        return [], []
    earliest = min(
        [c.revoked_at for c in creds if c.revoked_at]
        + [r.removed_at for r in removed if r.removed_at]
    )
    versions = db.execute(
        select(m.DenylistVersion.created_at, m.DenylistVersion.version)
        .where(m.DenylistVersion.municipality_id == scope.municipality_id)
        .where(m.DenylistVersion.created_at >= earliest)
        .order_by(m.DenylistVersion.created_at, m.DenylistVersion.version)
    ).all()
    times = [v.created_at for v in versions]

    def carrier(at: dt.datetime) -> int | None:
        i = bisect.bisect_left(times, at)
        return int(versions[i].version) if i < len(versions) else None

    needs: dict[int, list[_Need]] = defaultdict(list)
    phones: dict[_GroupKey, set[int]] = defaultdict(set)
    emergency: set[_GroupKey] = set()
    for c in creds:
        version = carrier(c.revoked_at)
        key: _GroupKey = (c.employee_id, c.partner_staff_id, None, c.revoked_at)
        if c.phone_id is not None:
            phones[key].add(int(c.phone_id))
        if c.emergency_grant_id is not None:
            emergency.add(key)
        for door_id in c.door_device_ids or ():
            needs[int(door_id)].append((version, c.expires_at, c.employee_id, False, key))
    if removed:
        # The longest any key issued before the removal can live.
        latest_key = db.execute(
            select(func.max(ic.expires_at))
            .where(ic.municipality_id == scope.municipality_id)
            .where(ic.expires_at > now)
            .where(ic.issued_at <= max(r.removed_at for r in removed if r.removed_at))
        ).scalar()
        for door_id, removed_at, citizen_id in removed:
            if latest_key is None or removed_at is None:
                continue
            until = min(removed_at + MAX_KEY_LIFETIME, latest_key)
            if until > now:
                key = (None, None, int(citizen_id), removed_at)
                needs[door_id].append((carrier(removed_at), until, None, True, key))
    if not needs:
        return [], []
    rows = db.execute(
        _door_statement()
        .where(DD.id.in_(list(needs)))
        .where(access_sql.doors_in(scope))
        .where(DD.status != e.DoorStatus.DECOMMISSIONED)
    ).all()
    doors = {s.id: s for s in _summaries(db, rows, with_counts=False)}
    found: list[tuple[DoorSummary, list[_Need]]] = []
    for door_id, wanted in needs.items():
        door = doors.get(door_id)
        if door is None:
            continue
        open_ = [w for w in wanted if w[0] is None or w[0] > door.denylist_version_seen]
        if open_:
            found.append((door, open_))
    employee_ids = {w[2] for _, ws in found for w in ws if w[2] is not None}
    employees: dict[int, tuple[str, str, dt.datetime | None]] = {
        row.id: (row.full_name, row.employee_number, row.blocked_at)
        for row in db.execute(
            select(
                m.Employee.id,
                m.Employee.full_name,
                m.Employee.employee_number,
                m.Employee.blocked_at,
            ).where(m.Employee.id.in_(employee_ids))
        )
    }
    names = {k: v[0] for k, v in employees.items()}
    result = []
    # revocation -> door id -> the latest time one of its keys could work there
    per_revocation: dict[_GroupKey, dict[int, dt.datetime]] = defaultdict(dict)
    for door, ws in found:
        needed = [w[0] for w in ws]
        for w in ws:
            seen = per_revocation[w[4]].get(door.id)
            per_revocation[w[4]][door.id] = w[1] if seen is None else max(seen, w[1])
        result.append(
            Exposure(
                door_id=door.id,
                serial=door.serial,
                kind=door.kind,
                address=door.address,
                version_seen=door.denylist_version_seen,
                version_needed=None if None in needed else max(v for v in needed if v is not None),
                until=max(w[1] for w in ws),
                employee_names=tuple(sorted({names[w[2]] for w in ws if w[2] in names})),
                citizen_removed=any(w[3] for w in ws),
            )
        )
    result.sort(key=lambda x: (x.until, x.serial), reverse=True)
    return result, _revocations(db, per_revocation, employees, phones, emergency)


def _revocations(
    db: Session,
    per_revocation: dict[_GroupKey, dict[int, dt.datetime]],
    employees: dict[int, tuple[str, str, dt.datetime | None]],
    phones: dict[_GroupKey, set[int]],
    emergency: set[_GroupKey],
) -> list[RevocationExposure]:
    keys = list(per_revocation)
    phone_ids = {p for k in keys for p in phones.get(k, ())}
    labels: dict[int, str] = (
        dict(db.execute(select(m.Phone.id, m.Phone.label).where(m.Phone.id.in_(phone_ids))).all())
        if phone_ids
        else {}
    )
    partner_ids = {k[1] for k in keys if k[1] is not None}
    partners: dict[int, str] = (
        dict(
            db.execute(
                select(m.PartnerStaff.id, m.PartnerStaff.full_name).where(
                    m.PartnerStaff.id.in_(partner_ids)
                )
            ).all()
        )
        if partner_ids
        else {}
    )
    citizen_ids = {k[2] for k in keys if k[2] is not None}
    citizens: dict[int, str] = {
        row.id: f"{row.given_name} {row.family_name}"
        for row in db.execute(
            select(m.Citizen.id, m.Citizen.given_name, m.Citizen.family_name).where(
                m.Citizen.id.in_(citizen_ids)
            )
        )
    }
    lines = []
    for key, doors in per_revocation.items():
        employee_id, partner_id, citizen_id, revoked_at = key
        employee = employees.get(employee_id) if employee_id is not None else None
        kind = "other"
        if citizen_id is not None:
            kind = "citizen"
        elif key in emergency:
            kind = "emergency"
        elif employee is not None and employee[2] == revoked_at:
            kind = "employee"
        elif phones.get(key):
            kind = "phone"
        name = (
            citizens.get(citizen_id)
            if citizen_id is not None
            else employee[0]
            if employee is not None
            else partners.get(partner_id)
            if partner_id is not None
            else None
        )
        lines.append(
            RevocationExposure(
                kind=kind,
                revoked_at=revoked_at,
                doors=len(doors),
                until=max(doors.values()),
                employee_id=employee_id,
                name=name,
                employee_number=employee[1] if employee is not None else None,
                phone_labels=tuple(sorted(labels[p] for p in phones.get(key, ()) if p in labels)),
                citizen_id=citizen_id,
            )
        )
    lines.sort(key=lambda x: (x.until, x.revoked_at, x.doors), reverse=True)
    return lines


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
    drifting_count: int
    drifting: list[DoorSummary]
    left_unlocked_count: int
    left_unlocked: list[UnlockedDoor]
    exposed: list[Exposure] = field(default_factory=list)
    revocations: list[RevocationExposure] = field(default_factory=list)

    @property
    def alert_count(self) -> int:
        """How many doors need attention."""
        return (
            self.low_battery_count
            + self.drifting_count
            + self.left_unlocked_count
            + len(self.exposed)
        )


def _today_counts(db: Session, scope: Scope, now: dt.datetime) -> tuple[int, int, dt.datetime]:
    start, end = local_day(now)
    opened = func.sum(case((AE.action.in_(OPENING_ACTIONS), 1), else_=0))
    refused = func.sum(case((AE.action == e.AuditAction.REFUSED, 1), else_=0))
    stmt = (
        select(opened, refused)
        .where(AE.municipality_id == scope.municipality_id)
        .where(AE.occurred_at >= start)
        .where(AE.occurred_at < end)
        .where(AE.action.in_((*OPENING_ACTIONS, e.AuditAction.REFUSED)))
    )
    if scope.district_ids is not None:
        stmt = stmt.where(AE.door_device_id.in_(select(DD.id).where(access_sql.doors_in(scope))))
    row = db.execute(stmt).one()
    return int(row[0] or 0), int(row[1] or 0), start


def _left_unlocked(db: Session, scope: Scope, now: dt.datetime) -> tuple[int, list[UnlockedDoor]]:
    ranked = (
        select(
            AE.door_device_id,
            AE.action,
            AE.occurred_at,
            AE.employee_id,
            func.row_number()
            .over(partition_by=AE.door_device_id, order_by=(AE.occurred_at.desc(), AE.id.desc()))
            .label("rank"),
        )
        .join(DD, DD.id == AE.door_device_id)
        .where(AE.municipality_id == scope.municipality_id)
        .where(AE.occurred_at >= now - LEFT_UNLOCKED_LOOKBACK)
        .where(AE.occurred_at <= now)
        .where(AE.action.in_(LOCK_STATE_ACTIONS))
        .where(DD.kind == e.DoorKind.HOME_LOCK)
        .where(access_sql.doors_in(scope))
        .subquery()
    )
    latest = db.execute(
        select(ranked.c.door_device_id, ranked.c.occurred_at, m.Employee.full_name)
        .outerjoin(m.Employee, m.Employee.id == ranked.c.employee_id)
        .where(ranked.c.rank == 1)
        .where(ranked.c.action == e.AuditAction.UNLOCKED)
        .where(ranked.c.occurred_at < now - LEFT_UNLOCKED_AFTER)
        .order_by(ranked.c.occurred_at)
    ).all()
    if not latest:
        return 0, []
    count, latest = len(latest), latest[:ALERT_LIST]  # longest open first
    rows = db.execute(_door_statement().where(DD.id.in_([r[0] for r in latest]))).all()
    doors = {s.id: s for s in _summaries(db, rows, with_counts=False)}
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
    openings, refusals, day_start = _today_counts(db, scope, now)
    ic = m.IssuedCredential
    live_keys = db.execute(
        select(func.count(func.distinct(ic.employee_id)))
        .where(ic.municipality_id == scope.municipality_id)
        .where(ic.employee_id.is_not(None))
        .where(ic.revoked_at.is_(None))
        .where(ic.expires_at > now)
        .where(ic.not_before <= now)
        .where(access_sql.employee_ids_in(scope, ic.employee_id))
    ).scalar_one()
    blocked_phones = db.execute(
        select(func.count())
        .select_from(m.Phone)
        .where(m.Phone.municipality_id == scope.municipality_id)
        .where(m.Phone.status.in_((e.PhoneStatus.BLOCKED, e.PhoneStatus.LOST)))
        .where(access_sql.employee_ids_in(scope, m.Phone.employee_id))
    ).scalar_one()
    blocked_employees = db.execute(
        select(func.count())
        .select_from(m.Employee)
        .where(m.Employee.municipality_id == scope.municipality_id)
        .where(m.Employee.status == e.EmployeeStatus.BLOCKED)
        .where(access_sql.employee_ids_in(scope, m.Employee.id))
    ).scalar_one()
    live = [access_sql.doors_in(scope), DD.status.in_(LIVE_DOOR)]
    low_count, drift_count = db.execute(
        select(
            func.sum(case((DD.battery_pct < LOW_BATTERY_PCT, 1), else_=0)),
            func.sum(case((_drifting(), 1), else_=0)),
        ).where(*live)
    ).one()
    low = db.execute(
        _door_statement()
        .where(*live)
        .where(DD.battery_pct < LOW_BATTERY_PCT)
        .order_by(DD.battery_pct, DD.serial)
        .limit(ALERT_LIST)
    ).all()
    drift = db.execute(
        _door_statement()
        .where(*live)
        .where(_drifting())
        .order_by(func.abs(DD.clock_offset_ms).desc(), DD.serial)
        .limit(ALERT_LIST)
    ).all()
    left_count, left = _left_unlocked(db, scope, now)
    exposed, revocations = _exposure(db, scope=scope, now=now)
    return Dashboard(
        day_start=day_start,
        openings_today=openings,
        refusals_today=refusals,
        employees_with_live_keys=int(live_keys),
        blocked_phones=int(blocked_phones),
        blocked_employees=int(blocked_employees),
        denylist_version=current_denylist_version(db, scope.municipality_id),
        low_battery_count=int(low_count or 0),
        low_battery=_summaries(db, low, with_counts=False),
        drifting_count=int(drift_count or 0),
        drifting=_summaries(db, drift, with_counts=False),
        left_unlocked_count=left_count,
        left_unlocked=left,
        exposed=exposed,
        revocations=revocations,
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
    if row.employee_name:
        return row.employee_name
    if row.partner_name:
        return f"{row.partner_name} ({row.partner_company})"
    return None


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
