"""Signing in and out of the administration (UI and API), and the actor behind a session.

Both doors into the administration use the same steps: password (Argon2id), then a TOTP code
that is accepted once, each throttled by backoff (``throttle.SignInThrottle``); then a session
row that signing out ends. A wrong password, an unknown employee, a blocked one, or one whose
role is not an office role all get the same answer, so the answer reveals nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any, Final

import pyotp
from sqlalchemy.orm import Session

from carekey.access import Actor, district_ids_of
from carekey.access.policy import (
    ASSOCIATION_ROLES,
    COMPANY_ROLES,
    OFFICE_ROLES,
    ORGANISATION_ROLES,
)
from carekey.auth import queries
from carekey.auth.passwords import verify_password
from carekey.auth.throttle import SignInThrottle
from carekey.auth.tokens import invalid_token, open_token, sign_token
from carekey.domain.enums import EmployeeStatus
from carekey.domain.errors import ForbiddenError, TooManyAttemptsError, UnauthorizedError
from carekey.store import models as m
from carekey.store.sealed import seal, unseal

ADMIN_TOKEN_LIFETIME: Final = dt.timedelta(hours=8)
TOTP_STEP_S: Final = 30


def bad_credentials() -> UnauthorizedError:
    """The one answer to every failed office sign-in."""
    return UnauthorizedError(
        "auth.bad_credentials",
        "Forkert kommune, medarbejdernummer, adgangskode eller kode",
        "Wrong municipality, employee number, password or code",
    )


def too_many_attempts(wait: dt.timedelta) -> TooManyAttemptsError:
    """Slow down: the next attempt is allowed after ``wait``."""
    seconds = max(1, int(wait.total_seconds() + 0.999))
    return TooManyAttemptsError(
        "auth.too_many_attempts",
        f"For mange forkerte forsøg. Prøv igen om {seconds} "
        f"{'sekund' if seconds == 1 else 'sekunder'}.",
        f"Too many failed attempts. Try again in {seconds} "
        f"{'second' if seconds == 1 else 'seconds'}.",
        seconds,
    )


def password_change_required() -> ForbiddenError:
    """The password is a one-time password: a new one must be chosen before anything else
    (in the administration's sign-in pages, or with ``new_password`` in the key app's login)."""
    return ForbiddenError(
        "auth.password_change_required",
        "Du skal vælge en ny adgangskode, før du kan logge ind",
        "You must choose a new password before you can log in",
    )


def check_employee_password(
    db: Session, *, municipality_code: str, employee_number: str, password: str
) -> m.Employee:
    """The active employee with these credentials, or ``UnauthorizedError`` / ``ForbiddenError``
    (the key app's login tells a blocked employee so; the office sign-in does not)."""
    employee = queries.find_employee(db, municipality_code, employee_number)
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


def _roles(employee: m.Employee) -> frozenset[Any]:
    """The roles that count: a housing association's or partner company's person holds only
    their organisation's roles, a municipal employee never one of those (whatever rows say)."""
    roles = frozenset(r.role for r in employee.roles)
    if employee.housing_association_id is not None:
        return roles & ASSOCIATION_ROLES
    if employee.partner_company_id is not None:
        return roles & COMPANY_ROLES
    return roles - ORGANISATION_ROLES


def check_office_password(
    db: Session,
    throttle: SignInThrottle,
    *,
    municipality_code: str,
    employee_number: str,
    password: str,
    address: str,
    now: dt.datetime,
) -> m.Employee:
    """Step one of an office sign-in: an active office employee with this password."""
    account = f"{municipality_code.strip()}:{employee_number.strip()}"
    wait = throttle.retry_after(account=account, address=address, now=now)
    if wait is not None:
        raise too_many_attempts(wait)
    employee = queries.find_employee(db, municipality_code.strip(), employee_number.strip())
    ok = verify_password(employee.password_hash if employee else None, password)
    if (
        not ok
        or employee is None
        or employee.status is not EmployeeStatus.ACTIVE
        or not _roles(employee) & OFFICE_ROLES
    ):
        throttle.failed(account=account, address=address, now=now)
        raise bad_credentials()
    return employee


def totp_step_of(secret_b32: str, code: str, now: dt.datetime) -> int | None:
    """The TOTP time step ``code`` belongs to (this one or a neighbour), or None."""
    wanted = code.replace(" ", "")
    if not (wanted.isascii() and wanted.isdigit() and len(wanted) == 6):
        return None
    totp = pyotp.TOTP(secret_b32)
    step = int(now.timestamp()) // TOTP_STEP_S
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.at(candidate * TOTP_STEP_S), wanted):
            return candidate
    return None


