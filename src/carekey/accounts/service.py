"""Accounts (issue 18, docs/accounts.md): passwords and authenticators of a real municipality.

- An administrator (``Action.MANAGE_ACCOUNTS``; a district lead for the non-administrators of
  their own districts) gives an employee a **one-time password** (made by the server, shown
  once, to be replaced at the next sign-in) or a **set-password link** (a random token, only its
  SHA-256 stored, single use, expiring after ``LINK_LIFETIME``; a new link voids the older
  unused ones), and **resets a lost authenticator** of someone else (with a reason): the next
  sign-in sets up a new one.
- Everyone chooses their own password by ``PASSWORD_POLICY``: at the first sign-in after a
  one-time password (the administration or the key app), through a link, or on their own
  account page.

Every change is written to the log of administrative actions (codes ``accounts.*``); no
password or token is ever logged. A password change ends the employee's other office sessions
(web and API). The key app's session is left alone: ending it would wipe the phone as if the
employee were blocked. Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.accounts import queries as sql
from carekey.audit.actions import record_admin_action
from carekey.auth.passwords import hash_password, verify_password
from carekey.auth.service import actor_of
from carekey.domain.enums import EmployeeStatus
from carekey.domain.errors import DomainError, ForbiddenError, NotFoundError
from carekey.domain.text import reason_text
from carekey.store import models as m

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 256
LINK_LIFETIME: Final = dt.timedelta(hours=72)
LINK_PATH: Final = "/set-password/"
# A one-time password: 16 characters of an alphabet without look-alikes (no 0/O, 1/l/I), in
# groups of four, read aloud or typed from a note: about 80 bits.
_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUPS: Final = 4


class PasswordPolicyError(DomainError):
    """A new password the policy refuses (400, with the reason)."""


class LinkUnusableError(DomainError):
    """A set-password link that is unknown, expired or already used (410 on the page)."""


@dataclass(frozen=True)
class OneTimePassword:
    """A one-time password just set: shown to the administrator once, never stored plain."""

    employee: m.Employee
    password: str


@dataclass(frozen=True)
class NewLink:
    """A set-password link just made: the token is shown once (as ``path``), only its hash kept."""

    employee: m.Employee
    token: str
    expires_at: dt.datetime

    @property
    def path(self) -> str:
        """The page's path, ``/set-password/<token>``, for the administrator to send."""
        return LINK_PATH + self.token


@dataclass(frozen=True)
class LinkTarget:
    """Whose password a usable link sets."""

    employee: m.Employee
    expires_at: dt.datetime


# --- the policy --------------------------------------------------------------------------------


def check_new_password(employee: m.Employee, password: str, repeated: str | None = None) -> None:
    """Refuse a password that breaks the policy: at least ``MIN_LENGTH`` characters, at most
    ``MAX_LENGTH``, typed the same twice (when asked twice), not the employee number, and not
    the password the employee has now."""
    if repeated is not None and password != repeated:
        raise PasswordPolicyError(
            "accounts.passwords_differ",
            "De to adgangskoder er ikke ens; skriv den samme adgangskode to gange",
            "The two passwords differ; type the same password twice",
        )
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(
            "accounts.password_too_short",
            f"Adgangskoden skal have mindst {MIN_LENGTH} tegn; vælg en længere",
            f"The password must have at least {MIN_LENGTH} characters; choose a longer one",
        )
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(
            "accounts.password_too_long",
            f"Adgangskoden må højst have {MAX_LENGTH} tegn",
            f"The password may have at most {MAX_LENGTH} characters",
        )
    number = employee.employee_number.strip().lower()
    if number and number in password.strip().lower():
        raise PasswordPolicyError(
            "accounts.password_is_number",
            "Adgangskoden må ikke indeholde dit medarbejdernummer; vælg en anden",
            "The password must not contain your employee number; choose another",
        )
    if employee.password_hash is not None and verify_password(employee.password_hash, password):
        raise PasswordPolicyError(
            "accounts.password_unchanged",
            "Vælg en ny adgangskode, ikke den du har nu",
            "Choose a new password, not the one you have now",
        )


