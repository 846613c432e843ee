"""Who is asking: passwords, signed tokens, and the ``Actor`` every use case is told about.

Tokens are stateless: ``base64url(json payload) . base64url(HMAC-SHA256)`` under a key derived
from ``CAREKEY_SECRET_KEY``. Every use re-reads the employee (and phone) from the database, so a
block takes effect at once; the ``session_epoch`` inside a token makes tokens issued before a
block useless after an unblock too.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.domain.enums import EmployeeStatus, Role
from carekey.services.errors import ForbiddenError, UnauthorizedError
from carekey.store import models as m

ADMIN_TOKEN_LIFETIME = dt.timedelta(hours=8)
# Argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1): slow enough against guessing, cheap
# enough for a morning rush of logins on two cores.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# At most one password check at a time per process: Argon2 releases the GIL and would otherwise
# take every core during a burst of logins, and key bundles would queue behind it.
_argon2_slot = threading.BoundedSemaphore(1)
# Verified against when the employee does not exist, so timing does not reveal who exists.
_DUMMY_HASH = _hasher.hash("carekey-no-such-user")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` for storage."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; slow on purpose (Argon2id), also for unknown users."""
    with _argon2_slot:
        try:
            ok = _hasher.verify(password_hash or _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return False
    return ok and password_hash is not None


@lru_cache(maxsize=8)
def _mac_key(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"carekey-tokens-v1", info=purpose.encode()
    ).derive(secret.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(payload: dict[str, Any], *, secret: str, purpose: str) -> str:
    """A tamper-evident token carrying ``payload`` for one ``purpose``."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_mac_key(secret, purpose), body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def open_token(token: str, *, secret: str, purpose: str, now: dt.datetime) -> dict[str, Any]:
    """The payload of a token made by ``sign_token`` for ``purpose``, if genuine and unexpired."""
    invalid = UnauthorizedError(
        "auth.invalid_token",
        "Adgangen er ugyldig eller udløbet; log ind igen",
        "The access token is invalid or expired; sign in again",
    )
    try:
        body_text, mac_text = token.split(".", 1)
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, UnicodeError) as exc:
        raise invalid from exc
    expected = hmac.new(_mac_key(secret, purpose), body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise invalid
    try:
        payload: dict[str, Any] = json.loads(body)
        expires = int(payload["exp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid from exc
    if now.timestamp() >= expires:
        raise invalid
    return payload


@dataclass(frozen=True)
class Actor:
    """An authenticated employee acting through the administration API."""

    employee_id: int
    municipality_id: int
    roles: frozenset[Role]
    label: str

    def require(self, *roles: Role) -> None:
        """Refuse unless the actor has one of ``roles``."""
        if not self.roles.intersection(roles):
            raise ForbiddenError(
                "auth.forbidden",
                "Din rolle giver ikke adgang til dette",
                "Your role does not allow this",
            )


def _find_employee(db: Session, municipality_code: str, employee_number: str) -> m.Employee | None:
    return db.execute(
        select(m.Employee)
        .join(m.Municipality, m.Municipality.id == m.Employee.municipality_id)
        .where(m.Municipality.code == municipality_code)
        .where(m.Employee.employee_number == employee_number)
    ).scalar_one_or_none()


def check_employee_password(
    db: Session, *, municipality_code: str, employee_number: str, password: str
) -> m.Employee:
    """The active employee with these credentials, or ``UnauthorizedError`` / ``ForbiddenError``."""
    employee = _find_employee(db, municipality_code, employee_number)
    if not verify_password(employee.password_hash if employee else None, password):
        raise UnauthorizedError(
            "auth.bad_credentials",
            "Forkert medarbejdernummer eller adgangskode",
            "Wrong employee number or password",
        )
    assert employee is not None
    if employee.status is not EmployeeStatus.ACTIVE:
        raise ForbiddenError(
            "auth.employee_blocked",
            "Din adgang er spærret; kontakt din leder",
            "Your access is blocked; contact your manager",
        )
    return employee


def issue_admin_token(
    db: Session,
    *,
    municipality_code: str,
    employee_number: str,
    password: str,
    secret: str,
    now: dt.datetime,
) -> tuple[str, dt.datetime]:
    """Sign an administrator, district lead or auditor in; returns the token and its expiry."""
    employee = check_employee_password(
        db,
        municipality_code=municipality_code,
        employee_number=employee_number,
        password=password,
    )
    roles = {r.role for r in employee.roles}
    if not roles.intersection({Role.ADMINISTRATOR, Role.DISTRICT_LEAD, Role.AUDITOR}):
        raise ForbiddenError(
            "auth.not_office_role",
            "Kun administratorer, distriktsledere og revisorer kan bruge administrationen",
            "Only administrators, district leads and auditors can use the administration",
        )
    expires = now + ADMIN_TOKEN_LIFETIME
    token = sign_token(
        {
            "emp": employee.id,
            "mun": employee.municipality_id,
            "ep": employee.session_epoch,
            "exp": int(expires.timestamp()),
            "n": secrets.token_hex(8),
        },
        secret=secret,
        purpose="admin",
    )
    return token, expires


def actor_from_token(db: Session, token: str, *, secret: str, now: dt.datetime) -> Actor:
    """The actor behind an administration token, re-checked against the database."""
    payload = open_token(token, secret=secret, purpose="admin", now=now)
    employee = db.get(m.Employee, int(payload["emp"]))
    if (
        employee is None
        or employee.municipality_id != payload["mun"]
        or employee.session_epoch != payload["ep"]
        or employee.status is not EmployeeStatus.ACTIVE
    ):
        raise UnauthorizedError(
            "auth.invalid_token",
            "Adgangen er ugyldig eller udløbet; log ind igen",
            "The access token is invalid or expired; sign in again",
        )
    return Actor(
        employee_id=employee.id,
        municipality_id=employee.municipality_id,
        roles=frozenset(r.role for r in employee.roles),
        label=f"{employee.full_name} ({employee.employee_number})",
    )
