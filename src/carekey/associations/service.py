"""The housing association's portal: its properties and the modules fitted there, the
municipality's requests for permission to fit them, the partner companies it may make agreements
with, and the partner log (issue 15). The agreements themselves are in
``associations.agreements``.

Only a housing association's own user gets here: every use case asks ``reach`` for the action
and then insists on the association's scope (:func:`association_scope`), so the municipality's
staff (who read associations through the organisation register) and partner companies get 403.
Another association's property, request or agreement is 404.

What an association sees of home care is decided here, once (docs/access.md, "What a housing
association sees"): never a citizen, a dwelling, a home lock or a municipal employee; the
municipality's openings of its entrance and gate controllers only as a count per property and
finished calendar month, in bands (:func:`opening_band`). Nothing here commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, reach
from carekey.access.org_queries import get_org_object
from carekey.associations import queries as sql
from carekey.audit.actions import record_admin_action
from carekey.audit.service import ACTION_TEXT
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, InvariantError, forbidden, not_found
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page, check_page
from carekey.domain.places import Address
from carekey.domain.text import optional_text
from carekey.domain.values import MAX_ID
from carekey.store import models as m

MONTHS_SHOWN: Final = 3
"""How many finished calendar months of the municipality's openings the portal shows."""
BAND_SMALL: Final = 10
"""Counts from 1 to ``BAND_SMALL - 1`` are shown as "under 10", never as the number."""
MAX_NOTE: Final = 2000


def association_scope(actor: Actor, action: Action) -> Scope:
    """The actor's own association's scope for ``action``; 403 for anyone who is not a housing
    association's user (the municipality's staff and partner companies have other pages)."""
    scope = reach(actor, action)
    if scope.association_id is None:
        raise forbidden()
    return scope


def own_association(db: Session, *, actor: Actor) -> m.HousingAssociation:
    """The actor's own housing association (for a page's header)."""
    scope = association_scope(actor, Action.READ_PROPERTIES)
    assert scope.association_id is not None
    return get_org_object(db, scope, m.HousingAssociation, scope.association_id)


# --- the anonymous count of the municipality's openings ----------------------------------------