def _store(employee: m.Employee, password: str, *, must_change: bool, now: dt.datetime) -> None:
    employee.password_hash = hash_password(password)
    employee.password_must_change = must_change
    employee.password_changed_at = now


def _target(db: Session, actor: Actor, employee_id: int) -> m.Employee:
    """The employee the actor may manage the account of; never oneself (use the own page)."""
    employee = get_in_scope(db, reach(actor, Action.MANAGE_ACCOUNTS), m.Employee, employee_id)
    if employee.id == actor.employee_id:
        raise ForbiddenError(
            "accounts.not_yourself",
            "Det kan du ikke gøre for dig selv; skift din egen adgangskode under Min konto",
            "You cannot do this for yourself; change your own password under My account",
        )
    return employee


# --- what an administrator does ----------------------------------------------------------------


def check_manageable(db: Session, *, actor: Actor, employee_id: int) -> m.Employee:
    """The employee whose account the actor may manage (404/403 otherwise; never oneself)."""
    return _target(db, actor, employee_id)


def new_one_time_password() -> str:
    """A fresh, random one-time password in groups of four (``abcd-efgh-jkmn-pqrs``)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(4 * _GROUPS))
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def set_one_time_password(
    db: Session, *, actor: Actor, employee_id: int, now: dt.datetime, reason: str | None = None
) -> OneTimePassword:
    """Give the employee a one-time password made here; they must replace it at the next sign-in
    (the administration or the key app). Their office sessions end."""
    employee = _target(db, actor, employee_id)
    password = new_one_time_password()
    _store(employee, password, must_change=True, now=now)
    ended = sql.end_office_sessions(db, employee.id, now)
    record_admin_action(
        db,
        actor=actor,
        municipality_id=employee.municipality_id,
        action="accounts.one_time_password",
        target_type="employee",
        target_id=employee.id,
        reason=reason_text(reason),
        now=now,
        details={"sessions_ended": ended},
    )
    return OneTimePassword(employee, password)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_password_link(
    db: Session, *, actor: Actor, employee_id: int, now: dt.datetime, reason: str | None = None
) -> NewLink:
    """A single-use link with which the employee chooses a password within ``LINK_LIFETIME``;
    the employee's older unused links stop working."""
    employee = _target(db, actor, employee_id)
    voided = sql.void_unused_links(db, employee.id, now)
    token = secrets.token_urlsafe(32)
    expires = now + LINK_LIFETIME
    db.add(
        m.PasswordLink(
            municipality_id=employee.municipality_id,
            employee_id=employee.id,
            token_hash=_token_hash(token),
            created_by_id=actor.employee_id,
            created_at=now,
            expires_at=expires,
        )
    )
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=employee.municipality_id,
        action="accounts.password_link",
        target_type="employee",
        target_id=employee.id,
        reason=reason_text(reason),
        now=now,
        details={"expires_at": expires.isoformat(), "older_links_voided": voided},
    )
    return NewLink(employee, token, expires)


def reset_authenticator(
    db: Session, *, actor: Actor, employee_id: int, reason: str, now: dt.datetime
) -> m.Employee:
    """Forget someone else's lost authenticator (TOTP): their sessions end, and their next
    sign-in sets up a new one after the password. A reason is required."""
    why = reason_text(reason)
    if why is None:
        raise DomainError(
            "accounts.reason_required",
            "Skriv en begrundelse; den står i loggen",
            "Give a reason; it is written to the log",
        )
    employee = _target(db, actor, employee_id)
    had = employee.totp_secret_sealed is not None
    employee.totp_secret_sealed = None
    employee.totp_last_step = None
    ended = sql.end_office_sessions(db, employee.id, now)
    record_admin_action(
        db,
        actor=actor,
        municipality_id=employee.municipality_id,
        action="accounts.totp_reset",
        target_type="employee",
        target_id=employee.id,
        reason=why,
        now=now,
        details={"had_authenticator": had, "sessions_ended": ended},
    )
    return employee