def check_totp(
    db: Session,
    throttle: SignInThrottle,
    *,
    employee: m.Employee,
    secret_b32: str,
    code: str,
    address: str,
    now: dt.datetime,
) -> None:
    """Step two: a right TOTP code that has not been used before (a code works once)."""
    account = f"totp:{employee.id}"
    wait = throttle.retry_after(account=account, address=address, now=now)
    if wait is not None:
        raise too_many_attempts(wait)
    step = totp_step_of(secret_b32, code, now)
    if step is None or not queries.claim_totp_step(db, employee.id, step):
        throttle.failed(account=account, address=address, now=now)
        raise bad_credentials()
    throttle.succeeded(account=account, address=address, now=now)


def stored_totp_secret(employee: m.Employee, *, secret: str) -> str | None:
    """The employee's TOTP secret (base32), or None before it is set up."""
    if employee.totp_secret_sealed is None:
        return None
    return unseal(employee.totp_secret_sealed, secret=secret, purpose="totp").decode()


def start_session(
    db: Session, *, employee: m.Employee, kind: str, now: dt.datetime, lifetime: dt.timedelta
) -> str:
    """A new server-side session for a signed-in office employee; returns its id."""
    session_id = secrets.token_hex(16)
    queries.add_office_session(
        db,
        session_id=session_id,
        employee_id=employee.id,
        kind=kind,
        now=now,
        expires_at=now + lifetime,
    )
    return session_id


def end_session(db: Session, *, session_id: str, now: dt.datetime) -> None:
    """Sign out: the session stops working everywhere, copied cookies and tokens included."""
    queries.end_office_session(db, session_id, now)


def actor_of(db: Session, employee: m.Employee) -> Actor:
    """The actor for an employee, with their roles and districts."""
    return Actor(
        employee_id=employee.id,
        municipality_id=employee.municipality_id,
        roles=_roles(employee),
        label=f"{employee.full_name} ({employee.employee_number})",
        district_ids=district_ids_of(db, employee.id),
        association_id=employee.housing_association_id,
        company_id=employee.partner_company_id,
    )


def live_office_employee(
    db: Session, payload: dict[str, Any], *, now: dt.datetime
) -> m.Employee | None:
    """The employee of a session token's payload, if the session still holds: the employee is
    active and of an office role, the epoch matches (no block since), the session not ended."""
    try:
        employee = db.get(m.Employee, int(payload["emp"]))
        session_id = str(payload["sid"])
    except (KeyError, TypeError, ValueError):
        return None
    if (
        employee is None
        or employee.municipality_id != payload.get("mun")
        or employee.session_epoch != payload.get("ep")
        or employee.status is not EmployeeStatus.ACTIVE
        or not _roles(employee) & OFFICE_ROLES
        or not queries.office_session_live(db, session_id, employee.id, now)
    ):
        return None
    return employee


def issue_admin_token(
    db: Session,
    throttle: SignInThrottle,
    *,
    municipality_code: str,
    employee_number: str,
    password: str,
    totp_code: str,
    address: str,
    secret: str,
    now: dt.datetime,
) -> tuple[str, dt.datetime]:
    """Sign in to the administration API with password and TOTP code; returns a bearer token
    and its expiry. The TOTP secret is the one set up at the first web sign-in."""
    employee = check_office_password(
        db,
        throttle,
        municipality_code=municipality_code,
        employee_number=employee_number,
        password=password,
        address=address,
        now=now,
    )
    totp_secret = stored_totp_secret(employee, secret=secret)
    if totp_secret is None:
        # Not set up yet: the same answer as a wrong code (set it up in the administration UI).
        throttle.failed(account=f"totp:{employee.id}", address=address, now=now)
        raise bad_credentials()
    check_totp(
        db,
        throttle,
        employee=employee,
        secret_b32=totp_secret,
        code=totp_code,
        address=address,
        now=now,
    )
    if employee.password_must_change:
        raise password_change_required()
    expires = now + ADMIN_TOKEN_LIFETIME
    session_id = start_session(
        db, employee=employee, kind="api", now=now, lifetime=ADMIN_TOKEN_LIFETIME
    )
    token = sign_token(
        {
            "emp": employee.id,
            "mun": employee.municipality_id,
            "ep": employee.session_epoch,
            "sid": session_id,
            "exp": int(expires.timestamp()),
        },
        secret=secret,
        purpose="admin",
    )
    return token, expires