def opening_band(count: int) -> str:
    """A count of the municipality's openings as the portal shows it: ``"0"``, ``"under_10"``
    for 1–9, else rounded to the nearest ten (``"10"`` for 10–14, ``"20"`` for 15–24, ...)."""
    if count <= 0:
        return "0"
    if count < BAND_SMALL:
        return "under_10"
    return str((count + 5) // 10 * 10)


@dataclass(frozen=True)
class Month:
    """A finished calendar month in Danish time: ``label`` is ``"2026-10"``."""

    label: str
    start: dt.datetime
    end: dt.datetime


def finished_months(now: dt.datetime, count: int = MONTHS_SHOWN) -> list[Month]:
    """The ``count`` calendar months before the current one (Danish time), oldest first. The
    current month is never shown: a count that grows while one watches would date a visit."""
    local = now.astimezone(COPENHAGEN)
    year, month = local.year, local.month
    starts: list[tuple[int, int]] = []
    for _ in range(count + 1):
        starts.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    starts.reverse()
    edges = [dt.datetime(y, mo, 1, tzinfo=COPENHAGEN).astimezone(dt.UTC) for y, mo in starts]
    return [
        Month(f"{y:04d}-{mo:02d}", edges[i], edges[i + 1]) for i, (y, mo) in enumerate(starts[:-1])
    ]


@dataclass(frozen=True)
class OpeningCount:
    """The municipality's openings at one property in one finished month, as a band."""

    month: str
    band: str


# --- properties --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntranceView:
    """An entrance and the controllers fitted in it."""

    entrance: m.Entrance
    modules: list[m.DoorDevice]


@dataclass(frozen=True)
class GateView:
    """A gate and the controllers fitted in it."""

    gate: m.Gate
    modules: list[m.DoorDevice]


@dataclass(frozen=True)
class PropertyView:
    """One of the association's properties: entrances, gates, modules, and the anonymous
    count of the municipality's openings per finished month."""

    property: m.Property
    entrances: list[EntranceView]
    gates: list[GateView]
    openings: list[OpeningCount]


def _property_views(
    db: Session, scope: Scope, props: Sequence[m.Property], now: dt.datetime
) -> list[PropertyView]:
    ids = [p.id for p in props]
    entrances = sql.entrances_of(db, ids)
    gates = sql.gates_of(db, ids)
    by_entrance: dict[int, list[m.DoorDevice]] = {}
    by_gate: dict[int, list[m.DoorDevice]] = {}
    for door in sql.modules(db, scope, ids):
        if door.entrance_id is not None:
            by_entrance.setdefault(door.entrance_id, []).append(door)
        elif door.gate_id is not None:
            by_gate.setdefault(door.gate_id, []).append(door)
    months = finished_months(now)
    bounds = [x.start for x in months] + [months[-1].end] if months else []
    counts = sql.municipal_openings(db, scope, bounds)
    return [
        PropertyView(
            p,
            [EntranceView(x, by_entrance.get(x.id, [])) for x in entrances.get(p.id, [])],
            [GateView(x, by_gate.get(x.id, [])) for x in gates.get(p.id, [])],
            [
                OpeningCount(month.label, opening_band(counts.get((p.id, i), 0)))
                for i, month in enumerate(months)
            ],
        )
        for p in props
    ]


def list_properties(
    db: Session,
    *,
    actor: Actor,
    now: dt.datetime,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[PropertyView]:
    """The association's properties by address, with their entrances, gates and modules."""
    scope = association_scope(actor, Action.READ_PROPERTIES)
    check_page(limit, offset)
    props, total = sql.properties(db, scope, limit=limit, offset=offset)
    return Page(_property_views(db, scope, props, now), total, limit, offset)


def get_property(db: Session, *, actor: Actor, property_id: int, now: dt.datetime) -> PropertyView:
    """One of the association's properties (404 for anyone else's)."""
    scope = association_scope(actor, Action.READ_PROPERTIES)
    prop = get_org_object(db, scope, m.Property, property_id)
    return _property_views(db, scope, [prop], now)[0]


# --- permission requests -----------------------------------------------------------------------


class Decision(StrEnum):
    """How the association answers the municipality's request."""

    GRANT = "grant"
    REFUSE = "refuse"


@dataclass(frozen=True)
class PermissionView:
    """A request for permission to fit modules at one of the association's properties."""

    request: m.PermissionRequest
    property: m.Property


def list_permission_requests(
    db: Session,
    *,
    actor: Actor,
    status: e.PermissionStatus | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[PermissionView]:
    """The municipality's requests for the association's properties, open ones first."""
    scope = association_scope(actor, Action.READ_PROPERTIES)
    check_page(limit, offset)
    rows, total = sql.permission_requests(db, scope, status=status, limit=limit, offset=offset)
    return Page([PermissionView(r, p) for r, p in rows], total, limit, offset)


def _permission(db: Session, scope: Scope, request_id: int) -> PermissionView:
    found = sql.permission_request(db, scope, request_id) if 1 <= request_id <= MAX_ID else None
    if found is None:
        raise not_found("Anmodningen", "permission request")
    return PermissionView(*found)


def get_permission_request(db: Session, *, actor: Actor, request_id: int) -> PermissionView:
    """One of the municipality's requests for the association's properties."""
    return _permission(db, association_scope(actor, Action.READ_PROPERTIES), request_id)


def _already_answered() -> ConflictError:
    return ConflictError(
        "permission.already_answered",
        "Anmodningen er allerede besvaret",
        "The request has already been answered",
    )


def answer_permission_request(
    db: Session,
    *,
    actor: Actor,
    request_id: int,
    decision: Decision,
    note: str | None,
    now: dt.datetime,
) -> PermissionView:
    """Grant or refuse a request that is still open (409 once answered). A refusal needs a
    note, so the municipality knows why; the answer names the user who gave it."""
    scope = association_scope(actor, Action.ANSWER_PERMISSION)
    view = _permission(db, scope, request_id)
    if view.request.status is not e.PermissionStatus.REQUESTED:
        raise _already_answered()
    text = optional_text(
        note, max_length=MAX_NOTE, code="permission.bad_note", what_da="Noten", what_en="The note"
    )
    if decision is Decision.REFUSE and text is None:
        raise InvariantError(
            "permission.note_required",
            "Skriv en note til kommunen om, hvorfor I siger nej",
            "Write a note to the municipality saying why you refuse",
        )
    status = (
        e.PermissionStatus.GRANTED if decision is Decision.GRANT else (e.PermissionStatus.REFUSED)
    )
    name = sql.person_name(db, actor.employee_id) or actor.label
    if not sql.decide_permission(db, request_id, status=status, by=name, note=text, now=now):
        raise _already_answered()
    db.refresh(view.request)
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action=(
            "permission.granted" if status is e.PermissionStatus.GRANTED else "permission.refused"
        ),
        target_type="permission_request",
        target_id=request_id,
        reason=text,
        now=now,
        details={"property_id": view.property.id, "decision": decision.value},
    )
    return view


# --- the companies the association may make agreements with ------------------------------------


@dataclass(frozen=True)
class CompanyView:
    """A company of the municipality's register, and the association's agreements with it."""

    company: m.PartnerCompany
    agreements: int
    blocked: int

    @property
    def blocked_here(self) -> bool:
        """Whether the association has blocked the company (any of its agreements blocked)."""
        return self.blocked > 0


def list_companies(db: Session, *, actor: Actor) -> list[CompanyView]:
    """The municipality's approved companies and public bodies (name, kind, CVR: public
    facts), each with the association's agreements with it."""
    scope = association_scope(actor, Action.READ_AGREEMENTS)
    counts = sql.agreement_counts(db, scope)
    return [CompanyView(c, *counts.get(c.id, (0, 0))) for c in sql.companies(db, scope)]


def get_company(db: Session, *, actor: Actor, company_id: int) -> CompanyView:
    """One company of the register (404 for another municipality's)."""
    scope = association_scope(actor, Action.READ_AGREEMENTS)
    company = get_org_object(db, scope, m.PartnerCompany, company_id)
    counts = sql.agreement_counts(db, scope)
    return CompanyView(company, *counts.get(company.id, (0, 0)))


# --- the history of one thing ------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    """One administrative action on an agreement; the municipality's staff are never named."""

    at: dt.datetime
    action: str
    by: str | None  # None: the municipality (never a name)
    reason: str | None


def history(
    db: Session, scope: Scope, *, target_type: str, target_id: int, limit: int = 10
) -> list[HistoryLine]:
    """What was done to one of the association's things, newest first."""
    return [
        HistoryLine(a.at, a.action, a.actor_label if own else None, a.reason if own else None)
        for a, own in sql.history_of(
            db, scope, target_type=target_type, target_id=target_id, limit=limit
        )
    ]


# --- the partner log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilter:
    """What the partner log is narrowed to."""

    company_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def details(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def _log_scope(db: Session, actor: Actor, found: LogFilter) -> Scope:
    scope = association_scope(actor, Action.READ_PARTNER_LOG)
    if found.company_id is not None:
        get_org_object(db, scope, m.PartnerCompany, found.company_id)
    return scope


def partner_log(
    db: Session,
    *,
    actor: Actor,
    filters: LogFilter = LogFilter(),
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[sql.LogRow]:
    """Who of the partner companies' workers opened the association's entrances and gates, and
    when, newest first. Never an event by the municipality's staff (home care)."""
    scope = _log_scope(db, actor, filters)
    check_page(limit, offset)
    rows, total = sql.partner_log(
        db,
        scope,
        company_id=filters.company_id,
        since=filters.since,
        until=filters.until,
        limit=limit,
        offset=offset,
    )
    return Page(rows, total or 0, limit, offset)


def export_partner_log(
    db: Session, *, actor: Actor, filters: LogFilter, now: dt.datetime
) -> list[sql.LogRow]:
    """Every row of the partner log under ``filters``, for the CSV; the export is itself
    written to the log of administrative actions."""
    scope = _log_scope(db, actor, filters)
    rows, _total = sql.partner_log(
        db,
        scope,
        company_id=filters.company_id,
        since=filters.since,
        until=filters.until,
        limit=None,
    )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="partner_log.exported",
        target_type="housing_association",
        target_id=scope.association_id,
        now=now,
        details={**filters.details(), "rows": len(rows)},
    )
    return rows


def address_of(place: sql.DoorPlace) -> Address:
    """Where a controller sits: its entrance or gate at the property's address."""
    p = place.property
    return Address(
        property_id=p.id,
        street=p.street,
        house_number=p.house_number,
        postal_code=p.postal_code,
        city=p.city,
        entrance_id=place.entrance.id if place.entrance else None,
        entrance_label=place.entrance.label if place.entrance else None,
        gate_id=place.gate.id if place.gate else None,
        gate_label=place.gate.label if place.gate else None,
    )


def property_address(p: m.Property) -> str:
    """A property's street address: "Nørrebrogade 12, 2200 København N"."""
    return Address(p.id, p.street, p.house_number, p.postal_code, p.city).text


def last_seen_on(door: m.DoorDevice) -> dt.date | None:
    """The day (Danish time) a module was last heard from. Only the day: the minute a phone
    last touched a stairwell door would date a visit."""
    return door.last_seen_at.astimezone(COPENHAGEN).date() if door.last_seen_at else None


LOG_CSV_HEADER: Final = (
    "Tidspunkt (dansk tid)",
    "Tidspunkt (UTC)",
    "Handling",
    "Firma",
    "Medarbejder",
    "Sted",
    "Modul (serienummer)",
    "Modultype",
)
_KIND_DA: Final = {
    e.DoorKind.ENTRANCE_CONTROLLER: "Opgangsdør",
    e.DoorKind.GATE_CONTROLLER: "Port",
}


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to Excel; names typed by people stay text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def partner_log_csv(rows: Sequence[sql.LogRow]) -> str:
    """The partner log as CSV for Danish Excel: UTF-8 BOM, semicolons, a Danish header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(LOG_CSV_HEADER)
    for row in rows:
        when = row.event.occurred_at
        writer.writerow(
            [
                _cell(x)
                for x in (
                    when.astimezone(COPENHAGEN).strftime("%d-%m-%Y %H:%M:%S"),
                    when.astimezone(dt.UTC).isoformat(),
                    ACTION_TEXT.get(e.AuditAction(row.event.action), ("", ""))[0],
                    row.company_name,
                    row.worker_name,
                    address_of(row.place).text,
                    row.place.door.serial,
                    _KIND_DA.get(e.DoorKind(row.place.door.kind), ""),
                )
            ]
        )
    return buffer.getvalue()
