"""The right of access (GDPR art. 15, docs/access-report.md).

- ``citizen_report``: everyone who entered a citizen's home in a period — every opening and
  re-locking of the home lock (only the home: not the stairwell or the gate, which serve the
  whole building), with the employee's name and role, the emergency keys to the home and the keys
  issued to its lock. Asked for by the citizen, a relative with power of attorney or a guardian;
  who asked and why is recorded.
- ``employee_report``: everything CareKey holds about one employee.

Making either is itself logged (``privacy.citizen_report`` / ``privacy.employee_report``): it
hands personal data to the person asking. The door events come through ``audit.service``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.audit import service as audit_log
from carekey.audit.actions import record_admin_action
from carekey.citizens.service import get_citizen
from carekey.clock import COPENHAGEN
from carekey.dashboard.service import local_range, municipality_name
from carekey.dataaccess import queries as sql
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, InvariantError
from carekey.store import models as m

MAX_DAYS: Final = 3 * 366
"""The longest period one report covers (a longer request is several reports)."""
REFERENCE_MAX: Final = 200
NAME_MAX: Final = 200

BASES: Final[dict[str, tuple[str, str]]] = {
    "citizen": ("Borgeren selv", "The citizen"),
    "attorney": ("Pårørende med fuldmagt", "A relative with power of attorney"),
    "guardian": ("Værge", "A guardian"),
}
"""Who asked for a citizen's report, and on what basis."""

# The same words as the administration's pages (``adminui.pages.labels``), in both languages
# here because the exports are made in either.
ROLE_WORDS: Final[dict[e.Role, tuple[str, str]]] = {
    e.Role.ADMINISTRATOR: ("Administrator", "Administrator"),
    e.Role.DISTRICT_LEAD: ("Distriktsleder", "District lead"),
    e.Role.AUDITOR: ("Revisor", "Auditor"),
    e.Role.CARE_WORKER: ("Plejemedarbejder", "Care worker"),
    e.Role.INSTALLER: ("Montør", "Installer"),
    e.Role.ASSOCIATION_USER: ("Foreningsbruger", "Housing association user"),
    e.Role.PARTNER_ADMIN: ("Partneradministrator", "Partner administrator"),
    e.Role.PARTNER_WORKER: ("Partnermedarbejder", "Partner worker"),
}
HOME_ACTIONS: Final = frozenset(
    {
        e.AuditAction.UNLOCKED,
        e.AuditAction.LOCKED,
        e.AuditAction.AUTO_RELOCKED,
        e.AuditAction.MANUAL_TURN,
        e.AuditAction.REFUSED,
    }
)
"""The events of the home lock that say who came in or tried to: openings, re-lockings, the
citizen's own key, refusals. Battery and clock reports say nothing about a person."""


class AccessRequestError(InvariantError):
    """A request for a report that cannot be used as typed; nothing is made or logged."""


