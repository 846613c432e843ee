"""Sessions, CSRF and sign-in throttling for the administration UI.

- **Session**: a signed, HttpOnly, SameSite=Lax cookie (``services.auth.sign_token``, purpose
  ``web``) carrying the employee, a random session id, the employee's session epoch and the time
  of the last request. Every request re-reads the employee from the database (a block, a role
  change or an unblock ends the session at once) and refreshes the cookie. 20 minutes without a
  request ends it (idle timeout); 10 hours after sign-in it ends regardless.
- **CSRF**: every state-changing request must carry ``csrf_token`` (form field) or
  ``X-CSRF-Token`` (htmx header) equal to HMAC(session id); before sign-in the token is bound to
  a random pre-session cookie instead. A cross-site ``Origin`` is refused as well.
- **Throttling**: at most 5 failed sign-ins per account and 30 per client address in 15 minutes
  (in memory, per process; behind several instances, put it in front, e.g. at the proxy).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.domain.enums import EmployeeStatus, Role
from carekey.services.auth import Actor, open_token, sign_token
from carekey.services.errors import UnauthorizedError
from carekey.store import models as m

SESSION_COOKIE = "carekey_session"
PRE_SESSION_COOKIE = "carekey_presession"
LANGUAGE_COOKIE = "carekey_lang"
IDLE_TIMEOUT = dt.timedelta(minutes=20)
ABSOLUTE_LIFETIME = dt.timedelta(hours=10)
OFFICE_ROLES = frozenset({Role.ADMINISTRATOR, Role.DISTRICT_LEAD, Role.AUDITOR})


@dataclass(frozen=True)
class WebUser:
    """The signed-in office employee behind a request."""

    actor: Actor
    session_id: str
    name: str
    employee_number: str
    district_ids: frozenset[int]

    @property
    def roles(self) -> frozenset[Role]:
        return self.actor.roles

    def has(self, *roles: Role) -> bool:
        """Whether the user holds one of ``roles``."""
        return bool(self.actor.roles.intersection(roles))


def _secure(request: Request) -> bool:
    settings = request.app.state.settings
    return request.url.scheme == "https" or settings.environment.value == "production"


def set_session_cookie(
    response: Response,
    request: Request,
    *,
    employee: m.Employee,
    session_id: str,
    signed_in_at: dt.datetime,
    now: dt.datetime,
    secret: str,
) -> None:
    """Write (or refresh) the session cookie."""
    token = sign_token(
        {
            "emp": employee.id,
            "mun": employee.municipality_id,
            "ep": employee.session_epoch,
            "sid": session_id,
            "iat": int(signed_in_at.timestamp()),
            "seen": int(now.timestamp()),
            "exp": int(min(now + IDLE_TIMEOUT, signed_in_at + ABSOLUTE_LIFETIME).timestamp()),
        },
        secret=secret,
        purpose="web",
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    """Sign out: the browser forgets the session."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def read_session(
    request: Request, db: Session, *, secret: str, now: dt.datetime
) -> tuple[WebUser, dict[str, Any]] | None:
    """The signed-in user, re-checked against the database, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        payload = open_token(token, secret=secret, purpose="web", now=now)
    except UnauthorizedError:
        return None
    employee = db.get(m.Employee, int(payload["emp"]))
    if (
        employee is None
        or employee.municipality_id != payload["mun"]
        or employee.session_epoch != payload["ep"]
        or employee.status is not EmployeeStatus.ACTIVE
    ):
        return None
    roles = frozenset(r.role for r in employee.roles)
    if not roles & OFFICE_ROLES:
        return None
    districts = frozenset(
        db.execute(
            select(m.EmployeeDistrict.district_id).where(
                m.EmployeeDistrict.employee_id == employee.id
            )
        ).scalars()
    )
    user = WebUser(
        actor=Actor(
            employee_id=employee.id,
            municipality_id=employee.municipality_id,
            roles=roles,
            label=f"{employee.full_name} ({employee.employee_number})",
        ),
        session_id=str(payload["sid"]),
        name=employee.full_name,
        employee_number=employee.employee_number,
        district_ids=districts,
    )
    return user, payload


def new_session_id() -> str:
    """A fresh random session id."""
    return secrets.token_hex(16)


def csrf_token(secret: str, binding: str) -> str:
    """The CSRF token for a session (or pre-session) id."""
    return hmac.new(
        hashlib.sha256(b"carekey-csrf\x00" + secret.encode()).digest(),
        binding.encode(),
        hashlib.sha256,
    ).hexdigest()


def csrf_ok(secret: str, binding: str, presented: str | None) -> bool:
    """Whether the presented token belongs to this session."""
    return bool(presented) and hmac.compare_digest(csrf_token(secret, binding), presented or "")


def same_origin(request: Request) -> bool:
    """Refuse cross-site form posts even when a browser would send the cookie."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


class SignInThrottle:
    """Failed sign-ins per account and per client address, in a sliding window."""

    def __init__(
        self,
        *,
        per_account: int = 5,
        per_address: int = 30,
        window: dt.timedelta = dt.timedelta(minutes=15),
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window = window
        self._failures: dict[str, deque[dt.datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: dt.datetime) -> deque[dt.datetime]:
        failures = self._failures[key]
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def retry_after(self, *, account: str, address: str, now: dt.datetime) -> dt.timedelta | None:
        """How long until another attempt is allowed, or None if it is allowed now."""
        with self._lock:
            waits = []
            for key, limit in (
                (f"a:{account}", self.per_account),
                (f"i:{address}", self.per_address),
            ):
                failures = self._recent(key, now)
                if len(failures) >= limit:
                    waits.append(failures[0] + self.window - now)
            return max(waits) if waits else None

    def failed(self, *, account: str, address: str, now: dt.datetime) -> None:
        """Count a failed attempt."""
        with self._lock:
            self._recent(f"a:{account}", now).append(now)
            self._recent(f"i:{address}", now).append(now)

    def succeeded(self, *, account: str) -> None:
        """A right password and code clear the account's failures."""
        with self._lock:
            self._failures.pop(f"a:{account}", None)