# --- what the employee does --------------------------------------------------------------------


def _link_unusable() -> LinkUnusableError:
    return LinkUnusableError(
        "accounts.link_unusable",
        "Linket virker ikke: det er udløbet, allerede brugt eller erstattet af et nyere. "
        "Bed din administrator om et nyt link.",
        "The link does not work: it has expired, has been used or was replaced by a newer one. "
        "Ask your administrator for a new link.",
    )


def link_target(db: Session, *, token: str, now: dt.datetime) -> LinkTarget:
    """Whose password a set-password link sets, if it can still be used (else
    ``LinkUnusableError``: unknown, expired, used or replaced, all alike)."""
    if not token or len(token) > 128:
        raise _link_unusable()
    link = sql.link_by_hash(db, _token_hash(token))
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise _link_unusable()
    employee = db.get(m.Employee, link.employee_id)
    if employee is None or employee.status is not EmployeeStatus.ACTIVE:
        raise _link_unusable()
    return LinkTarget(employee, link.expires_at)


def use_password_link(
    db: Session, *, token: str, password: str, repeated: str, now: dt.datetime
) -> m.Employee:
    """Choose a password with a set-password link: the link is spent, the password set (no
    change required), every office session of the employee ended."""
    target = link_target(db, token=token, now=now)
    employee = target.employee
    check_new_password(employee, password, repeated)
    link = sql.link_by_hash(db, _token_hash(token))
    if link is None or not sql.claim_link(db, link.id, now):
        raise _link_unusable()
    _store(employee, password, must_change=False, now=now)
    ended = sql.end_office_sessions(db, employee.id, now)
    record_admin_action(
        db,
        actor=actor_of(db, employee),
        municipality_id=employee.municipality_id,
        action="accounts.password_link_used",
        target_type="employee",
        target_id=employee.id,
        now=now,
        details={"sessions_ended": ended},
    )
    return employee


def replace_required_password(
    db: Session,
    *,
    employee: m.Employee,
    password: str,
    repeated: str | None,
    now: dt.datetime,
    via: str,
    keep_session: str | None = None,
) -> None:
    """The employee replaces a one-time password at sign-in (``via`` "web" or "app"): the
    employee has just proven the password they have; the new one must follow the policy."""
    check_new_password(employee, password, repeated)
    _store(employee, password, must_change=False, now=now)
    ended = sql.end_office_sessions(db, employee.id, now, keep=keep_session)
    record_admin_action(
        db,
        actor=actor_of(db, employee),
        municipality_id=employee.municipality_id,
        action="accounts.password_changed",
        target_type="employee",
        target_id=employee.id,
        now=now,
        details={"via": via, "required": True, "sessions_ended": ended},
    )


def change_own_password(
    db: Session,
    *,
    actor: Actor,
    current: str,
    password: str,
    repeated: str,
    now: dt.datetime,
    keep_session: str | None,
) -> m.Employee:
    """A signed-in office user changes their own password (the current one first); their
    other office sessions end, ``keep_session`` (the one asking) stays."""
    employee = db.get(m.Employee, actor.employee_id)
    if employee is None or employee.municipality_id != actor.municipality_id:
        raise NotFoundError(
            "employee.not_found", "Medarbejderen findes ikke", "The employee does not exist"
        )
    if not verify_password(employee.password_hash, current):
        raise PasswordPolicyError(
            "accounts.wrong_current_password",
            "Den nuværende adgangskode er forkert",
            "The current password is wrong",
        )
    check_new_password(employee, password, repeated)
    _store(employee, password, must_change=False, now=now)
    ended = sql.end_office_sessions(db, employee.id, now, keep=keep_session)
    record_admin_action(
        db,
        actor=actor,
        municipality_id=employee.municipality_id,
        action="accounts.password_changed",
        target_type="employee",
        target_id=employee.id,
        now=now,
        details={"via": "web", "required": False, "sessions_ended": ended},
    )
    return employee
