"""The key service: phone enrolment, login, key bundles and heartbeats.

A phone proves it holds its enrolled device key by signing a fresh server challenge; the
employee proves who they are with a password (Argon2id, slow on purpose) once per login. The
login returns an app session (≤ the key lifetime) with which the phone later fetches bundles
and sends heartbeats without the password, so the morning rush never queues key bundles behind
password hashing.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import Table, and_, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session, lazyload

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.auth.service import check_employee_password
from carekey.auth.tokens import open_token, sign_token
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, ForbiddenError, UnauthorizedError, not_found
from carekey.keyservice import issuer as issuer_service
from carekey.protocol import credential as cred
from carekey.protocol.deviceproof import proof_message
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DevicePublicKey, IssuerKey
from carekey.protocol.timetoken import issue_time_token
from carekey.revocation import denylist as denylist_service
from carekey.store import models as m
from carekey.store.cache import cached

ENROLMENT_CODE_LIFETIME = dt.timedelta(hours=24)
CHALLENGE_LIFETIME = dt.timedelta(minutes=2)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
LIVE_DOOR_STATUSES = (e.DoorStatus.COMMISSIONED, e.DoorStatus.ACTIVE, e.DoorStatus.FAULTY)
MAX_CREDENTIAL_LIFETIME = cred.MAX_VALIDITY


def b64(data: bytes) -> str:
    """Standard base64 text for bytes in JSON."""
    return base64.b64encode(data).decode()


def _hash_code(code: str) -> str:
    normalized = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(b"carekey-enrolment\x00" + normalized.encode()).hexdigest()


# --- enrolment ---------------------------------------------------------------------------------


def create_enrolment_code(
    db: Session,
    *,
    actor: Actor,
    phone_id: int,
    now: dt.datetime,
    lifetime: dt.timedelta = ENROLMENT_CODE_LIFETIME,
) -> tuple[str, dt.datetime]:
    """A one-time code to enrol ``phone_id``; shown once, stored only as a hash."""
    phone = get_in_scope(db, reach(actor, Action.MANAGE_PHONES), m.Phone, phone_id)
    if phone.status not in (e.PhoneStatus.ACTIVE, e.PhoneStatus.WIPED):
        raise ConflictError(
            "enrolment.phone_blocked",
            "Telefonen er spærret; ophæv spærringen først",
            "The phone is blocked; unblock it first",
        )
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    expires = now + lifetime
    db.add(
        m.EnrolmentCode(
            municipality_id=phone.municipality_id,
            phone_id=phone.id,
            code_hash=_hash_code(code),
            created_by_employee_id=actor.employee_id,
            created_at=now,
            expires_at=expires,
        )
    )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="phone.enrolment_code",
        target_type="phone",
        target_id=phone.id,
        now=now,
        details={"expires_at": expires.isoformat()},
    )
    return code, expires


@dataclass(frozen=True)
class EnrolledPhone:
    phone_id: int
    municipality_code: str
    label: str


def enrol_phone(db: Session, *, code: str, public_key: bytes, now: dt.datetime) -> EnrolledPhone:
    """Register the phone's device public key (compressed P-256) with a one-time code."""
    invalid = UnauthorizedError(
        "enrolment.invalid_code",
        "Koden er ugyldig, brugt eller udløbet; bed om en ny",
        "The code is invalid, used or expired; ask for a new one",
    )
    row = db.execute(
        select(m.EnrolmentCode).where(m.EnrolmentCode.code_hash == _hash_code(code))
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise invalid
    try:
        DevicePublicKey(public_key)
    except ProtocolError as exc:
        raise ConflictError(
            "enrolment.bad_key",
            "Telefonens nøgle er ugyldig (forventede komprimeret P-256)",
            "The phone's key is invalid (expected compressed P-256)",
        ) from exc
    taken = db.execute(select(m.Phone.id).where(m.Phone.public_key == public_key)).first()
    if taken is not None:
        raise ConflictError(
            "enrolment.key_in_use",
            "Denne nøgle er allerede registreret",
            "This key is already registered",
        )
    phone = db.get(m.Phone, row.phone_id)
    municipality = db.get(m.Municipality, row.municipality_id)
    assert phone is not None
    assert municipality is not None
    row.used_at = now
    phone.public_key = public_key
    phone.enrolled_at = now
    phone.status = e.PhoneStatus.ACTIVE
    phone.bundle_digest = None
    record_admin_action(
        db,
        actor=None,
        municipality_id=phone.municipality_id,
        action="phone.enrolled",
        target_type="phone",
        target_id=phone.id,
        now=now,
    )
    return EnrolledPhone(phone.id, municipality.code, phone.label)


# --- device proof and app sessions -------------------------------------------------------------


def issue_challenge(*, phone_id: int, secret: str, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A fresh, short-lived challenge the phone signs with its device key."""
    expires = now + CHALLENGE_LIFETIME
    token = sign_token(
        {"ph": phone_id, "exp": int(expires.timestamp()), "n": secrets.token_hex(12)},
        secret=secret,
        purpose="challenge",
    )
    return token, expires


def _verify_device_proof(
    phone_id: int,
    public_key: bytes | None,
    *,
    challenge: str,
    signature: bytes,
    purpose: str,
    secret: str,
    now: dt.datetime,
) -> None:
    payload = open_token(challenge, secret=secret, purpose="challenge", now=now)
    if payload.get("ph") != phone_id or public_key is None:
        raise _bad_proof()
    try:
        DevicePublicKey(public_key).verify(signature, proof_message(challenge, phone_id, purpose))
    except ProtocolError as exc:
        raise _bad_proof() from exc


def _bad_proof() -> UnauthorizedError:
    return UnauthorizedError(
        "auth.bad_device_proof",
        "Telefonen kunne ikke bevise sin identitet; prøv igen",
        "The phone could not prove its identity; try again",
    )


def _phone_refused(phone: m.Phone | None) -> ForbiddenError | None:
    if phone is None or phone.public_key is None:
        return ForbiddenError(
            "auth.phone_not_enrolled",
            "Appen virker kun på kommunens tilmeldte telefoner",
            "The app only works on the municipality's enrolled phones",
        )
    if phone.status is not e.PhoneStatus.ACTIVE:
        return ForbiddenError(
            "auth.phone_blocked",
            "Telefonen er spærret; kontakt din leder",
            "The phone is blocked; contact your manager",
        )
    return None


@dataclass(frozen=True)
class AppSession:
    """A logged-in employee on one phone, re-checked against the database on every use."""

    employee: m.Employee
    phone: m.Phone
    expires_at: dt.datetime


def _session_token(employee: m.Employee, phone: m.Phone, expires: dt.datetime, secret: str) -> str:
    return sign_token(
        {
            "emp": employee.id,
            "ph": phone.id,
            "eep": employee.session_epoch,
            "pep": phone.session_epoch,
            "exp": int(expires.timestamp()),
            "n": secrets.token_hex(8),
        },
        secret=secret,
        purpose="app",
    )


@dataclass(frozen=True)
class SessionCheck:
    """The outcome of checking an app session: usable, or why the phone must wipe."""

    session: AppSession | None
    wipe_reason: str | None = None


def check_session(db: Session, *, token: str, secret: str, now: dt.datetime) -> SessionCheck:
    """Open an app session token; a blocked phone or employee means WIPE, not just "no"."""
    payload = open_token(token, secret=secret, purpose="app", now=now)
    # Roles are loaded only if someone asks for them (the app's endpoints never do): saves the
    # relationship's selectin query on every app request.
    employee = db.get(m.Employee, int(payload["emp"]), options=[lazyload(m.Employee.roles)])
    phone = db.get(m.Phone, int(payload["ph"]))
    if employee is None or phone is None:
        return SessionCheck(None, "unknown")
    if phone.status is not e.PhoneStatus.ACTIVE or phone.session_epoch != payload["pep"]:
        return SessionCheck(None, "phone_blocked")
    if employee.status is not e.EmployeeStatus.ACTIVE or employee.session_epoch != payload["eep"]:
        return SessionCheck(None, "employee_blocked")
    return SessionCheck(
        AppSession(employee, phone, dt.datetime.fromtimestamp(payload["exp"], dt.UTC))
    )


def require_session(db: Session, *, token: str, secret: str, now: dt.datetime) -> AppSession:
    """An app session that may be used, or ``ForbiddenError`` (the app then wipes)."""
    checked = check_session(db, token=token, secret=secret, now=now)
    if checked.session is None:
        raise _session_refused(checked.wipe_reason or "unknown")
    return checked.session


def _session_refused(reason: str) -> ForbiddenError:
    return ForbiddenError(
        f"auth.{reason}",
        "Adgangen er spærret; nøglerne slettes",
        "Access is blocked; the keys are deleted",
    )


# --- the key bundle ----------------------------------------------------------------------------


class BundleDoor(NamedTuple):
    """A door the employee may open, with what the app shows for it (a named tuple: ≈ 200 are
    built per key bundle, and a tuple is several times cheaper to build than a dataclass)."""

    device_id: int
    door_id: bytes  # the door's protocol id (its serial)
    kind: e.DoorKind
    public_key: bytes
    citizen_id: int
    citizen_name: str
    address: str
    label: str
    emergency_grant_id: int | None = None
    # The highest event sequence the server has from this door: where the phone starts reading
    # the door's log, so events another phone read but never delivered are fetched again.
    last_seq: int = 0


@dataclass
class KeyBundle:
    """What a login hands to the phone."""

    session_token: str | None
    expires_at: dt.datetime
    employee_id: int
    employee_name: str
    doors: list[BundleDoor]
    credentials: list[dict[str, Any]]
    time_token: bytes
    denylist_version: int
    denylist_snapshot: bytes | None
    digest: bytes = field(repr=False, default=b"")
    next_challenge: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body the key app receives. Compact on purpose (a shift has ~200 doors):
        each citizen appears once; doors point at their citizen; bundle leaves are
        ``[door id, kind bits]`` (1 home, 2 entrance, 4 gate)."""
        body = self._body()
        body["doors"] = [_door_dict(d) for d in self.doors]
        return body

    def to_json_bytes(self) -> bytes:
        """``to_json`` rendered, the same bytes as ``orjson.dumps(self.to_json())``; each door's
        piece is rendered once per process and reused (the hot path of the morning rush)."""
        body = self._body()
        body["doors"] = [_door_fragment(d) for d in self.doors]
        return orjson.dumps(body)

    def _body(self) -> dict[str, Any]:
        citizens: dict[int, dict[str, Any]] = {}
        for d in self.doors:
            if d.citizen_id not in citizens:
                citizens[d.citizen_id] = {
                    "id": d.citizen_id,
                    "name": d.citizen_name,
                    "address": d.address,
                    "emergency_grant_id": d.emergency_grant_id,
                }
        return {
            "session_token": self.session_token,
            "next_challenge": self.next_challenge,
            "keys_valid_until": self.expires_at.isoformat(),
            "employee": {"id": self.employee_id, "name": self.employee_name},
            "time_token": b64(self.time_token),
            "denylist": {
                "version": self.denylist_version,
                "snapshot": b64(self.denylist_snapshot) if self.denylist_snapshot else None,
            },
            "credentials": self.credentials,
            "citizens": list(citizens.values()),
        }


def _door_dict(d: BundleDoor) -> dict[str, Any]:
    return {
        "door_id": d.door_id.decode(),
        "kind": _KIND_TEXT[d.kind],
        "device_id": d.device_id,
        "door_public_key": b64(d.public_key),
        "citizen_id": d.citizen_id,
        "label": d.label,
        "last_seq": d.last_seq,
    }


@functools.lru_cache(maxsize=1 << 15)
def _door_fragment(d: BundleDoor) -> orjson.Fragment:
    """A door's rendered JSON, cached by every field of the door (a changed label, key or
    ``last_seq`` is another entry): ≈ 200 per key bundle, the same ones all shift."""
    return orjson.Fragment(orjson.dumps(_door_dict(d)))


_HOME = m.DoorDevice.__table__.alias("home")
_ENTRANCE_DOOR = m.DoorDevice.__table__.alias("entrance_door")
_GATE_DOOR = m.DoorDevice.__table__.alias("gate_door")
_LIVE = [s.value for s in LIVE_DOOR_STATUSES]


def _citizen_doors(
    db: Session, *, kind: str, params: dict[str, Any], grant_of: dict[int, int] | None = None
) -> list[BundleDoor]:
    """Home lock, entrance controller and gate controllers of the selected active citizens:
    ``kind="district"`` for those of an employee's districts (parameter ``employee_id``),
    ``kind="grants"`` for given citizens of a municipality (``citizen_ids``,
    ``municipality_id``)."""
    return _doors_of_rows(db.connection().execute(_doors_statement(kind), params).all(), grant_of)


@functools.cache
def _doors_statement(kind: str) -> Any:
    """The door query, built once per process (building this 6-table select cost more Python
    than reading its rows).

    The employee's districts are a subquery: one round trip instead of two. Districts belong to
    the employee's municipality (composite foreign keys), and so do their citizens: no
    municipality condition needed there, and the district index serves the query."""
    table = m.Citizen.__table__
    if kind == "district":
        citizen_filter: Any = table.c.district_id.in_(
            select(m.EmployeeDistrict.district_id).where(
                m.EmployeeDistrict.employee_id == bindparam("employee_id")
            )
        )
    else:
        citizen_filter = and_(
            table.c.id.in_(bindparam("citizen_ids", expanding=True)),
            table.c.municipality_id == bindparam("municipality_id"),
        )
    return _doors_select(citizen_filter)


def _doors_select(citizen_filter: Any) -> Any:
    """Home lock, entrance controller and gate controllers of the selected active citizens.

    One query (a row per citizen and gate), run on the connection rather than through the ORM:
    this is the hot path of every login, bundle and heartbeat. ``citizen_filter`` must keep the
    selection inside one municipality (a district of it, or citizen ids checked against it).

    The selected citizens are a materialised CTE: PostgreSQL then starts from the district
    index (≈ 70 rows) and looks up each citizen's dwelling, entrance and doors by key. Written
    as one flat join, it misjudged the district filter and joined every citizen of the database
    before filtering: ≈ 3x the CPU per bundle, the largest cost of the morning rush."""
    c, dw, en, pr, gt = (
        m.Citizen.__table__,
        m.Dwelling.__table__,
        m.Entrance.__table__,
        m.Property.__table__,
        m.Gate.__table__,
    )
    cs = (
        select(c.c.id, c.c.given_name, c.c.family_name, c.c.dwelling_id)
        .where(c.c.status == e.CitizenStatus.ACTIVE.value)
        .where(citizen_filter)
        .cte("selected_citizen")
        .prefix_with("MATERIALIZED")
    )
    return (
        select(
            cs.c.id,
            cs.c.given_name,
            cs.c.family_name,
            dw.c.floor,
            dw.c.side,
            en.c.label.label("entrance_label"),
            pr.c.postal_code,
            pr.c.city,
            _HOME.c.id.label("home_id"),
            _HOME.c.serial.label("home_serial"),
            _HOME.c.public_key.label("home_key"),
            _HOME.c.last_event_seq.label("home_seq"),
            _ENTRANCE_DOOR.c.id.label("entrance_door_id"),
            _ENTRANCE_DOOR.c.serial.label("entrance_serial"),
            _ENTRANCE_DOOR.c.public_key.label("entrance_key"),
            _ENTRANCE_DOOR.c.last_event_seq.label("entrance_seq"),
            gt.c.label.label("gate_label"),
            _GATE_DOOR.c.id.label("gate_door_id"),
            _GATE_DOOR.c.serial.label("gate_serial"),
            _GATE_DOOR.c.public_key.label("gate_key"),
            _GATE_DOOR.c.last_event_seq.label("gate_seq"),
        )
        .select_from(cs)
        .join(dw, dw.c.id == cs.c.dwelling_id)
        .join(en, en.c.id == dw.c.entrance_id)
        .join(pr, pr.c.id == en.c.property_id)
        .join(_HOME, and_(_HOME.c.dwelling_id == dw.c.id, _HOME.c.status.in_(_LIVE)))
        .outerjoin(
            _ENTRANCE_DOOR,
            and_(_ENTRANCE_DOOR.c.entrance_id == en.c.id, _ENTRANCE_DOOR.c.status.in_(_LIVE)),
        )
        .outerjoin(gt, gt.c.property_id == pr.c.id)
        .outerjoin(
            _GATE_DOOR, and_(_GATE_DOOR.c.gate_id == gt.c.id, _GATE_DOOR.c.status.in_(_LIVE))
        )
        .order_by(cs.c.id, _GATE_DOOR.c.id)
    )


def _doors_of_rows(rows: Any, grant_of: dict[int, int] | None) -> list[BundleDoor]:
    doors: list[BundleDoor] = []
    append = doors.append
    home, entrance, gate = (
        e.DoorKind.HOME_LOCK,
        e.DoorKind.ENTRANCE_CONTROLLER,
        e.DoorKind.GATE_CONTROLLER,
    )
    current: int | None = None
    name = address = ""
    grant: int | None = None
    # Rows unpacked positionally (the column order of the select above): attribute access on
    # ~70 rows x 21 columns was a measurable part of every bundle.
    for (
        cid,
        given_name,
        family_name,
        floor,
        side,
        entrance_label,
        postal_code,
        city,
        home_id,
        home_serial,
        home_key,
        home_seq,
        entrance_door_id,
        entrance_serial,
        entrance_key,
        entrance_seq,
        gate_label,
        gate_door_id,
        gate_serial,
        gate_key,
        gate_seq,
    ) in rows:
        if cid != current:
            current = cid
            name = f"{given_name} {family_name}"
            address = f"{entrance_label}, {floor}. {side}., {postal_code} {city}"
            grant = grant_of.get(cid) if grant_of else None
            append(
                BundleDoor(
                    home_id,
                    home_serial.encode(),
                    home,
                    home_key,
                    cid,
                    name,
                    address,
                    "Hoveddør",
                    grant,
                    home_seq or 0,
                )
            )
            if entrance_door_id is not None:
                append(
                    BundleDoor(
                        entrance_door_id,
                        entrance_serial.encode(),
                        entrance,
                        entrance_key,
                        cid,
                        name,
                        address,
                        f"Opgang {entrance_label}",
                        grant,
                        entrance_seq or 0,
                    )
                )
        if gate_door_id is not None:
            append(
                BundleDoor(
                    gate_door_id,
                    gate_serial.encode(),
                    gate,
                    gate_key,
                    cid,
                    name,
                    address,
                    gate_label,
                    grant,
                    gate_seq or 0,
                )
            )
    return doors


_PROTO_KIND = {
    e.DoorKind.HOME_LOCK: cred.DoorKind.HOME,
    e.DoorKind.ENTRANCE_CONTROLLER: cred.DoorKind.ENTRANCE,
    e.DoorKind.GATE_CONTROLLER: cred.DoorKind.GATE,
}


# The wire forms, looked up by a str-hashed key instead of through enum properties (≈ 200 doors
# per bundle): the door kind's JSON text, and a single-kind leaf's bit (1 home, 2 entrance, 4 gate).
_KIND_TEXT: dict[str, str] = {kind: kind.value for kind in e.DoorKind}
_KIND_BITS: dict[frozenset[cred.DoorKind], int] = {
    frozenset({kind}): cred.BundleLeaf.of(b"x", kind).kind_bits for kind in cred.DoorKind
}


@functools.lru_cache(maxsize=1 << 16)
def _leaf(door_id: bytes, kind: e.DoorKind) -> tuple[cred.BundleLeaf, list[Any]]:
    """A door's bundle leaf and its wire form ``[door id, kind bits]``, built once per process
    (a door's id and kind do not change; ≈ 200 leaves per key bundle)."""
    leaf = cred.BundleLeaf.of(door_id, _PROTO_KIND[kind])
    return leaf, [door_id.decode(), _KIND_BITS[leaf.kinds]]


def subject_of(employee_id: int) -> str:
    """The pseudonymous subject in an employee's credentials (never a name or CPR)."""
    return f"e{employee_id}"


def _active_grants(db: Session, employee_id: int, now: dt.datetime) -> list[m.EmergencyKeyGrant]:
    return list(
        db.execute(
            select(m.EmergencyKeyGrant)
            .where(m.EmergencyKeyGrant.employee_id == employee_id)
            .where(m.EmergencyKeyGrant.revoked_at.is_(None))
            .where(m.EmergencyKeyGrant.starts_at <= now)
            .where(m.EmergencyKeyGrant.ends_at > now)
            .order_by(m.EmergencyKeyGrant.id)
        ).scalars()
    )


def current_doors(db: Session, *, employee: m.Employee, now: dt.datetime) -> list[BundleDoor]:
    """Every door the employee may open now: the homes of the active citizens of their districts
    with those citizens' entrances and gates, plus the doors of live emergency keys. Nothing else.
    """
    return _doors_and_grants(db, employee=employee, now=now)[0]


def _doors_and_grants(
    db: Session, *, employee: m.Employee | _Holder, now: dt.datetime, grants_possible: bool = True
) -> tuple[list[BundleDoor], dict[int, m.EmergencyKeyGrant]]:
    """The employee's doors; ``grants_possible=False`` when the caller already knows (in the
    same transaction) that the employee has no live emergency key, to skip that query."""
    employee_id = employee.id if isinstance(employee, m.Employee) else employee.employee_id
    doors = _citizen_doors(db, kind="district", params={"employee_id": employee_id})
    if not grants_possible:
        return doors, {}
    covered = {d.citizen_id for d in doors}
    live = _active_grants(db, employee_id, now)
    grants = [g for g in live if g.citizen_id not in covered]
    if grants:
        doors += _citizen_doors(
            db,
            kind="grants",
            params={
                "citizen_ids": [g.citizen_id for g in grants],
                "municipality_id": employee.municipality_id,
            },
            grant_of={g.citizen_id: g.id for g in grants},
        )
    return doors, {g.id: g for g in grants}


def door_digest(doors: list[BundleDoor]) -> bytes:
    """A fingerprint of a key set, so a heartbeat can tell whether the phone's keys are current."""
    text = ",".join(sorted(f"{d.device_id}:{d.emergency_grant_id or 0}" for d in doors))
    return hashlib.sha256(text.encode()).digest()


@dataclass(slots=True)
class _Holder:
    """Who a bundle is for: the employee and phone fields that building it needs. Read with one
    query on the refresh path (no ORM objects), taken from the ORM objects at login."""

    employee_id: int
    municipality_id: int
    employee_name: str
    phone_id: int
    public_key: bytes | None
    bundle_digest: bytes | None
    bundle_expires_at: dt.datetime | None
    last_seen_at: dt.datetime | None

    @classmethod
    def of(cls, employee: m.Employee, phone: m.Phone) -> _Holder:
        return cls(
            employee.id,
            employee.municipality_id,
            employee.full_name,
            phone.id,
            phone.public_key,
            phone.bundle_digest,
            phone.bundle_expires_at,
            phone.last_seen_at,
        )


def _issued_row(
    *,
    credential_id: bytes,
    issuer_key: IssuerKey,
    holder: _Holder,
    doors: list[BundleDoor],
    serial: int,
    denylist_version: int,
    not_before: dt.datetime,
    expires: dt.datetime,
    grant_id: int | None,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "credential_id": credential_id,
        "municipality_id": holder.municipality_id,
        "issuer_kid": issuer_key.kid,
        "subject_type": e.SubjectType.EMPLOYEE,
        "employee_id": holder.employee_id,
        "phone_id": holder.phone_id,
        "emergency_grant_id": grant_id,
        "kind": e.CredentialKind.HOME,
        "serial": serial,
        "denylist_version": denylist_version,
        "door_device_ids": sorted({d.device_id for d in doors}),
        "not_before": not_before,
        "expires_at": expires,
        "issued_at": now,
    }


def _sign_bundle(
    *,
    issuer_key: IssuerKey,
    holder: _Holder,
    doors: list[BundleDoor],
    not_before: dt.datetime,
    expires: dt.datetime,
    denylist_version: int,
    now: dt.datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One signature over the whole shift: a Merkle tree with one leaf per door (see
    docs/protocol.md, "Bundle credentials"). The phone derives each door's proof itself."""
    assert holder.public_key is not None
    leaves: dict[bytes, tuple[cred.BundleLeaf, list[Any]]] = {}
    for door in doors:
        if door.door_id not in leaves:
            leaves[door.door_id] = _leaf(door.door_id, door.kind)
    ordered = [leaf for leaf, _ in leaves.values()]
    # A fresh list per leaf: the cached one must not end up shared inside a response body.
    wire_leaves = [list(wire) for _, wire in leaves.values()]
    credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
    serial = int(now.timestamp() * 1000)
    data = cred.issue_bundle(
        issuer_key=issuer_key,
        subject=subject_of(holder.employee_id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(holder.public_key),
        leaves=ordered,
        not_before=not_before,
        expires=expires,
        serial=serial,
        denylist_version=denylist_version,
        credential_id=credential_id,
    )
    body = {
        "type": "bundle",
        "credential": b64(data),
        "leaves": wire_leaves,
        "expires_at": expires.isoformat(),
        "emergency_grant_id": None,
    }
    row = _issued_row(
        credential_id=credential_id,
        issuer_key=issuer_key,
        holder=holder,
        doors=doors,
        serial=serial,
        denylist_version=denylist_version,
        not_before=not_before,
        expires=expires,
        grant_id=None,
        now=now,
    )
    return body, row


def _sign_single(
    *,
    issuer_key: IssuerKey,
    holder: _Holder,
    doors: list[BundleDoor],
    not_before: dt.datetime,
    expires: dt.datetime,
    denylist_version: int,
    grant_id: int,
    now: dt.datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A plain credential for one citizen's doors (home, entrance, gates): an emergency key,
    which ends with its grant, sooner than the shift."""
    assert holder.public_key is not None
    targets = list({d.door_id: d for d in doors}.values())[: cred.MAX_TARGETS]
    credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
    serial = int(now.timestamp() * 1000)
    data = cred.issue_credential(
        issuer_key=issuer_key,
        subject=subject_of(holder.employee_id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(holder.public_key),
        kinds={_PROTO_KIND[d.kind] for d in targets},
        not_before=not_before,
        expires=expires,
        serial=serial,
        denylist_version=denylist_version,
        doors=[d.door_id for d in targets],
        credential_id=credential_id,
    )
    body = {
        "type": "single",
        "credential": b64(data),
        "doors": [d.door_id.decode() for d in targets],
        "expires_at": expires.isoformat(),
        "emergency_grant_id": grant_id,
    }
    row = _issued_row(
        credential_id=credential_id,
        issuer_key=issuer_key,
        holder=holder,
        doors=targets,
        serial=serial,
        denylist_version=denylist_version,
        not_before=not_before,
        expires=expires,
        grant_id=grant_id,
        now=now,
    )
    return body, row


LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)


def _seen(phone: m.Phone, now: dt.datetime) -> None:
    """Record contact, at most once a minute (a heartbeat must not cost a write every time)."""
    if phone.last_seen_at is None or now - phone.last_seen_at >= LAST_SEEN_RESOLUTION:
        phone.last_seen_at = now


def build_bundle(
    db: Session,
    *,
    employee: m.Employee,
    phone: m.Phone,
    secret: str,
    now: dt.datetime,
    session_expires: dt.datetime,
    session_token: str | None = None,
) -> KeyBundle:
    """Sign today's keys for ``employee`` on ``phone``; they die at ``session_expires`` at the
    latest (≤ 9 h after login) and never outlive an emergency grant."""
    municipality = db.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=municipality.id, secret=secret
    )
    version, snapshot = denylist_service.signed_snapshot(
        db, municipality_id=municipality.id, issuer_key=issuer_key, now=now
    )
    bundle, changes = _build(
        db,
        holder=_Holder.of(employee, phone),
        issuer_key=issuer_key,
        denylist=(version, snapshot),
        expires=min(session_expires, now + dt.timedelta(minutes=municipality.key_lifetime_minutes)),
        secret=secret,
        now=now,
        session_token=session_token,
        grants_possible=True,
    )
    for name, value in changes.items():
        setattr(phone, name, value)
    return bundle


def _build(
    db: Session,
    *,
    holder: _Holder,
    issuer_key: IssuerKey,
    denylist: tuple[int, bytes | None],
    expires: dt.datetime,
    secret: str,
    now: dt.datetime,
    session_token: str | None,
    grants_possible: bool,
) -> tuple[KeyBundle, dict[str, Any]]:
    """The key bundle, and the phone columns to update (only those whose value changes)."""
    version, snapshot = denylist
    doors, grants = _doors_and_grants(db, employee=holder, now=now, grants_possible=grants_possible)
    # Tolerate door clocks a little behind, within the 9-hour ceiling of a credential's life.
    not_before = max(now - dt.timedelta(minutes=5), expires - MAX_CREDENTIAL_LIFETIME)
    regular = [d for d in doors if d.emergency_grant_id is None]
    credentials: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if regular:
        body, row = _sign_bundle(
            issuer_key=issuer_key,
            holder=holder,
            doors=regular,
            not_before=not_before,
            expires=expires,
            denylist_version=version,
            now=now,
        )
        credentials.append(body)
        rows.append(row)
    for grant_id in sorted({d.emergency_grant_id for d in doors if d.emergency_grant_id}):
        body, row = _sign_single(
            issuer_key=issuer_key,
            holder=holder,
            doors=[d for d in doors if d.emergency_grant_id == grant_id],
            not_before=not_before,
            expires=min(expires, grants[grant_id].ends_at),
            denylist_version=version,
            grant_id=grant_id,
            now=now,
        )
        credentials.append(body)
        rows.append(row)
    if rows:
        # A Core insert on the connection: the ORM's bulk-insert path costs more than the
        # statement itself here, and there is no ORM object to keep in step.
        db.connection().execute(insert(_ISSUED), rows)
    digest = door_digest(doors)
    # Write only what changed: a refresh of an unchanged key set should not rewrite the phone.
    changes: dict[str, Any] = {}
    if holder.bundle_digest != digest:
        changes["bundle_digest"] = digest
    if holder.bundle_expires_at != expires:
        changes["bundle_expires_at"] = expires
    if holder.last_seen_at is None or now - holder.last_seen_at >= LAST_SEEN_RESOLUTION:
        changes["last_seen_at"] = now
    bundle = KeyBundle(
        session_token=session_token,
        expires_at=expires,
        employee_id=holder.employee_id,
        employee_name=holder.employee_name,
        doors=doors,
        credentials=credentials,
        time_token=issue_time_token(issuer_key=issuer_key, now=now),
        denylist_version=version,
        denylist_snapshot=snapshot,
        digest=digest,
        next_challenge=issue_challenge(phone_id=holder.phone_id, secret=secret, now=now)[0],
    )
    return bundle, changes


_EMPLOYEE = m.Employee.__table__
_PHONE = cast(Table, m.Phone.__table__)
_ISSUED = cast(Table, m.IssuedCredential.__table__)
_MUNICIPALITY = m.Municipality.__table__
_DENYLIST_VERSION = m.DenylistVersion.__table__
_GRANT = m.EmergencyKeyGrant.__table__
_NOW = bindparam("now", type_=_GRANT.c.starts_at.type)


def _newest_denylist(column: Any) -> Any:
    return (
        select(column)
        .where(_DENYLIST_VERSION.c.municipality_id == _EMPLOYEE.c.municipality_id)
        .order_by(_DENYLIST_VERSION.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


# Everything a bundle refresh needs to know before the door query, in one round trip: the
# session's employee and phone (status, epoch, key), the municipality's key lifetime, the newest
# denylist version (and its row, which keys the cached signed snapshot) and whether the employee
# has any live emergency key at all.
_REFRESH_STATEMENT = (
    select(
        _EMPLOYEE.c.status,
        _EMPLOYEE.c.session_epoch,
        _EMPLOYEE.c.municipality_id,
        _EMPLOYEE.c.full_name,
        _PHONE.c.status,
        _PHONE.c.session_epoch,
        _PHONE.c.public_key,
        _PHONE.c.bundle_digest,
        _PHONE.c.bundle_expires_at,
        _PHONE.c.last_seen_at,
        _MUNICIPALITY.c.key_lifetime_minutes,
        _newest_denylist(_DENYLIST_VERSION.c.version),
        _newest_denylist(_DENYLIST_VERSION.c.id),
        exists()
        .where(_GRANT.c.employee_id == _EMPLOYEE.c.id)
        .where(_GRANT.c.revoked_at.is_(None))
        .where(_GRANT.c.starts_at <= _NOW)
        .where(_GRANT.c.ends_at > _NOW),
    )
    .select_from(_EMPLOYEE)
    .join(_MUNICIPALITY, _MUNICIPALITY.c.id == _EMPLOYEE.c.municipality_id)
    .join(_PHONE, _PHONE.c.id == bindparam("phone_id"))
    .where(_EMPLOYEE.c.id == bindparam("employee_id"))
)


def _signed_denylist(
    db: Session,
    *,
    municipality_id: int,
    version: int | None,
    row_id: int | None,
    issuer_key: IssuerKey,
    now: dt.datetime,
) -> tuple[int, bytes | None]:
    """``denylist.signed_snapshot`` for a version and row already read (same cache entry)."""
    if not version or row_id is None:
        return 0, None
    data = cached(
        db,
        ("denylist_snapshot", municipality_id, version, row_id),
        denylist_service.SNAPSHOT_REUSE_S,
        lambda: denylist_service._sign_snapshot(
            db, municipality_id=municipality_id, version=version, issuer_key=issuer_key, now=now
        ),
    )
    return version, data


def login(
    db: Session,
    *,
    municipality_code: str,
    employee_number: str,
    password: str,
    phone_id: int,
    challenge: str,
    signature: bytes,
    secret: str,
    now: dt.datetime,
) -> KeyBundle:
    """Log an employee in on an enrolled phone and hand out today's key bundle."""
    phone = db.get(m.Phone, phone_id)
    refused = _phone_refused(phone)
    if refused is not None:
        raise refused
    assert phone is not None
    _verify_device_proof(
        phone.id,
        phone.public_key,
        challenge=challenge,
        signature=signature,
        purpose="login",
        secret=secret,
        now=now,
    )
    employee = check_employee_password(
        db,
        municipality_code=municipality_code,
        employee_number=employee_number,
        password=password,
    )
    if employee.municipality_id != phone.municipality_id or (
        phone.employee_id is not None and phone.employee_id != employee.id
    ):
        raise ForbiddenError(
            "auth.not_your_phone",
            "Telefonen er ikke registreret til dig",
            "This phone is not registered to you",
        )
    municipality = db.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    session_expires = now + dt.timedelta(minutes=municipality.key_lifetime_minutes)
    token = _session_token(employee, phone, session_expires, secret)
    db.add(
        m.AuditEvent(
            municipality_id=employee.municipality_id,
            source=e.AuditSource.SERVER,
            action=e.AuditAction.LOGIN,
            employee_id=employee.id,
            phone_id=phone.id,
            occurred_at=now,
            received_at=now,
        )
    )
    return build_bundle(
        db,
        employee=employee,
        phone=phone,
        secret=secret,
        now=now,
        session_expires=session_expires,
        session_token=token,
    )


def refresh_bundle(
    db: Session, *, token: str, challenge: str, signature: bytes, secret: str, now: dt.datetime
) -> KeyBundle:
    """A fresh bundle for a logged-in phone: device proof and rights re-checked, no password.

    The same checks as ``require_session`` (phone and employee active, session epochs current),
    read with one Core query instead of ORM loads: this is the hot path of the morning rush."""
    payload = open_token(token, secret=secret, purpose="app", now=now)
    phone_id = int(payload["ph"])
    row = db.execute(
        _REFRESH_STATEMENT,
        {"employee_id": int(payload["emp"]), "phone_id": phone_id, "now": now},
    ).first()
    if row is None:
        raise _session_refused("unknown")
    (
        employee_status,
        employee_epoch,
        municipality_id,
        employee_name,
        phone_status,
        phone_epoch,
        public_key,
        bundle_digest,
        bundle_expires_at,
        last_seen_at,
        key_lifetime_minutes,
        denylist_version,
        denylist_row,
        has_grants,
    ) = row
    if phone_status is not e.PhoneStatus.ACTIVE or phone_epoch != payload["pep"]:
        raise _session_refused("phone_blocked")
    if employee_status is not e.EmployeeStatus.ACTIVE or employee_epoch != payload["eep"]:
        raise _session_refused("employee_blocked")
    _verify_device_proof(
        phone_id,
        public_key,
        challenge=challenge,
        signature=signature,
        purpose="bundle",
        secret=secret,
        now=now,
    )
    session_expires = dt.datetime.fromtimestamp(payload["exp"], dt.UTC)
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=municipality_id, secret=secret
    )
    holder = _Holder(
        int(payload["emp"]),
        municipality_id,
        employee_name,
        phone_id,
        public_key,
        bundle_digest,
        bundle_expires_at,
        last_seen_at,
    )
    bundle, changes = _build(
        db,
        holder=holder,
        issuer_key=issuer_key,
        denylist=_signed_denylist(
            db,
            municipality_id=municipality_id,
            version=denylist_version,
            row_id=denylist_row,
            issuer_key=issuer_key,
            now=now,
        ),
        expires=min(session_expires, now + dt.timedelta(minutes=key_lifetime_minutes)),
        secret=secret,
        now=now,
        session_token=None,
        grants_possible=bool(has_grants),
    )
    if changes:
        db.execute(update(_PHONE).where(_PHONE.c.id == phone_id).values(**changes))
    return bundle


class HeartbeatStatus:
    OK = "OK"
    REFRESH = "REFRESH"
    WIPE = "WIPE"


def heartbeat(db: Session, *, token: str, secret: str, now: dt.datetime) -> dict[str, Any]:
    """OK, REFRESH (the key set changed) or WIPE (phone or employee blocked), with the newest
    denylist and a time token for the doors the phone will touch."""
    checked = check_session(db, token=token, secret=secret, now=now)
    if checked.session is None:
        return {"status": HeartbeatStatus.WIPE, "reason": checked.wipe_reason}
    employee, phone = checked.session.employee, checked.session.phone
    _seen(phone, now)
    doors = current_doors(db, employee=employee, now=now)
    status = (
        HeartbeatStatus.OK if door_digest(doors) == phone.bundle_digest else HeartbeatStatus.REFRESH
    )
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=employee.municipality_id, secret=secret
    )
    version, snapshot = denylist_service.signed_snapshot(
        db, municipality_id=employee.municipality_id, issuer_key=issuer_key, now=now
    )
    municipality = db.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    return {
        "status": status,
        "keys_valid_until": (phone.bundle_expires_at or checked.session.expires_at).isoformat(),
        "next_heartbeat_s": municipality.heartbeat_interval_s,
        "denylist": {"version": version, "snapshot": b64(snapshot) if snapshot else None},
        "time_token": b64(issue_time_token(issuer_key=issuer_key, now=now)),
        # The next bundle request can prove possession without fetching a challenge first.
        "next_challenge": issue_challenge(phone_id=phone.id, secret=secret, now=now)[0],
    }


def door_time_token(
    db: Session, *, token: str, door_id: str, nonce: bytes, secret: str, now: dt.datetime
) -> bytes:
    """A challenge-bound time token for one door of the phone's bundle: the only kind of token a
    door that lost its time (power loss) accepts. Needs the phone to be online at the door."""
    session = require_session(db, token=token, secret=secret, now=now)
    if door_id.encode() not in {
        d.door_id for d in current_doors(db, employee=session.employee, now=now)
    }:
        raise not_found("Døren", "door")
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=session.employee.municipality_id, secret=secret
    )
    try:
        return issue_time_token(
            issuer_key=issuer_key, now=now, door_id=door_id.encode(), nonce=nonce
        )
    except ProtocolError as exc:
        raise ConflictError(
            "time_token.bad_nonce",
            "Dørens udfordring er ugyldig",
            "The door's challenge is invalid",
        ) from exc
