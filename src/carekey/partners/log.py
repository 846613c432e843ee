"""The partner company's log of its own staff's openings (issue 15): who of the company's
workers opened, was refused at or locked which entrance or gate, and when, with a CSV export
for Danish Excel.

What the company sees is decided by one condition (``access.org_queries.partner_events_in``,
applied in ``partners.log_queries``): events by its own people only. Never an event by the
municipality's staff (home care is health data), never another company's, never a home lock.
Only a partner company's administrator gets here (403 for anyone else); another company's
worker as a filter is 404. Nothing here commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope
from carekey.access.org_queries import get_org_object
from carekey.audit.actions import record_admin_action
from carekey.audit.service import ACTION_TEXT
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page, check_page
from carekey.domain.places import Address
from carekey.partners import log_queries as sql
from carekey.partners.errands import company_scope
from carekey.store import models as m

LogRow = sql.LogRow
DoorPlace = sql.DoorPlace


@dataclass(frozen=True)
class LogFilter:
    """What the log is narrowed to: one worker, one door, a period ``[since, until)``."""

    worker_id: int | None = None
    door_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def details(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "door_id": self.door_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def _scope(db: Session, actor: Actor, found: LogFilter) -> Scope:
    scope = company_scope(actor, Action.READ_PARTNER_LOG)
    if found.worker_id is not None:
        get_org_object(db, scope, m.Employee, found.worker_id)
    return scope


def _rows(db: Session, scope: Scope, found: LogFilter, limit: int | None, offset: int) -> Any:
    return sql.company_log(
        db,
        scope,
        worker_id=found.worker_id,
        door_id=found.door_id,
        since=found.since,
        until=found.until,
        limit=limit,
        offset=offset,
    )


def company_log(
    db: Session,
    *,
    actor: Actor,
    filters: LogFilter = LogFilter(),
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[LogRow]:
    """The company's own workers' openings, refusals and lockings at entrances and gates,
    newest first."""
    scope = _scope(db, actor, filters)
    check_page(limit, offset)
    rows, total = _rows(db, scope, filters, limit, offset)
    return Page(rows, total or 0, limit, offset)


def export_company_log(
    db: Session, *, actor: Actor, filters: LogFilter, now: dt.datetime
) -> list[LogRow]:
    """Every row of the log under ``filters``, for the CSV; the export is itself written to
    the log of administrative actions."""
    scope = _scope(db, actor, filters)
    rows: list[LogRow] = _rows(db, scope, filters, None, 0)[0]
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="partner_log.exported",
        target_type="partner_company",
        target_id=scope.company_id,
        now=now,
        details={**filters.details(), "rows": len(rows)},
    )
    return rows


def log_doors(db: Session, *, actor: Actor) -> list[DoorPlace]:
    """The entrances and gates the company's agreements cover (the door filter's choices)."""
    return sql.agreement_doors(db, company_scope(actor, Action.READ_PARTNER_LOG))


def log_people(db: Session, *, actor: Actor) -> list[m.Employee]:
    """The company's people (the worker filter's choices)."""
    return sql.company_people(db, company_scope(actor, Action.READ_PARTNER_LOG))


def address_of(place: DoorPlace) -> Address:
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


LOG_CSV_HEADER: Final = (
    "Tidspunkt (dansk tid)",
    "Tidspunkt (UTC)",
    "Handling",
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


def company_log_csv(rows: Sequence[LogRow]) -> str:
    """The log as CSV for Danish Excel: UTF-8 BOM, semicolons, a Danish header row."""
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
                    row.worker_name,
                    address_of(row.place).text,
                    row.place.door.serial,
                    _KIND_DA.get(e.DoorKind(row.place.door.kind), ""),
                )
            ]
        )
    return buffer.getvalue()
