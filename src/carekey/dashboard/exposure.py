"""Exposure after a revocation: which doors may still accept a blocked key, and until when.

A revoked credential is carried to the doors by the first denylist version published at or after
its revocation (``revocation.block_phone`` and friends write both in one transaction, so the
version's ``created_at`` equals the credential's ``revoked_at``). A door named in a revoked
credential whose ``denylist_version_seen`` is below that version may still open for it until the
credential expires — or, when its phone or employee is blocked, until the phone's last proof of
freshness expires, if that is sooner (no proof is issued after a block) — plus the door's clock
tolerance (``domain.exposure``: drift since the door's last recorded contact). The door drops off
the list as soon as it reports the version, or when that time has passed. A removed citizen's
home lock is exposed the same way until it learns the version that withdrew it (bounded by the
longest key lifetime, plus the tolerance).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.access import Scope
from carekey.dashboard import queries
from carekey.domain import enums as e
from carekey.domain.exposure import door_tolerance
from carekey.domain.places import Address
from carekey.protocol.credential import MAX_VALIDITY
from carekey.protocol.timetoken import MAX_TOLERANCE


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
_GroupKey = tuple[int | None, int | None, dt.datetime]
# (version needed, until, employee id, citizen removal, revocation)
_Need = tuple[int | None, dt.datetime, int | None, bool, _GroupKey]


def exposed_doors(db: Session, *, scope: Scope, now: dt.datetime) -> list[Exposure]:
    """Doors in scope that have not yet learnt of a revocation whose keys are still unexpired,
    with the latest time such a key could work there; latest first."""
    return exposure(db, scope=scope, now=now)[0]


def exposure_by_revocation(
    db: Session, *, scope: Scope, now: dt.datetime
) -> list[RevocationExposure]:
    """The same exposure, one line per revocation: who was blocked and when, how many doors in
    scope have not yet learnt of it, and the latest time one of its keys could still work at
    one of them; the longest-lasting first."""
    return exposure(db, scope=scope, now=now)[1]


def exposure(
    db: Session, *, scope: Scope, now: dt.datetime
) -> tuple[list[Exposure], list[RevocationExposure]]:
    """Both views of the exposure at once (``exposed_doors``, ``exposure_by_revocation``), for
    a page that shows both."""
    municipality_id = scope.municipality_id
    # A credential up to the largest clock tolerance past its expiry may still open a door.
    creds = queries.revoked_live_credentials(db, municipality_id, now - MAX_TOLERANCE)
    removed = queries.removed_citizens_home_doors(
        db, municipality_id, now - MAX_VALIDITY - MAX_TOLERANCE
    )
    if not creds and not removed:
        return [], []
    earliest = min([c.revoked_at for c in creds if c.revoked_at] + [r[1] for r in removed if r[1]])
    versions = queries.denylist_versions_since(db, municipality_id, earliest)
    times = [created_at for created_at, _ in versions]

    def carrier(at: dt.datetime) -> int | None:
        i = bisect.bisect_left(times, at)
        return versions[i][1] if i < len(versions) else None

    needs: dict[int, list[_Need]] = defaultdict(list)
    phones: dict[_GroupKey, set[int]] = defaultdict(set)
    emergency: set[_GroupKey] = set()
    proofs = queries.phone_proofs(db, {int(c.phone_id) for c in creds if c.phone_id is not None})
    blocked = queries.employees_by_id(db, {c.employee_id for c in creds if c.employee_id})
    for c in creds:
        version = carrier(c.revoked_at)
        key: _GroupKey = (c.employee_id, None, c.revoked_at)
        if c.phone_id is not None:
            phones[key].add(int(c.phone_id))
        if c.emergency_grant_id is not None:
            emergency.add(key)
        end = c.expires_at
        status, proof = proofs.get(int(c.phone_id), (None, None)) if c.phone_id else (None, None)
        employee_blocked = c.employee_id in blocked and blocked[c.employee_id][2] is not None
        if proof is not None and (status is not e.PhoneStatus.ACTIVE or employee_blocked):
            end = min(end, proof)  # no proof is issued after a block
        for door_id in c.door_device_ids or ():
            needs[int(door_id)].append((version, end, c.employee_id, False, key))
    if removed:
        # The longest any key issued before the removal can live.
        latest_key = queries.latest_key_expiry(
            db, municipality_id, now - MAX_TOLERANCE, issued_by=max(r[1] for r in removed if r[1])
        )
        for door_id, removed_at, citizen_id in removed:
            if latest_key is None or removed_at is None:
                continue
            key = (None, citizen_id, removed_at)
            end = min(removed_at + MAX_VALIDITY, latest_key)
            needs[door_id].append((carrier(removed_at), end, None, True, key))
    if not needs:
        return [], []
    doors = {r.door.id: r for r in queries.standing_door_rows(db, scope, list(needs))}
    found: list[tuple[queries.DoorRow, list[_Need]]] = []
    for door_id, wanted in needs.items():
        row = doors.get(door_id)
        if row is None:
            continue
        # Each key's end plus this door's clock tolerance; only those still ahead count.
        open_ = [
            (w[0], w[1] + door_tolerance(row.door.last_seen_at, w[1]), w[2], w[3], w[4])
            for w in wanted
            if w[0] is None or w[0] > row.door.denylist_version_seen
        ]
        open_ = [w for w in open_ if w[1] > now]
        if open_:
            found.append((row, open_))
    employee_ids = {w[2] for _, ws in found for w in ws if w[2] is not None}
    employees = queries.employees_by_id(db, employee_ids)
    names = {k: v[0] for k, v in employees.items()}
    result = []
    # revocation -> door id -> the latest time one of its keys could work there
    per_revocation: dict[_GroupKey, dict[int, dt.datetime]] = defaultdict(dict)
    for row, ws in found:
        door = row.door
        needed = [w[0] for w in ws]
        for w in ws:
            seen = per_revocation[w[4]].get(door.id)
            per_revocation[w[4]][door.id] = w[1] if seen is None else max(seen, w[1])
        result.append(
            Exposure(
                door_id=door.id,
                serial=door.serial,
                kind=e.DoorKind(door.kind),
                address=row.address,
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
    labels = queries.phone_labels(db, {p for k in keys for p in phones.get(k, ())})
    citizens = queries.citizen_names(db, {k[1] for k in keys if k[1] is not None})
    lines = []
    for key, doors in per_revocation.items():
        employee_id, citizen_id, revoked_at = key
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