def open_admin_token(token: str, *, secret: str, now: dt.datetime) -> dict[str, Any]:
    """The payload of a genuine, unexpired API token (not yet checked against the database)."""
    return open_token(token, secret=secret, purpose="admin", now=now)


def actor_from_token(db: Session, token: str, *, secret: str, now: dt.datetime) -> Actor:
    """The actor behind an administration token, re-checked against the database."""
    payload = open_admin_token(token, secret=secret, now=now)
    employee = live_office_employee(db, payload, now=now)
    if employee is None:
        raise invalid_token()
    return actor_of(db, employee)


def sign_out_token(db: Session, token: str, *, secret: str, now: dt.datetime) -> None:
    """End the session behind an API token (401 unless the token is live)."""
    actor_from_token(db, token, secret=secret, now=now)
    payload = open_admin_token(token, secret=secret, now=now)
    end_session(db, session_id=str(payload["sid"]), now=now)


# --- the administration UI's second step -------------------------------------------------------


def new_totp_setup(*, secret: str) -> bytes:
    """A fresh TOTP secret for a first sign-in, sealed so it can ride in the pending cookie."""
    return seal(pyotp.random_base32().encode(), secret=secret, purpose="totp-setup")


def open_totp_setup(sealed: bytes, *, secret: str) -> str:
    """The base32 TOTP secret inside a pending set-up."""
    return unseal(sealed, secret=secret, purpose="totp-setup").decode()


def totp_provisioning_uri(secret_b32: str, *, employee: m.Employee, municipality_code: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret_b32).provisioning_uri(
        name=f"{employee.employee_number}@{municipality_code}", issuer_name="CareKey"
    )


def finish_web_sign_in(
    db: Session,
    throttle: SignInThrottle,
    *,
    employee: m.Employee,
    code: str,
    setup: bytes | None,
    address: str,
    secret: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> str:
    """Step two in the administration UI: check the TOTP code (setting up the second factor on
    the first sign-in) and start a session; returns the session id (the caller logs it)."""
    verify_web_second_factor(
        db,
        throttle,
        employee=employee,
        code=code,
        setup=setup,
        address=address,
        secret=secret,
        now=now,
    )
    return start_session(db, employee=employee, kind="web", now=now, lifetime=lifetime)


def verify_web_second_factor(
    db: Session,
    throttle: SignInThrottle,
    *,
    employee: m.Employee,
    code: str,
    setup: bytes | None,
    address: str,
    secret: str,
    now: dt.datetime,
) -> None:
    """Check the TOTP code of step two (and keep the new secret on the first sign-in), without
    starting a session: the caller starts one (``start_session``) when nothing else is due,
    such as replacing a one-time password (``carekey.accounts``)."""
    if setup is not None:
        secret_b32 = open_totp_setup(setup, secret=secret)
    else:
        stored = stored_totp_secret(employee, secret=secret)
        if stored is None:
            raise bad_credentials()
        secret_b32 = stored
    check_totp(
        db, throttle, employee=employee, secret_b32=secret_b32, code=code, address=address, now=now
    )
    if setup is not None:
        employee.totp_secret_sealed = seal(secret_b32.encode(), secret=secret, purpose="totp")


def enrol_totp(db: Session, *, employee: m.Employee, secret_b32: str, secret: str) -> None:
    """Set an employee's second factor to a known secret (the authenticator app of a simulated
    or scripted office employee: ``carekey sim day``, screenshots, tests)."""
    employee.totp_secret_sealed = seal(secret_b32.encode(), secret=secret, purpose="totp")


def next_totp_code(secret_b32: str, now: dt.datetime, last_step: int | None) -> tuple[str, int]:
    """The code a person would type now: this step's, or the next one's when this step's code
    was used already (a code works once; one step of drift is allowed). Returns code and step."""
    step = int(now.timestamp()) // TOTP_STEP_S
    if last_step is not None and last_step >= step:
        step = last_step + 1
    return pyotp.TOTP(secret_b32).at(step * TOTP_STEP_S), step
