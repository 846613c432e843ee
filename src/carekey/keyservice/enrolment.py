"""Phone enrolment: an administrator's one-time code, and the phone registering its device key.

Only enrolled, active phones can log in ("the app works only on the municipality's own IT
equipment"); the device key never leaves the phone, the server keeps its public half.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, UnauthorizedError
from carekey.keyservice import queries
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DevicePublicKey
from carekey.store import models as m

ENROLMENT_CODE_LIFETIME = dt.timedelta(hours=24)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def _hash_code(code: str) -> str:
    normalized = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(b"carekey-enrolment\x00" + normalized.encode()).hexdigest()


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
    return issue_enrolment_code(db, actor=actor, phone=phone, now=now, lifetime=lifetime)


def issue_enrolment_code(
    db: Session,
    *,
    actor: Actor,
    phone: m.Phone,
    now: dt.datetime,
    lifetime: dt.timedelta = ENROLMENT_CODE_LIFETIME,
) -> tuple[str, dt.datetime]:
    """A one-time code to enrol ``phone``, already fetched in the actor's reach by the caller
    (the municipality's ``create_enrolment_code``, a partner company's ``partners.service``);
    shown once, stored only as a hash, written to the log of administrative actions."""
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
    """The phone a code enrolled, as the app shows it."""

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
    row = queries.enrolment_code(db, code_hash=_hash_code(code))
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
    if queries.device_key_taken(db, public_key=public_key):
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
