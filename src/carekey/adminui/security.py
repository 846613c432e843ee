"""Sessions and CSRF for the administration UI.

- **Session**: a signed, HttpOnly, SameSite=Lax cookie (``carekey.auth.tokens.sign_token``,
  purpose ``web``) carrying the employee, the id of a server-side session
  (``OfficeSession``), the employee's session epoch and the time of the last request. Every
  request re-reads the employee and the session row (a block, a role change or a sign-out ends
  the session at once, and a copied cookie stops working) and refreshes the cookie. 20 minutes
  without a request ends it (idle timeout); 10 hours after sign-in it ends regardless.
- **CSRF**: every state-changing request must carry ``csrf_token`` (form field) or
  ``X-CSRF-Token`` (htmx header) equal to HMAC(session id); before sign-in the token is bound to
  a random pre-session cookie instead. A cross-site ``Origin`` is refused as well.
- **Throttling**: ``carekey.auth.throttle`` (backoff per account and address), shared with the
  API's sign-in.
- Every cookie is ``Secure`` when the request came over HTTPS (directly or, with
  ``--proxy-headers``, through a proxy) and always in production.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_of, live_office_employee
from carekey.auth.tokens import open_token, sign_token
from carekey.domain.enums import Role
from carekey.domain.errors import UnauthorizedError
from carekey.store import models as m

SESSION_COOKIE = "carekey_session"
PRE_SESSION_COOKIE = "carekey_presession"
LANGUAGE_COOKIE = "carekey_lang"
IDLE_TIMEOUT = dt.timedelta(minutes=20)
ABSOLUTE_LIFETIME = dt.timedelta(hours=10)


def content_security_policy(*, styles: tuple[str, ...] = (), workers: str | None = None) -> str:
    """The pages' Content-Security-Policy: scripts, styles and everything else only from the
    server itself, images also as ``data:``, no framing, forms only to the server. One page
    may add sources of styles (a nonce, a hash) and of workers (``/redoc``: server.apidocs);
    scripts never get more than ``'self'``."""
    directives = [
        "default-src 'self'",
        "img-src 'self' data:",
        " ".join(("style-src", "'self'", *styles)),
        "script-src 'self'",
        *([f"worker-src {workers}"] if workers else []),
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
    return "; ".join(directives)


PAGE_CSP = content_security_policy()


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


def cookie_secure(request: Request) -> bool:
    """Whether cookies must be ``Secure``: over HTTPS, and always in production."""
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
        secure=cookie_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    """Sign out: the browser forgets the session."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def read_session(
    request: Request, db: Session, *, secret: str, now: dt.datetime
) -> tuple[WebUser, dict[str, Any]] | None:
    """The signed-in user, re-checked against the database (employee and session row), or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        payload = open_token(token, secret=secret, purpose="web", now=now)
    except UnauthorizedError:
        return None
    employee = live_office_employee(db, payload, now=now)
    if employee is None:
        return None
    actor = actor_of(db, employee)
    user = WebUser(
        actor=actor,
        session_id=str(payload["sid"]),
        name=employee.full_name,
        employee_number=employee.employee_number,
        district_ids=actor.district_ids,
    )
    return user, payload


def new_binding() -> str:
    """A fresh random pre-session id (binds the sign-in form's CSRF token)."""
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


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
