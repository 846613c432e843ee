"""Device proof and app sessions.

A phone proves it holds its enrolled device key by signing a fresh server challenge; the
employee proves who they are with a password (Argon2id, slow on purpose) once per login. The
login returns an app session (≤ the key lifetime) with which the phone later fetches bundles
and sends heartbeats without the password, so the morning rush never queues key bundles behind
password hashing. A session is re-checked against the database on every use: a blocked phone
or employee, or a session from before a block (session epochs), means WIPE.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session, lazyload

from carekey.auth.tokens import open_token, sign_token
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, UnauthorizedError
from carekey.protocol.deviceproof import proof_message
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DevicePublicKey
from carekey.store import models as m

CHALLENGE_LIFETIME = dt.timedelta(minutes=2)
# A phone's contact is recorded at most this often (a heartbeat must not cost a write every time).
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)


def issue_challenge(*, phone_id: int, secret: str, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A fresh, short-lived challenge the phone signs with its device key."""
    expires = now + CHALLENGE_LIFETIME
    token = sign_token(
        {"ph": phone_id, "exp": int(expires.timestamp()), "n": secrets.token_hex(12)},
        secret=secret,
        purpose="challenge",
    )
    return token, expires


@dataclass(frozen=True, slots=True)
class DeviceProof:
    """A phone's answer to a challenge: the challenge and its device key's signature over it."""

    challenge: str
    signature: bytes


def verify_device_proof(
    phone_id: int,
    public_key: bytes | None,
    *,
    proof: DeviceProof,
    purpose: str,
    secret: str,
    now: dt.datetime,
) -> None:
    """Refuse (``auth.bad_device_proof``) unless ``proof`` answers a live challenge for this
    phone, signed by its device key for ``purpose``."""
    payload = open_token(proof.challenge, secret=secret, purpose="challenge", now=now)
    if payload.get("ph") != phone_id or public_key is None:
        raise _bad_proof()
    try:
        DevicePublicKey(public_key).verify(
            proof.signature, proof_message(proof.challenge, phone_id, purpose)
        )
    except ProtocolError as exc:
        raise _bad_proof() from exc


def _bad_proof() -> UnauthorizedError:
    return UnauthorizedError(
        "auth.bad_device_proof",
        "Telefonen kunne ikke bevise sin identitet; prøv igen",
        "The phone could not prove its identity; try again",
    )


def phone_refused(phone: m.Phone | None) -> ForbiddenError | None:
    """Why this phone may not log in (not enrolled, blocked), or None."""
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


def issue_session_token(
    employee: m.Employee, phone: m.Phone, expires: dt.datetime, secret: str
) -> str:
    """A signed app session token for ``employee`` on ``phone`` until ``expires``, bound to both
    session epochs (a block bumps them, which ends every session from before)."""
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
        raise session_refused(checked.wipe_reason or "unknown")
    return checked.session


def session_refused(reason: str) -> ForbiddenError:
    """The refusal of an app session that may not be used (``auth.<reason>``); the app wipes."""
    return ForbiddenError(
        f"auth.{reason}",
        "Adgangen er spærret; nøglerne slettes",
        "Access is blocked; the keys are deleted",
    )


def record_contact(phone: m.Phone, now: dt.datetime) -> None:
    """Record contact, at most once a minute (a heartbeat must not cost a write every time)."""
    if phone.last_seen_at is None or now - phone.last_seen_at >= LAST_SEEN_RESOLUTION:
        phone.last_seen_at = now
