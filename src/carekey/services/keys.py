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
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.protocol import credential as cred
from carekey.protocol.deviceproof import proof_message
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DevicePublicKey, IssuerKey
from carekey.protocol.timetoken import issue_time_token
from carekey.services import denylist as denylist_service
from carekey.services import issuer as issuer_service
from carekey.services.audit import record_admin_action
from carekey.services.auth import Actor, check_employee_password, open_token, sign_token
from carekey.services.errors import ConflictError, ForbiddenError, UnauthorizedError, not_found
from carekey.store import models as m

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
    actor.require(e.Role.ADMINISTRATOR)
    phone = db.get(m.Phone, phone_id)
    if phone is None or phone.municipality_id != actor.municipality_id:
        raise not_found("Telefonen", "phone")
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
    phone: m.Phone, *, challenge: str, signature: bytes, purpose: str, secret: str, now: dt.datetime
) -> None:
    payload = open_token(challenge, secret=secret, purpose="challenge", now=now)
    if payload.get("ph") != phone.id or phone.public_key is None:
        raise _bad_proof()
    try:
        DevicePublicKey(phone.public_key).verify(
            signature, proof_message(challenge, phone.id, purpose)
        )
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
    employee = db.get(m.Employee, int(payload["emp"]))
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
        raise ForbiddenError(
            f"auth.{checked.wipe_reason}",
            "Adgangen er spærret; nøglerne slettes",
            "Access is blocked; the keys are deleted",
        )
    return checked.session


# --- the key bundle ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleDoor:
    """A door the employee may open, with what the app shows for it."""

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
        citizens: dict[int, dict[str, Any]] = {}
        for d in self.doors:
            citizens.setdefault(
                d.citizen_id,
                {
                    "id": d.citizen_id,
                    "name": d.citizen_name,
                    "address": d.address,
                    "emergency_grant_id": d.emergency_grant_id,
                },
            )
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
            "doors": [
                {
                    "door_id": d.door_id.decode(),
                    "kind": d.kind.value,
                    "device_id": d.device_id,
                    "door_public_key": b64(d.public_key),
                    "citizen_id": d.citizen_id,
                    "label": d.label,
                    "last_seq": d.last_seq,
                }
                for d in self.doors
            ],
        }


_HOME = m.DoorDevice.__table__.alias("home")
_ENTRANCE_DOOR = m.DoorDevice.__table__.alias("entrance_door")
_GATE_DOOR = m.DoorDevice.__table__.alias("gate_door")
_LIVE = [s.value for s in LIVE_DOOR_STATUSES]


def _citizen_doors(
    db: Session,
    *,
    citizen_filter: Any,
    grant_of: dict[int, int] | None = None,
) -> list[BundleDoor]:
    """Home lock, entrance controller and gate controllers of the selected active citizens.

    One query (a row per citizen and gate), run on the connection rather than through the ORM:
    this is the hot path of every login, bundle and heartbeat. ``citizen_filter`` must keep the
    selection inside one municipality (a district of it, or citizen ids checked against it)."""
    c, dw, en, pr, gt = (
        m.Citizen.__table__,
        m.Dwelling.__table__,
        m.Entrance.__table__,
        m.Property.__table__,
        m.Gate.__table__,
    )
    statement = (
        select(
            c.c.id,
            c.c.given_name,
            c.c.family_name,
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
        .select_from(c)
        .join(dw, dw.c.id == c.c.dwelling_id)
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
        .where(c.c.status == e.CitizenStatus.ACTIVE.value)
        .where(citizen_filter)
        .order_by(c.c.id, _GATE_DOOR.c.id)
    )
    doors: list[BundleDoor] = []
    current: int | None = None
    name = address = ""
    grant: int | None = None
    for r in db.connection().execute(statement):
        if r.id != current:
            current = r.id
            name = f"{r.given_name} {r.family_name}"
            address = f"{r.entrance_label}, {r.floor}. {r.side}., {r.postal_code} {r.city}"
            grant = grant_of.get(r.id) if grant_of else None
            doors.append(
                BundleDoor(
                    r.home_id,
                    r.home_serial.encode(),
                    e.DoorKind.HOME_LOCK,
                    r.home_key,
                    r.id,
                    name,
                    address,
                    "Hoveddør",
                    grant,
                    r.home_seq or 0,
                )
            )
            if r.entrance_door_id is not None:
                doors.append(
                    BundleDoor(
                        r.entrance_door_id,
                        r.entrance_serial.encode(),
                        e.DoorKind.ENTRANCE_CONTROLLER,
                        r.entrance_key,
                        r.id,
                        name,
                        address,
                        f"Opgang {r.entrance_label}",
                        grant,
                        r.entrance_seq or 0,
                    )
                )
        if r.gate_door_id is not None:
            doors.append(
                BundleDoor(
                    r.gate_door_id,
                    r.gate_serial.encode(),
                    e.DoorKind.GATE_CONTROLLER,
                    r.gate_key,
                    r.id,
                    name,
                    address,
                    r.gate_label,
                    grant,
                    r.gate_seq or 0,
                )
            )
    return doors


_PROTO_KIND = {
    e.DoorKind.HOME_LOCK: cred.DoorKind.HOME,
    e.DoorKind.ENTRANCE_CONTROLLER: cred.DoorKind.ENTRANCE,
    e.DoorKind.GATE_CONTROLLER: cred.DoorKind.GATE,
}


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
    db: Session, *, employee: m.Employee, now: dt.datetime
) -> tuple[list[BundleDoor], dict[int, m.EmergencyKeyGrant]]:
    districts = list(
        db.connection()
        .execute(
            select(m.EmployeeDistrict.district_id).where(
                m.EmployeeDistrict.employee_id == employee.id
            )
        )
        .scalars()
    )
    # Districts belong to the employee's municipality (composite foreign keys), and so do their
    # citizens: no municipality condition needed, and the district index serves the query.
    doors = (
        _citizen_doors(db, citizen_filter=m.Citizen.__table__.c.district_id.in_(districts))
        if districts
        else []
    )
    covered = {d.citizen_id for d in doors}
    live = _active_grants(db, employee.id, now)
    grants = [g for g in live if g.citizen_id not in covered]
    if grants:
        table = m.Citizen.__table__
        doors += _citizen_doors(
            db,
            citizen_filter=and_(
                table.c.id.in_([g.citizen_id for g in grants]),
                table.c.municipality_id == employee.municipality_id,
            ),
            grant_of={g.citizen_id: g.id for g in grants},
        )
    return doors, {g.id: g for g in grants}


