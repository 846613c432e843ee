"""Reading the audit log: who, which door, when and what, for the office and for export.

Administrators and auditors see their own municipality's events; a district lead sees only the
events at the doors of the citizens of their districts (home lock, stairwell, gate) and events
about those citizens. Nobody ever sees another municipality's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, reach, require
from carekey.adminui import codes
from carekey.audit import queries
from carekey.audit.queries import LogFilter
from carekey.domain import enums as e

LOCAL_ZONE: Final = ZoneInfo("Europe/Copenhagen")
MAX_PAGE: Final = 1_000
CSV_CHUNK: Final = 1_000


# The words live in ``adminui.codes`` (one dictionary per kind of code); kept here by name for
# the parts that read them through the audit log's service.
ACTION_TEXT: Final = codes.AUDIT_ACTIONS
WIPE_REASON_TEXT: Final = codes.WIPE_REASONS


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One line of the audit log, ready to show."""

    id: int
    occurred_at: dt.datetime
    source: e.AuditSource
    action: e.AuditAction
    reason_code: str | None
    employee_id: int | None
    employee_name: str | None
    employee_number: str | None
    partner_company_id: int | None
    """Set when the person is a partner company's worker (issue 15)."""
    partner_company: str | None
    citizen_id: int | None
    citizen_name: str | None
    door_device_id: int | None
    door_serial: str | None
    door_kind: e.DoorKind | None
    address: str | None
    door_seq: int | None
    chain_gap: bool
    chain_broken: bool
    chain_evicted: bool = False
    """The gap before this event is explained by the door's signed LOG_OVERFLOW marker."""

    @property
    def local_time(self) -> dt.datetime:
        """``occurred_at`` in Danish time."""
        return self.occurred_at.astimezone(LOCAL_ZONE)

    @property
    def flags(self) -> list[str]:
        """What is wrong with this event's place in its door's chain, if anything: a gap the
        door's overflow marker explains is ``chain_evicted`` instead of ``chain_gap``."""
        gap = "chain_evicted" if self.chain_evicted else "chain_gap"
        return [
            name for name, on in ((gap, self.chain_gap), ("chain_broken", self.chain_broken)) if on
        ]

    @property
    def what(self) -> tuple[str, str]:
        """The action in Danish and English."""
        return action_text(self.action)

    @property
    def reason_text(self) -> tuple[str, str] | None:
        """The reason in plain words: why the app wiped its keys, or a protocol refusal code."""
        return codes.reason_pair(self.reason_code, self.action)

    def to_json(self) -> dict[str, Any]:
        """The JSON the administration API returns for this row."""
        what_da, what_en = self.what
        reason = self.reason_text
        who: dict[str, Any] | None = None
        if self.employee_id is not None and self.partner_company_id is not None:
            who = {
                "type": "partner",
                "id": self.employee_id,
                "name": self.employee_name,
                "employee_number": self.employee_number,
                "company": self.partner_company,
            }
        elif self.employee_id is not None:
            who = {
                "type": "employee",
                "id": self.employee_id,
                "name": self.employee_name,
                "employee_number": self.employee_number,
            }
        return {
            "id": self.id,
            "occurred_at": _utc_text(self.occurred_at),
            "occurred_at_local": self.local_time.isoformat(),
            "source": str(self.source),
            "action": str(self.action),
            "what": what_da,
            "what_en": what_en,
            "reason_code": self.reason_code,
            "reason": reason[0] if reason else None,
            "reason_en": reason[1] if reason else None,
            "who": who,
            "citizen": (
                {"id": self.citizen_id, "name": self.citizen_name}
                if self.citizen_id is not None
                else None
            ),
            "door": (
                {
                    "id": self.door_device_id,
                    "serial": self.door_serial,
                    "kind": str(self.door_kind) if self.door_kind else None,
                    "address": self.address,
                }
                if self.door_device_id is not None
                else None
            ),
            "door_seq": self.door_seq,
            "flags": self.flags,
        }

    def to_csv(self, language: str = "da") -> list[str]:
        """The cells of this row under ``audit.export.CSV_HEADER`` (or its English), every code
        in words of ``language``."""
        reason = self.reason_text
        who = self.employee_name or ""
        partner = self.partner_company or "" if self.partner_company_id else ""
        return [
            self.local_time.strftime("%Y-%m-%d %H:%M:%S"),
            _utc_text(self.occurred_at),
            codes.in_language(self.what, language),
            codes.in_language(reason, language) if reason else (self.reason_code or ""),
            who,
            self.employee_number or "",
            partner,
            self.citizen_name or "",
            self.door_serial or "",
            codes.door_kind_label(self.door_kind, language),
            self.address or "",
            codes.source_label(self.source, language),
            "" if self.door_seq is None else str(self.door_seq),
            ", ".join(codes.flag_label(f, language) for f in self.flags),
        ]


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the audit log, newest first."""

    rows: list[AuditRow]
    limit: int
    offset: int
    has_more: bool

    def to_json(self) -> dict[str, Any]:
        """The JSON body of a page."""
        return {
            "items": [r.to_json() for r in self.rows],
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": self.offset + len(self.rows) if self.has_more else None,
        }


def action_text(action: e.AuditAction) -> tuple[str, str]:
    """What happened, in Danish and English."""
    return codes.audit_action_pair(action)


def _utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- reading -----------------------------------------------------------------------------------


def require_reader(actor: Actor) -> None:
    """Refuse (``ForbiddenError``) anyone whose role may not read the audit log."""
    require(actor, Action.READ_AUDIT)


def _row(r: Any) -> AuditRow:
    address = None
    if r.street is not None:
        address = f"{r.street} {r.house_number}"
        if r.floor is not None:
            address += f", {r.floor}. {r.side}."
        elif r.gate_label is not None:
            address += f" ({r.gate_label})"
        elif r.entrance_label is not None:
            address += f" ({r.entrance_label})"
        address += f", {r.postal_code} {r.city}"
    return AuditRow(
        id=r.id,
        occurred_at=r.occurred_at,
        source=e.AuditSource(r.source),
        action=e.AuditAction(r.action),
        reason_code=r.reason_code,
        employee_id=r.employee_id,
        employee_name=r.employee_name,
        employee_number=r.employee_number,
        partner_company_id=r.partner_company_id,
        partner_company=r.partner_company,
        citizen_id=r.citizen_id,
        citizen_name=(f"{r.given_name} {r.family_name}" if r.given_name is not None else None),
        door_device_id=r.door_device_id,
        door_serial=r.door_serial,
        door_kind=e.DoorKind(r.door_kind) if r.door_kind is not None else None,
        address=address,
        door_seq=r.door_seq,
        chain_gap=bool(r.chain_gap),
        chain_broken=bool(r.chain_broken),
        chain_evicted=bool(getattr(r, "chain_evicted", False)),
    )


def query_audit(
    db: Session,
    *,
    actor: Actor,
    employee_id: int | None = None,
    citizen_id: int | None = None,
    door_device_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    action: e.AuditAction | None = None,
    employee_text: str | None = None,
    citizen_text: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> AuditPage:
    """One page of the audit log the actor may see, newest first, filtered as asked.

    ``since`` is inclusive, ``until`` exclusive. ``employee_text`` is part of an employee's name
    or their whole number, ``citizen_text`` words of a citizen's name or of the door's address
    (what a person types; see ``queries.LogFilter``). Filters naming another municipality's
    employee, citizen or door simply match nothing: the log's reach comes first.
    """
    scope = reach(actor, Action.READ_AUDIT)
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    where = LogFilter(
        employee_id, citizen_id, door_device_id, since, until, action, employee_text, citizen_text
    )
    rows = [_row(r) for r in queries.log_rows(db, scope, where, limit=limit + 1, offset=offset)]
    return AuditPage(rows[:limit], limit, offset, has_more=len(rows) > limit)


def iter_audit(
    db: Session,
    *,
    actor: Actor,
    employee_id: int | None = None,
    citizen_id: int | None = None,
    door_device_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    action: e.AuditAction | None = None,
    employee_text: str | None = None,
    citizen_text: str | None = None,
) -> Iterator[AuditRow]:
    """Every row ``query_audit`` would page through, fetched from the database in chunks.

    A generator: the actor's reach is checked when the first row is asked for."""
    scope = reach(actor, Action.READ_AUDIT)
    where = LogFilter(
        employee_id, citizen_id, door_device_id, since, until, action, employee_text, citizen_text
    )
    for r in queries.stream_log_rows(db, scope, where, chunk=CSV_CHUNK):
        yield _row(r)


