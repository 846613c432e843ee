"""A partner worker's keys: the entrances and gates of the company's agreements, inside their
weekly windows, signed by the municipality's **partner issuer key** (issue 15).

The one rule: a worker of an active company gets, for every agreement of the company that is
neither blocked by its housing association nor outside its validity, one credential naming the
agreement's entrance and gate controllers (never a home lock: the tables cannot even hold one),
with the agreement's windows in Europe/Copenhagen time. An agreement whose basis needs an errand
(a delivery to a named resident) gives keys only for its approved errands: the errand's
entrance, for the errand's period. Each credential is recorded with its ``agreement_id`` (and
``errand_id``), so that blocking or ending the agreement revokes exactly those
(``revocation.partners``).

The credentials are signed with the partner key; the time token, the denylist and the proof of
freshness that come with them are the municipality's, signed with the home-care key as for every
phone (a door accepts those only from that key, and they open nothing by themselves).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.keyservice import partner_queries
from carekey.keyservice.bundle import BundleDoor, b64
from carekey.keyservice.credentials import Holder, subject_of
from carekey.protocol import credential as cred
from carekey.protocol.keys import DevicePublicKey, IssuerKey
from carekey.protocol.windows import TimeWindow

PARTNER_TIME_ZONE = "Europe/Copenhagen"
"""The windows of an agreement are the property's local time (Copenhagen's, across DST)."""

_PROTO_KIND = {
    e.DoorKind.ENTRANCE_CONTROLLER: cred.DoorKind.ENTRANCE,
    e.DoorKind.GATE_CONTROLLER: cred.DoorKind.GATE,
}


@dataclass(frozen=True, slots=True)
class PartnerGrant:
    """One credential to sign: an agreement's (or one errand's) doors, windows and validity."""

    agreement_id: int
    errand_id: int | None
    doors: tuple[BundleDoor, ...]
    windows: tuple[TimeWindow, ...]
    not_before: dt.datetime | None  # an errand's start; None: from now
    not_after: dt.datetime | None  # an errand's or the agreement's end; None: open-ended


@dataclass(frozen=True, slots=True)
class BlockedNotice:
    """An association that has blocked the company: what the worker's app tells them."""

    association: str
    since: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "association": self.association,
            "since": self.since.isoformat() if self.since else None,
        }


def blocked_notices(db: Session, *, company_id: int, now: dt.datetime) -> list[BlockedNotice]:
    """The associations that have blocked their agreements with the company (still valid
    otherwise): the worker's bundle and heartbeat say so."""
    rows = partner_queries.blocked_agreements(db, company_id=company_id, now=now)
    seen: dict[str, BlockedNotice] = {}
    for name, since in rows:
        seen.setdefault(name, BlockedNotice(name, since))
    return list(seen.values())


def _agreement_doors(db: Session, agreement_ids: list[int]) -> dict[int, list[BundleDoor]]:
    """Per agreement, its live entrance and gate controllers as bundle doors: the place's
    address instead of a citizen (``citizen_id`` is minus the property id, the name empty)."""
    rows = partner_queries.agreement_door_rows(db, agreement_ids)
    gate_property = partner_queries.gate_properties(
        db, [r.id for r in rows if r.gate_label is not None]
    )
    found: dict[int, list[BundleDoor]] = {}
    for r in rows:
        place = gate_property.get(r.id) if r.gate_label is not None else r
        if place is None:
            continue
        address = f"{place.street} {place.house_number}, {place.postal_code} {place.city}"
        label = f"Opgang {r.entrance_label}" if r.entrance_label is not None else r.gate_label
        found.setdefault(r.agreement_id, []).append(
            BundleDoor(
                r.id,
                r.serial.encode(),
                e.DoorKind(r.kind),
                r.public_key,
                -int(place.property_id),
                "",
                address,
                str(label),
                None,
                r.last_event_seq or 0,
            )
        )
    return found


def _windows(db: Session, agreement_ids: list[int]) -> dict[int, tuple[TimeWindow, ...]]:
    found: dict[int, list[TimeWindow]] = {}
    for w in partner_queries.windows(db, agreement_ids):
        found.setdefault(w.agreement_id, []).append(
            TimeWindow(w.weekday, w.start_minute, w.end_minute)
        )
    return {k: tuple(v) for k, v in found.items()}