def door_digest(doors: list[BundleDoor]) -> bytes:
    """A fingerprint of a key set, so a heartbeat can tell whether the phone's keys are current."""
    text = ",".join(sorted(f"{d.device_id}:{d.emergency_grant_id or 0}" for d in doors))
    return hashlib.sha256(text.encode()).digest()


def _issued_row(
    *,
    credential_id: bytes,
    issuer_key: IssuerKey,
    employee: m.Employee,
    phone: m.Phone,
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
        "municipality_id": employee.municipality_id,
        "issuer_kid": issuer_key.kid,
        "subject_type": e.SubjectType.EMPLOYEE,
        "employee_id": employee.id,
        "phone_id": phone.id,
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
    employee: m.Employee,
    phone: m.Phone,
    doors: list[BundleDoor],
    not_before: dt.datetime,
    expires: dt.datetime,
    denylist_version: int,
    now: dt.datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One signature over the whole shift: a Merkle tree with one leaf per door (see
    docs/protocol.md, "Bundle credentials"). The phone derives each door's proof itself."""
    assert phone.public_key is not None
    leaves: dict[bytes, cred.BundleLeaf] = {}
    for door in doors:
        leaves.setdefault(door.door_id, cred.BundleLeaf.of(door.door_id, _PROTO_KIND[door.kind]))
    ordered = list(leaves.values())
    credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
    serial = int(now.timestamp() * 1000)
    data = cred.issue_bundle(
        issuer_key=issuer_key,
        subject=subject_of(employee.id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(phone.public_key),
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
        "leaves": [[leaf.door_id.decode(), leaf.kind_bits] for leaf in ordered],
        "expires_at": expires.isoformat(),
        "emergency_grant_id": None,
    }
    row = _issued_row(
        credential_id=credential_id,
        issuer_key=issuer_key,
        employee=employee,
        phone=phone,
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
    employee: m.Employee,
    phone: m.Phone,
    doors: list[BundleDoor],
    not_before: dt.datetime,
    expires: dt.datetime,
    denylist_version: int,
    grant_id: int,
    now: dt.datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A plain credential for one citizen's doors (home, entrance, gates): an emergency key,
    which ends with its grant, sooner than the shift."""
    assert phone.public_key is not None
    targets = list({d.door_id: d for d in doors}.values())[: cred.MAX_TARGETS]
    credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
    serial = int(now.timestamp() * 1000)
    data = cred.issue_credential(
        issuer_key=issuer_key,
        subject=subject_of(employee.id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(phone.public_key),
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
        employee=employee,
        phone=phone,
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
    expires = min(session_expires, now + dt.timedelta(minutes=municipality.key_lifetime_minutes))
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=municipality.id, secret=secret
    )
    version, snapshot = denylist_service.signed_snapshot(
        db, municipality_id=municipality.id, issuer_key=issuer_key, now=now
    )
    doors, grants = _doors_and_grants(db, employee=employee, now=now)
    # Tolerate door clocks a little behind, within the 9-hour ceiling of a credential's life.
    not_before = max(now - dt.timedelta(minutes=5), expires - MAX_CREDENTIAL_LIFETIME)
    regular = [d for d in doors if d.emergency_grant_id is None]
    credentials: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if regular:
        body, row = _sign_bundle(
            issuer_key=issuer_key,
            employee=employee,
            phone=phone,
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
            employee=employee,
            phone=phone,
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
        db.execute(insert(m.IssuedCredential), rows)
    digest = door_digest(doors)
    # Write only what changed: a refresh of an unchanged key set should not rewrite the phone.
    if phone.bundle_digest != digest:
        phone.bundle_digest = digest
    if phone.bundle_expires_at != expires:
        phone.bundle_expires_at = expires
    _seen(phone, now)
    return KeyBundle(
        session_token=session_token,
        expires_at=expires,
        employee_id=employee.id,
        employee_name=employee.full_name,
        doors=doors,
        credentials=credentials,
        time_token=issue_time_token(issuer_key=issuer_key, now=now),
        denylist_version=version,
        denylist_snapshot=snapshot,
        digest=digest,
        next_challenge=issue_challenge(phone_id=phone.id, secret=secret, now=now)[0],
    )


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
        phone, challenge=challenge, signature=signature, purpose="login", secret=secret, now=now
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
    """A fresh bundle for a logged-in phone: device proof and rights re-checked, no password."""
    session = require_session(db, token=token, secret=secret, now=now)
    _verify_device_proof(
        session.phone,
        challenge=challenge,
        signature=signature,
        purpose="bundle",
        secret=secret,
        now=now,
    )
    return build_bundle(
        db,
        employee=session.employee,
        phone=session.phone,
        secret=secret,
        now=now,
        session_expires=session.expires_at,
    )


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