# --- what a filter typed by hand names ---------------------------------------------------------


def employee_by_number(db: Session, *, actor: Actor, employee_number: str) -> int | None:
    """The id of the actor's municipality's employee with this number, for a log filter typed
    by hand; None when there is none. Which of that employee's rows the actor then sees is the
    log's own reach."""
    return queries.employee_id_by_number(db, actor.municipality_id, employee_number)


def names_for_filter(
    db: Session,
    *,
    actor: Actor,
    employee_id: int | None = None,
    citizen_id: int | None = None,
    door_device_id: int | None = None,
) -> tuple[str | None, str | None, str | None]:
    """(employee's name, citizen's name, door's serial) for a log filter that came from a link
    by id, so that the page names what it is filtered on instead of showing an internal id.
    Only the actor's own municipality's objects, and only for an actor whose log reaches the
    whole municipality (a district lead's page names them from the rows it shows); None for
    anything else."""
    scope = reach(actor, Action.READ_AUDIT)
    if scope.restricted or scope.district_ids is not None:
        return None, None, None
    return queries.names_of(
        db,
        actor.municipality_id,
        employee_id=employee_id,
        citizen_id=citizen_id,
        door_device_id=door_device_id,
    )


def door_by_serial(db: Session, *, actor: Actor, serial: str) -> int | None:
    """The id of the actor's municipality's door with this serial number (any case), for a log
    filter typed by hand; None when there is none."""
    return queries.door_id_by_serial(db, actor.municipality_id, serial.upper())