def _utc(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _local(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(COPENHAGEN).isoformat()


def role_words(roles: list[e.Role], language: str = "da") -> str:
    """The roles in words of ``language``, comma-separated."""
    index = 0 if language == "da" else 1
    return ", ".join(ROLE_WORDS.get(r, (str(r), str(r)))[index] for r in roles)


# --- the request -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRequest:
    """Who asked for a citizen's report, on what basis, for which days (both included)."""

    basis: str
    requested_by: str
    reference: str | None
    first: dt.date
    last: dt.date

    def to_json(self) -> dict[str, Any]:
        """The request as the report and the log of administrative actions hold it."""
        da, en = BASES[self.basis]
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "basis": self.basis,
            "basis_text": da,
            "basis_text_en": en,
            "requested_by": self.requested_by,
            "reference": self.reference,
        }


def access_request(
    *,
    basis: str,
    requested_by: str | None,
    reference: str | None,
    first: dt.date | None,
    last: dt.date | None,
    citizen_name: str,
) -> AccessRequest:
    """Check a request as typed: a known basis, a name for anyone but the citizen (the citizen's
    own name otherwise), a period of at most ``MAX_DAYS``. ``AccessRequestError`` says what is
    wrong."""
    basis = (basis or "").strip()
    if basis not in BASES:
        raise AccessRequestError(
            "privacy.basis_unknown",
            "Vælg hvem der har anmodet: borgeren selv, pårørende med fuldmagt eller værge.",
            "Choose who asked: the citizen, a relative with power of attorney or a guardian.",
        )
    name = (requested_by or "").strip()[:NAME_MAX]
    if not name:
        if basis != "citizen":
            raise AccessRequestError(
                "privacy.requested_by_missing",
                "Skriv navnet på den pårørende eller værgen, der har anmodet om indsigt.",
                "Write the name of the relative or guardian who asked for access.",
            )
        name = citizen_name
    if first is None or last is None:
        raise AccessRequestError(
            "privacy.period_missing",
            "Vælg periodens første og sidste dag (åååå-mm-dd).",
            "Choose the first and the last day of the period (yyyy-mm-dd).",
        )
    if last < first:
        first, last = last, first
    if (last - first).days + 1 > MAX_DAYS:
        raise AccessRequestError(
            "privacy.period_too_long",
            f"En rapport dækker højst {MAX_DAYS} dage. Del anmodningen op i flere perioder.",
            f"One report covers at most {MAX_DAYS} days. Split the request into periods.",
        )
    ref = (reference or "").strip()[:REFERENCE_MAX] or None
    return AccessRequest(basis, name, ref, first, last)


# --- the citizen's report ----------------------------------------------------------------------


@dataclass(frozen=True)
class DoorEntry:
    """One event at the home lock: who, when, what."""

    at: dt.datetime
    action: e.AuditAction
    employee_id: int | None
    employee_name: str | None
    roles: list[e.Role]
    partner_company: str | None
    door_serial: str | None
    reason: tuple[str, str] | None

    @property
    def what(self) -> tuple[str, str]:
        """The event in Danish and English."""
        return audit_log.action_text(self.action)

    def to_json(self) -> dict[str, Any]:
        """The entry in the machine-readable export."""
        return {
            "occurred_at": _utc(self.at),
            "occurred_at_local": _local(self.at),
            "action": str(self.action),
            "what": self.what[0],
            "what_en": self.what[1],
            "employee": (
                {
                    "name": self.employee_name,
                    "roles": [str(r) for r in self.roles],
                    "role_text": role_words(self.roles),
                    "company": self.partner_company,
                }
                if self.employee_id is not None
                else None
            ),
            "door_serial": self.door_serial,
            "reason": self.reason[0] if self.reason else None,
            "reason_en": self.reason[1] if self.reason else None,
        }


@dataclass(frozen=True)
class KeyLine:
    """An emergency key to the home, or a key (credential) issued that opens its lock."""

    kind: str  # "emergency_key" or the credential kind
    employee_name: str
    roles: list[e.Role]
    starts_at: dt.datetime
    ends_at: dt.datetime
    revoked_at: dt.datetime | None
    granted_by: str | None = None
    reason: str | None = None
    issued_at: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The key in the machine-readable export."""
        return {
            "kind": self.kind,
            "employee": {
                "name": self.employee_name,
                "roles": [str(r) for r in self.roles],
                "role_text": role_words(self.roles),
            },
            "valid_from": _utc(self.starts_at),
            "valid_until": _utc(self.ends_at),
            "issued_at": _utc(self.issued_at),
            "revoked_at": _utc(self.revoked_at),
            "granted_by": self.granted_by,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CitizenReport:
    """The citizen's access report: the home lock's events, emergency keys, keys issued."""

    municipality: str
    citizen_id: int
    citizen_name: str
    address: str | None
    district: str
    request: AccessRequest
    made_at: dt.datetime
    made_by: str
    entries: list[DoorEntry]
    emergency_keys: list[KeyLine]
    issued_keys: list[KeyLine]
    people: list[tuple[str, list[e.Role], int]] = field(default_factory=list)
    """(name, roles, openings) of everyone who opened the home lock, by name."""

    @property
    def openings(self) -> int:
        """How many times the home lock was opened with a key in the period."""
        return sum(1 for x in self.entries if x.action is e.AuditAction.UNLOCKED)

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON (``GET .../access-report`` and the download)."""
        return {
            "report": "citizen_access_report",
            "municipality": self.municipality,
            "citizen": {"id": self.citizen_id, "name": self.citizen_name},
            "address": self.address,
            "district": self.district,
            "request": self.request.to_json(),
            "made_at": _utc(self.made_at),
            "made_by": self.made_by,
            "scope": "home_lock",
            "openings": self.openings,
            "door_events": [x.to_json() for x in self.entries],
            "emergency_keys": [k.to_json() for k in self.emergency_keys],
            "issued_keys": [k.to_json() for k in self.issued_keys],
        }

    def to_csv(self, language: str = "da") -> str:
        """The home lock's events as CSV for Danish Excel (BOM, semicolons)."""
        da = language == "da"
        out = io.StringIO()
        out.write("\ufeff")
        w = csv.writer(out, delimiter=";", lineterminator="\r\n")
        w.writerow(
            [
                "Tidspunkt (dansk tid)",
                "Tidspunkt (UTC)",
                "Hændelse",
                "Navn",
                "Rolle",
                "Firma",
                "Dør",
                "Årsag",
            ]
            if da
            else [
                "Time (Danish)",
                "Time (UTC)",
                "Event",
                "Name",
                "Role",
                "Company",
                "Door",
                "Reason",
            ]
        )
        for x in self.entries:
            w.writerow(
                [
                    x.at.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M:%S"),
                    _utc(x.at),
                    x.what[0 if da else 1],
                    x.employee_name or "",
                    role_words(x.roles, language),
                    x.partner_company or "",
                    x.door_serial or "",
                    x.reason[0 if da else 1] if x.reason else "",
                ]
            )
        return out.getvalue()


def citizen_report(
    db: Session,
    *,
    actor: Actor,
    citizen_id: int,
    request: AccessRequest,
    now: dt.datetime,
    record: bool = True,
) -> CitizenReport:
    """The citizen's access report for ``request``'s period; logged as
    ``privacy.citizen_report`` (the citizen as target, the request in the details)."""
    scope = reach(actor, Action.PRIVACY_ACCESS_REPORT)
    get_in_scope(db, scope, m.Citizen, citizen_id)
    view = get_citizen(db, actor=actor, citizen_id=citizen_id)
    since, until = local_range(request.first, request.last)
    rows = [
        r
        for r in audit_log.iter_audit(
            db, actor=actor, citizen_id=citizen_id, since=since, until=until
        )
        if r.door_kind is e.DoorKind.HOME_LOCK and r.action in HOME_ACTIONS
    ]
    rows.reverse()  # oldest first
    locks = set(sql.home_lock_ids(db, actor.municipality_id, view.citizen.dwelling_id))
    locks |= {r.door_device_id for r in rows if r.door_device_id is not None}
    grants = sql.emergency_grants_for_citizen(db, actor.municipality_id, citizen_id, since, until)
    credentials = sql.credentials_to_doors(db, actor.municipality_id, locks, since, until)
    ids = {r.employee_id for r in rows if r.employee_id is not None}
    ids |= {g.employee_id for g in grants} | {c.employee_id for c in credentials}
    roles = sql.roles_of(db, ids)
    entries = [
        DoorEntry(
            r.occurred_at,
            r.action,
            r.employee_id,
            r.employee_name,
            roles.get(r.employee_id, []) if r.employee_id is not None else [],
            r.partner_company,
            r.door_serial,
            r.reason_text,
        )
        for r in rows
    ]
    counts: dict[tuple[str, tuple[e.Role, ...]], int] = {}
    for x in entries:
        if x.action is e.AuditAction.UNLOCKED and x.employee_name:
            key = (x.employee_name, tuple(x.roles))
            counts[key] = counts.get(key, 0) + 1
    name = f"{view.citizen.given_name} {view.citizen.family_name}"
    report = CitizenReport(
        municipality=municipality_name(db, actor=actor),
        citizen_id=citizen_id,
        citizen_name=name,
        address=view.address.text if view.address else None,
        district=view.district.name,
        request=request,
        made_at=now,
        made_by=actor.label,
        entries=entries,
        emergency_keys=[
            KeyLine(
                "emergency_key",
                g.employee_name,
                roles.get(g.employee_id, []),
                g.starts_at,
                g.ends_at,
                g.revoked_at,
                granted_by=g.granted_by,
                reason=g.reason,
                issued_at=g.created_at,
            )
            for g in grants
        ],
        issued_keys=[
            KeyLine(
                str(c.kind),
                c.employee_name,
                roles.get(c.employee_id, []),
                c.not_before,
                c.expires_at,
                c.revoked_at,
                issued_at=c.issued_at,
            )
            for c in credentials
        ],
        people=sorted(((n, list(r), k) for (n, r), k in counts.items()), key=lambda p: p[0]),
    )
    if record:
        record_admin_action(
            db,
            actor=actor,
            municipality_id=actor.municipality_id,
            action="privacy.citizen_report",
            target_type="citizen",
            target_id=citizen_id,
            now=now,
            reason=request.reference,
            details=request.to_json(),
        )
    return report


# --- the employee's own data -------------------------------------------------------------------


@dataclass(frozen=True)
class EmployeeReport:
    """Everything CareKey holds about one employee, ready to show and to export."""

    municipality: str
    made_at: dt.datetime
    made_by: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The export as JSON."""
        return {
            "report": "employee_data_export",
            "municipality": self.municipality,
            "made_at": _utc(self.made_at),
            "made_by": self.made_by,
            **self.data,
        }


def _action_json(a: m.AdminAction) -> dict[str, Any]:
    return {
        "at": _utc(a.at),
        "action": a.action,
        "actor": a.actor_label,
        "target_type": a.target_type,
        "target_id": a.target_id,
        "reason": a.reason,
        "details": a.details,
    }


def employee_report(
    db: Session,
    *,
    actor: Actor,
    employee_id: int,
    now: dt.datetime,
    reason: str | None = None,
    record: bool = True,
) -> EmployeeReport:
    """Everything held about the employee: profile, roles, districts, phones, sessions, door
    events, administrative actions by and about them, keys issued and emergency keys. An
    administrator's act for anyone of the municipality, or one's own (``Mine data``); logged as
    ``privacy.employee_report``. Never another party's user (a 404, as everywhere)."""
    own_data = employee_id == actor.employee_id
    if own_data and actor.association_id is None and actor.company_id is None:
        own = db.get(m.Employee, employee_id)
        if own is None:
            raise ForbiddenError("auth.forbidden", "Ingen adgang", "No access")
        employee = own
    else:
        employee = get_in_scope(
            db, reach(actor, Action.PRIVACY_EMPLOYEE_REPORT), m.Employee, employee_id
        )
    mid = actor.municipality_id
    roles = sql.roles_of(db, [employee.id]).get(employee.id, [])
    events = [
        r.to_json()
        for r in audit_log.iter_audit(
            db, actor=_as_reader(actor) if own_data else actor, employee_id=employee.id
        )
    ]
    by, to = sql.admin_actions_about(db, mid, employee.id)
    data: dict[str, Any] = {
        "employee": {
            "id": employee.id,
            "employee_number": employee.employee_number,
            "name": employee.full_name,
            "email": employee.email,
            "status": str(employee.status),
            "blocked_reason": employee.blocked_reason,
            "blocked_at": _utc(employee.blocked_at),
            "starts_on": employee.starts_on.isoformat() if employee.starts_on else None,
            "created_at": _utc(employee.created_at),
            "password_set": employee.password_hash is not None,
            "password_changed_at": _utc(employee.password_changed_at),
            "authenticator_set_up": employee.totp_secret_sealed is not None,
        },
        "roles": [str(r) for r in roles],
        "role_text": role_words(roles),
        "districts": [
            {"id": i, "code": c, "name": n} for i, c, n in sql.district_names(db, employee.id)
        ],
        "phones": [
            {
                "id": p.id,
                "label": p.label,
                "model": p.model,
                "status": str(p.status),
                "enrolled_at": _utc(p.enrolled_at),
                "last_seen_at": _utc(p.last_seen_at),
            }
            for p in sql.phones_of(db, mid, employee.id)
        ],
        "sessions": [
            {
                "kind": s.kind,
                "created_at": _utc(s.created_at),
                "expires_at": _utc(s.expires_at),
                "ended_at": _utc(s.ended_at),
            }
            for s in sql.sessions_of(db, employee.id)
        ],
        "door_events": events,
        "admin_actions_by": [_action_json(a) for a in by],
        "admin_actions_about": [_action_json(a) for a in to],
        "issued_keys": [
            {
                "kind": str(c.kind),
                "doors": len(c.door_device_ids or []),
                "valid_from": _utc(c.not_before),
                "valid_until": _utc(c.expires_at),
                "issued_at": _utc(c.issued_at),
                "revoked_at": _utc(c.revoked_at),
            }
            for c in sql.credentials_of(db, mid, employee.id)
        ],
        "emergency_keys": [
            {
                "citizen": f"{g.given_name} {g.family_name}",
                "reason": g.reason,
                "valid_from": _utc(g.starts_at),
                "valid_until": _utc(g.ends_at),
                "revoked_at": _utc(g.revoked_at),
            }
            for g in sql.emergency_grants_of(db, mid, employee.id)
        ],
    }
    if record:
        record_admin_action(
            db,
            actor=actor,
            municipality_id=mid,
            action="privacy.employee_report",
            target_type="employee",
            target_id=employee.id,
            now=now,
            reason=(reason or "").strip()[:2000] or None,
            details={"own": employee.id == actor.employee_id},
        )
    return EmployeeReport(municipality_name(db, actor=actor), now, actor.label, data)


def _as_reader(actor: Actor) -> Actor:
    """The actor who reads one employee's door events for their export: the export is the
    municipality's answer about that person, so the log is read municipality-wide (the caller
    has checked the right to the export). An employee reading their own data reads as an
    auditor would, for their own rows only (``employee_id`` filters them)."""
    return Actor(
        employee_id=actor.employee_id,
        municipality_id=actor.municipality_id,
        roles=frozenset({e.Role.AUDITOR}),
        label=actor.label,
    )


def citizen_name(db: Session, *, actor: Actor, citizen_id: int) -> str:
    """The citizen's name, for the request form; the report's own access rule applies."""
    citizen = get_in_scope(db, reach(actor, Action.PRIVACY_ACCESS_REPORT), m.Citizen, citizen_id)
    return f"{citizen.given_name} {citizen.family_name}"


def default_period(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The last twelve months up to today, Danish time."""
    today = now.astimezone(COPENHAGEN).date()
    return today - dt.timedelta(days=364), today


def request_reason(request: AccessRequest) -> str:
    """A one-line summary for the page: who asked and on what basis."""
    return f"{BASES[request.basis][0]}: {request.requested_by}"