def partner_grants(
    db: Session,
    *,
    worker_id: int,
    company_id: int,
    municipality_id: int,
    now: dt.datetime,
    until: dt.datetime,
) -> list[PartnerGrant]:
    """What the worker may hold now, up to ``until`` (the end of the keys' life): one grant per
    live agreement with doors and windows; for an agreement that needs errands, one grant per
    approved errand of the worker (or of the company, unassigned) that overlaps the keys' life."""
    if not partner_queries.company_active(db, company_id):
        return []
    agreements = partner_queries.live_agreements(
        db, company_id=company_id, municipality_id=municipality_id, now=now
    )
    ids = [a.id for a in agreements]
    if not ids:
        return []
    doors = _agreement_doors(db, ids)
    windows = _windows(db, ids)
    grants: list[PartnerGrant] = []
    errand_agreements = {a.id: a for a in agreements if a.requires_errand}
    for a in agreements:
        if a.id in errand_agreements or not doors.get(a.id) or not windows.get(a.id):
            continue
        grants.append(
            PartnerGrant(a.id, None, tuple(doors[a.id]), windows[a.id], None, a.valid_until)
        )
    if errand_agreements:
        errands = partner_queries.errands(
            db, agreement_ids=list(errand_agreements), worker_id=worker_id, now=now, until=until
        )
        for errand in errands:
            stairwell = [
                d
                for d in doors.get(errand.agreement_id, [])
                if d.kind is e.DoorKind.ENTRANCE_CONTROLLER
                and partner_queries.entrance_of(db, d.device_id) == errand.entrance_id
            ]
            if not stairwell:
                continue
            agreement = errand_agreements[errand.agreement_id]
            end = errand.not_after
            if agreement.valid_until is not None:
                end = min(end, agreement.valid_until)
            grants.append(
                PartnerGrant(
                    agreement.id,
                    errand.id,
                    tuple(stairwell),
                    windows.get(agreement.id, ()),
                    errand.not_before,
                    end,
                )
            )
    return grants


def sign_partner_grants(
    *,
    issuer_key: IssuerKey,
    holder: Holder,
    grants: list[PartnerGrant],
    not_before: dt.datetime,
    expires: dt.datetime,
    denylist_version: int,
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A plain partner credential per grant (split when a grant has more doors than a
    credential may name), signed with the partner issuer key; the JSON for the phone and the
    ``issued_credential`` rows."""
    assert holder.public_key is not None
    bodies: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for grant in grants:
        start = not_before if grant.not_before is None else max(not_before, grant.not_before)
        end = expires if grant.not_after is None else min(expires, grant.not_after)
        if end <= start or end <= now:
            continue
        unique = list({d.door_id: d for d in grant.doors}.values())
        for first in range(0, len(unique), cred.MAX_TARGETS):
            targets = unique[first : first + cred.MAX_TARGETS]
            credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
            serial = int(now.timestamp() * 1000)
            data = cred.issue_credential(
                issuer_key=issuer_key,
                subject=subject_of(holder.employee_id),
                subject_type=cred.SubjectType.PARTNER,
                device_key=DevicePublicKey(holder.public_key),
                kinds={_PROTO_KIND[d.kind] for d in targets},
                not_before=start,
                expires=end,
                serial=serial,
                denylist_version=denylist_version,
                doors=[d.door_id for d in targets],
                windows=grant.windows,
                time_zone=PARTNER_TIME_ZONE if grant.windows else None,
                credential_id=credential_id,
            )
            bodies.append(
                {
                    "type": "single",
                    "credential": b64(data),
                    "doors": [d.door_id.decode() for d in targets],
                    "expires_at": end.isoformat(),
                    "emergency_grant_id": None,
                    "agreement_id": grant.agreement_id,
                    "errand_id": grant.errand_id,
                    "windows": [str(w) for w in grant.windows],
                }
            )
            rows.append(
                {
                    "credential_id": credential_id,
                    "municipality_id": holder.municipality_id,
                    "issuer_kid": issuer_key.kid,
                    "subject_type": e.SubjectType.PARTNER_STAFF,
                    "employee_id": holder.employee_id,
                    "phone_id": holder.phone_id,
                    "emergency_grant_id": None,
                    "agreement_id": grant.agreement_id,
                    "errand_id": grant.errand_id,
                    "kind": e.CredentialKind.ENTRANCE
                    if any(d.kind is e.DoorKind.ENTRANCE_CONTROLLER for d in targets)
                    else e.CredentialKind.GATE,
                    "serial": serial,
                    "denylist_version": denylist_version,
                    "door_device_ids": sorted({d.device_id for d in targets}),
                    "not_before": start,
                    "expires_at": end,
                    "issued_at": now,
                }
            )
    return bodies, rows


def grants_digest(grants: list[PartnerGrant]) -> bytes:
    """A fingerprint of a partner worker's key set: doors, windows and periods of every grant,
    so that a heartbeat says REFRESH when an agreement, a window or an errand changes."""
    parts = sorted(
        f"{g.agreement_id}:{g.errand_id or 0}:{sorted(d.device_id for d in g.doors)}:"
        f"{[str(w) for w in g.windows]}:{g.not_before}:{g.not_after}"
        for g in grants
    )
    return hashlib.sha256(("partner|" + "|".join(parts)).encode()).digest()


def company_active(db: Session, company_id: int) -> bool:
    """Whether the company may hold keys at all (not blocked by the municipality)."""
    return partner_queries.company_active(db, company_id)


def partner_doors(grants: list[PartnerGrant]) -> list[BundleDoor]:
    """The doors of ``grants``, each once (for the bundle's door list and digest)."""
    seen: dict[int, BundleDoor] = {}
    for grant in grants:
        for door in grant.doors:
            seen.setdefault(door.device_id, door)
    return list(seen.values())
