"""Reading the audit log: who, which door, when and what, for the office and for export.

Administrators and auditors see their own municipality's events; a district lead sees only the
events at the doors of the citizens of their districts (home lock, stairwell, gate) and events
about those citizens. Nobody ever sees another municipality's rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, aliased

from carekey.access import Action, Actor, reach, require
from carekey.access import queries as access_sql
from carekey.domain import enums as e
from carekey.protocol.errors import MESSAGES
from carekey.store import models as m

LOCAL_ZONE: Final = ZoneInfo("Europe/Copenhagen")
MAX_PAGE: Final = 1_000
CSV_CHUNK: Final = 1_000


ACTION_TEXT: Final[dict[e.AuditAction, tuple[str, str]]] = {
    e.AuditAction.UNLOCKED: ("Låst op", "Opened"),
    e.AuditAction.LOCKED: ("Låst", "Locked"),
    e.AuditAction.REFUSED: ("Afvist", "Refused"),
    e.AuditAction.RELAY_PULSED: ("Døråbner aktiveret", "Door opener pulsed"),
    e.AuditAction.MANUAL_TURN: ("Drejet med nøgle", "Turned by hand"),
    e.AuditAction.AUTO_RELOCKED: ("Låst automatisk", "Re-locked automatically"),
    e.AuditAction.JAMMED: ("Låsen sidder fast", "Jammed"),
    e.AuditAction.LOW_BATTERY: ("Lavt batteri", "Low battery"),
    e.AuditAction.POWER_LOSS: ("Strømsvigt", "Power loss"),
    e.AuditAction.TIME_SET: ("Tid indstillet", "Time set"),
    e.AuditAction.DENYLIST_UPDATED: ("Spærreliste opdateret", "Denylist updated"),
    e.AuditAction.CONFIGURED: ("Konfigureret", "Configured"),
    e.AuditAction.LOGIN: ("Logget ind", "Logged in"),
    e.AuditAction.WIPED: ("Nøgler slettet", "Keys wiped"),
    e.AuditAction.LOGOUT: ("Logget ud", "Logged out"),
    e.AuditAction.POWER_RESTORED: ("Strøm genoprettet", "Power restored"),
    e.AuditAction.LOG_OVERFLOW: ("Loggen løb fuld", "Log overflow"),
    e.AuditAction.RATE_LIMITED: ("For mange forsøg", "Too many attempts"),
}
KIND_TEXT: Final[dict[e.DoorKind, str]] = {
    e.DoorKind.HOME_LOCK: "Hoveddør",
    e.DoorKind.ENTRANCE_CONTROLLER: "Opgangsdør",
    e.DoorKind.GATE_CONTROLLER: "Port",
}

CSV_HEADER: Final = (
    "Tidspunkt (dansk tid)",
    "Tidspunkt (UTC)",
    "Handling",
    "Årsag",
    "Medarbejder",
    "Medarbejdernummer",
    "Partner",
    "Borger",
    "Dør (serienummer)",
    "Dørtype",
    "Adresse",
    "Kilde",
    "Hændelsesnummer",
    "Markeringer",
)
_FLAG_TEXT: Final = {"chain_gap": "mangler hændelser før", "chain_broken": "kæde brudt"}


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
    partner_staff_id: int | None
    partner_name: str | None
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

    @property
    def local_time(self) -> dt.datetime:
        """``occurred_at`` in Danish time."""
        return self.occurred_at.astimezone(LOCAL_ZONE)

    @property
    def flags(self) -> list[str]:
        """What is wrong with this event's place in its door's chain, if anything."""
        return [
            name
            for name, on in (("chain_gap", self.chain_gap), ("chain_broken", self.chain_broken))
            if on
        ]

    @property
    def what(self) -> tuple[str, str]:
        """The action in Danish and English."""
        return ACTION_TEXT.get(self.action, (str(self.action), str(self.action)))

    @property
    def reason_text(self) -> tuple[str, str] | None:
        """The refusal reason in plain words, when it is a protocol refusal code."""
        if self.reason_code is None:
            return None
        return MESSAGES.get(self.reason_code)

    def to_json(self) -> dict[str, Any]:
        """The JSON the administration API returns for this row."""
        what_da, what_en = self.what
        reason = self.reason_text
        who: dict[str, Any] | None = None
        if self.employee_id is not None:
            who = {
                "type": "employee",
                "id": self.employee_id,
                "name": self.employee_name,
                "employee_number": self.employee_number,
            }
        elif self.partner_staff_id is not None:
            who = {
                "type": "partner",
                "id": self.partner_staff_id,
                "name": self.partner_name,
                "company": self.partner_company,
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

    def to_csv(self) -> list[str]:
        """The cells of this row under ``CSV_HEADER``."""
        reason = self.reason_text
        who = self.employee_name or ""
        partner = f"{self.partner_name} ({self.partner_company})" if self.partner_staff_id else ""
        return [
            self.local_time.strftime("%Y-%m-%d %H:%M:%S"),
            _utc_text(self.occurred_at),
            self.what[0],
            reason[0] if reason else (self.reason_code or ""),
            who,
            self.employee_number or "",
            partner,
            self.citizen_name or "",
            self.door_serial or "",
            KIND_TEXT.get(self.door_kind, "") if self.door_kind else "",
            self.address or "",
            {"door": "dør", "app": "app", "server": "server"}.get(str(self.source), ""),
            "" if self.door_seq is None else str(self.door_seq),
            ", ".join(_FLAG_TEXT[f] for f in self.flags),
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


def _utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- the query ---------------------------------------------------------------------------------

AE = m.AuditEvent


def require_reader(actor: Actor) -> None:
    """Refuse (``ForbiddenError``) anyone whose role may not read the audit log."""
    require(actor, Action.READ_AUDIT)


def _visible_to(actor: Actor) -> ColumnElement[bool]:
    """Which rows ``actor`` may read (``carekey.access``); 403 for roles that may read none."""
    return access_sql.audit_events_in(reach(actor, Action.READ_AUDIT))


def _statement(
    actor: Actor,
    *,
    employee_id: int | None,
    citizen_id: int | None,
    door_device_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    action: e.AuditAction | None,
) -> Select[*tuple[Any, ...]]:
    door = aliased(m.DoorDevice)
    dwelling = aliased(m.Dwelling)
    entrance = aliased(m.Entrance)
    gate = aliased(m.Gate)
    prop = aliased(m.Property)
    stmt = (
        select(
            AE.id,
            AE.occurred_at,
            AE.source,
            AE.action,
            AE.reason_code,
            AE.employee_id,
            m.Employee.full_name.label("employee_name"),
            m.Employee.employee_number,
            AE.partner_staff_id,
            m.PartnerStaff.full_name.label("partner_name"),
            m.PartnerCompany.name.label("partner_company"),
            AE.citizen_id,
            m.Citizen.given_name,
            m.Citizen.family_name,
            AE.door_device_id,
            door.serial.label("door_serial"),
            door.kind.label("door_kind"),
            dwelling.floor,
            dwelling.side,
            entrance.label.label("entrance_label"),
            gate.label.label("gate_label"),
            prop.street,
            prop.house_number,
            prop.postal_code,
            prop.city,
            AE.door_seq,
            AE.chain_gap,
            AE.chain_broken,
        )
        .outerjoin(m.Employee, m.Employee.id == AE.employee_id)
        .outerjoin(m.PartnerStaff, m.PartnerStaff.id == AE.partner_staff_id)
        .outerjoin(m.PartnerCompany, m.PartnerCompany.id == m.PartnerStaff.company_id)
        .outerjoin(m.Citizen, m.Citizen.id == AE.citizen_id)
        .outerjoin(door, door.id == AE.door_device_id)
        .outerjoin(dwelling, dwelling.id == door.dwelling_id)
        .outerjoin(entrance, entrance.id == func.coalesce(door.entrance_id, dwelling.entrance_id))
        .outerjoin(gate, gate.id == door.gate_id)
        .outerjoin(prop, prop.id == func.coalesce(entrance.property_id, gate.property_id))
        .where(_visible_to(actor))
    )
    if employee_id is not None:
        stmt = stmt.where(AE.employee_id == employee_id)
    if citizen_id is not None:
        stmt = stmt.where(AE.citizen_id == citizen_id)
    if door_device_id is not None:
        stmt = stmt.where(AE.door_device_id == door_device_id)
    if since is not None:
        stmt = stmt.where(AE.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AE.occurred_at < until)
    if action is not None:
        stmt = stmt.where(AE.action == action)
    return stmt.order_by(AE.occurred_at.desc(), AE.id.desc())


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
        partner_staff_id=r.partner_staff_id,
        partner_name=r.partner_name,
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
    limit: int = 100,
    offset: int = 0,
) -> AuditPage:
    """One page of the audit log the actor may see, newest first, filtered as asked.

    ``since`` is inclusive, ``until`` exclusive. Filters naming another municipality's employee,
    citizen or door simply match nothing.
    """
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    stmt = _statement(
        actor,
        employee_id=employee_id,
        citizen_id=citizen_id,
        door_device_id=door_device_id,
        since=since,
        until=until,
        action=action,
    )
    rows = [_row(r) for r in db.execute(stmt.limit(limit + 1).offset(offset))]
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
) -> Iterator[AuditRow]:
    """Every row ``query_audit`` would page through, fetched from the database in chunks."""
    stmt = _statement(
        actor,
        employee_id=employee_id,
        citizen_id=citizen_id,
        door_device_id=door_device_id,
        since=since,
        until=until,
        action=action,
    )
    for r in db.execute(stmt.execution_options(yield_per=CSV_CHUNK)):
        yield _row(r)


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to Excel; names typed by people must stay text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def audit_csv(rows: Iterable[AuditRow]) -> Iterator[str]:
    """The audit log as CSV for Danish Excel: UTF-8 BOM, semicolons, a Danish header row.

    Yields text in chunks of rows, so a large export streams instead of sitting in memory.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(c) for c in row.to_csv()])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
