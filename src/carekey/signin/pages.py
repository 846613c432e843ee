"""Signing in and out of the administration UI: password, then the TOTP code (set up on the
first sign-in), then a server-side session; the use cases are ``carekey.auth.service``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carekey.accounts import service as accounts
from carekey.adminui import i18n
from carekey.adminui.deps import CsrfDep, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import (
    ABSOLUTE_LIFETIME,
    PRE_SESSION_COOKIE,
    clear_session_cookie,
    cookie_secure,
    new_binding,
    read_session,
    safe_next,
    set_session_cookie,
)
from carekey.audit.actions import record_admin_action
from carekey.auth import service as signin
from carekey.auth.tokens import open_token, sign_token
from carekey.domain.enums import EmployeeStatus
from carekey.domain.errors import DomainError, TooManyAttemptsError, UnauthorizedError
from carekey.http.deps import NowDep, SecretDep, SessionDep, client_address
from carekey.store import models as m

PENDING_COOKIE = "carekey_pending"
PENDING_LIFETIME = dt.timedelta(minutes=5)
# After password and TOTP, when the password is a one-time password: only the page that
# replaces it accepts this cookie; no session exists until it is done.
CHANGE_COOKIE = "carekey_pw_change"
CHANGE_PURPOSE = "web-pw-change"
CHANGE_LIFETIME = dt.timedelta(minutes=10)
router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    next_url: str = "/",
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    response = render(
        request,
        "auth/login.html",
        {"error": error, "next": next_url, "values": values or {}},
        status_code=status_code,
    )
    if PRE_SESSION_COOKIE not in request.cookies:
        # Bind the sign-in form's CSRF token to a random pre-session id.
        binding = new_binding()
        request.cookies[PRE_SESSION_COOKIE] = binding
        response = render(
            request,
            "auth/login.html",
            {"error": error, "next": next_url, "values": values or {}},
            status_code=status_code,
        )
        response.set_cookie(
            PRE_SESSION_COOKIE,
            binding,
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
            path="/",
        )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    """Log ind / sign in."""
    return _login_page(request, next_url=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: SessionDep,
    secret: SecretDep,
    now: NowDep,
    _csrf: CsrfDep,
    municipality: Annotated[str, Form(max_length=8)],
    employee_number: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    """Step 1: municipality, employee number and password."""
    values = {"municipality": municipality, "employee_number": employee_number}
    try:
        employee = signin.check_office_password(
            db,
            request.app.state.sign_in_throttle,
            municipality_code=municipality,
            employee_number=employee_number,
            password=password,
            address=client_address(request),
            now=now,
        )
    except TooManyAttemptsError as exc:
        return _login_page(
            request,
            error=i18n.ngettext(
                "For mange forkerte forsøg. Prøv igen om %(num)s sekund.",
                "For mange forkerte forsøg. Prøv igen om %(num)s sekunder.",
                exc.retry_after_s,
            )
            % {"num": exc.retry_after_s},
            next_url=safe_next(next),
            status_code=429,
            values=values,
        )
    except UnauthorizedError:
        return _login_page(
            request,
            error=_("Forkert kommune, medarbejdernummer eller adgangskode."),
            next_url=safe_next(next),
            status_code=401,
            values=values,
        )
    pending: dict[str, object] = {
        "emp": employee.id,
        "next": safe_next(next),
        "exp": int((now + PENDING_LIFETIME).timestamp()),
    }
    if employee.totp_secret_sealed is None:
        # First sign-in: set up the second factor before anything else.
        pending["new"] = signin.new_totp_setup(secret=secret).hex()
    response = RedirectResponse("/login/totp", status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        sign_token(pending, secret=secret, purpose="web-pending"),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/login",
        max_age=int(PENDING_LIFETIME.total_seconds()),
    )
    return response


def _pending(request: Request, secret: str, now: dt.datetime) -> dict[str, object] | None:
    token = request.cookies.get(PENDING_COOKIE)
    if not token:
        return None
    try:
        return open_token(token, secret=secret, purpose="web-pending", now=now)
    except UnauthorizedError:
        return None


def _totp_context(pending: dict[str, object], secret: str, db: SessionDep) -> dict[str, object]:
    employee = db.get(m.Employee, int(str(pending["emp"])))
    assert employee is not None
    municipality = db.get(m.Municipality, employee.municipality_id)
    context: dict[str, object] = {"name": employee.full_name, "setup": "new" in pending}
    if "new" in pending:
        secret_b32 = signin.open_totp_setup(bytes.fromhex(str(pending["new"])), secret=secret)
        uri = signin.totp_provisioning_uri(
            secret_b32,
            employee=employee,
            municipality_code=municipality.code if municipality else "",
        )
        context["totp_secret"] = secret_b32
        context["totp_qr"] = segno.make(uri, error="m").svg_data_uri(scale=4)
    return context


@router.get("/login/totp", response_class=HTMLResponse)
def totp_form(request: Request, db: SessionDep, secret: SecretDep, now: NowDep) -> Response:
    """Step 2: the code from the authenticator app (set it up on the first sign-in)."""
    pending = _pending(request, secret, now)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "auth/totp.html", _totp_context(pending, secret, db))


@router.post("/login/totp", response_class=HTMLResponse)
def totp_submit(
    request: Request,
    db: SessionDep,
    secret: SecretDep,
    now: NowDep,
    _csrf: CsrfDep,
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    """Check the code; on success the session starts."""
    pending = _pending(request, secret, now)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    employee = db.get(m.Employee, int(str(pending["emp"])))
    assert employee is not None
    setup = bytes.fromhex(str(pending["new"])) if "new" in pending else None
    try:
        signin.verify_web_second_factor(
            db,
            request.app.state.sign_in_throttle,
            employee=employee,
            code=code,
            setup=setup,
            address=client_address(request),
            secret=secret,
            now=now,
        )
    except TooManyAttemptsError:
        return RedirectResponse("/login", status_code=303)
    except UnauthorizedError:
        context = _totp_context(pending, secret, db)
        context["error"] = _("Koden er forkert, udløbet eller allerede brugt. Prøv den næste kode.")
        return render(request, "auth/totp.html", context, status_code=401)
    if setup is not None:
        record_admin_action(
            db,
            actor=signin.actor_of(db, employee),
            municipality_id=employee.municipality_id,
            action="auth.totp_enrolled",
            target_type="employee",
            target_id=employee.id,
            now=now,
        )
    next_url = str(pending.get("next") or "/")
    if employee.password_must_change:
        # A one-time password: a new one first, before any session exists (docs/accounts.md).
        response = RedirectResponse("/login/new-password", status_code=303)
        response.delete_cookie(PENDING_COOKIE, path="/login")
        response.set_cookie(
            CHANGE_COOKIE,
            sign_token(
                {
                    "emp": employee.id,
                    "next": next_url,
                    "exp": int((now + CHANGE_LIFETIME).timestamp()),
                },
                secret=secret,
                purpose=CHANGE_PURPOSE,
            ),
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
            path="/login/new-password",
            max_age=int(CHANGE_LIFETIME.total_seconds()),
        )
        return response
    return start_web_session(
        request,
        db,
        employee=employee,
        next_url=next_url,
        secret=secret,
        now=now,
        log_sign_in=setup is None,
    )


def start_web_session(
    request: Request,
    db: SessionDep,
    *,
    employee: m.Employee,
    next_url: str,
    secret: str,
    now: dt.datetime,
    log_sign_in: bool = True,
) -> Response:
    """Start an administration session for an employee whose identity is verified (password
    and TOTP here; the municipality's single sign-on would call this too, docs/accounts.md):
    the session row, the log line and the cookie, then on to ``next_url``."""
    session_id = signin.start_session(
        db, employee=employee, kind="web", now=now, lifetime=ABSOLUTE_LIFETIME
    )
    if log_sign_in:  # (a first sign-in is logged as the authenticator's set-up instead)
        record_admin_action(
            db,
            actor=signin.actor_of(db, employee),
            municipality_id=employee.municipality_id,
            action="auth.signed_in",
            target_type="employee",
            target_id=employee.id,
            now=now,
        )
    response = RedirectResponse(safe_next(next_url), status_code=303)
    set_session_cookie(
        response,
        request,
        employee=employee,
        session_id=session_id,
        signed_in_at=now,
        now=now,
        secret=secret,
    )
    response.delete_cookie(PENDING_COOKIE, path="/login")
    return response


# --- a one-time password is replaced before anything else ---------------------------------------


def _new_password_pending(
    request: Request, db: SessionDep, secret: str, now: dt.datetime
) -> tuple[m.Employee, str] | None:
    """The employee (still required to change the password) and the next page, or None."""
    token = request.cookies.get(CHANGE_COOKIE)
    if not token:
        return None
    try:
        pending = open_token(token, secret=secret, purpose=CHANGE_PURPOSE, now=now)
        employee = db.get(m.Employee, int(str(pending["emp"])))
    except (UnauthorizedError, KeyError, ValueError):
        return None
    if employee is None or not employee.password_must_change:
        return None
    if employee.status is not EmployeeStatus.ACTIVE:
        return None
    return employee, str(pending.get("next") or "/")


def _new_password_page(
    request: Request, employee: m.Employee, *, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "accounts/new_password.html",
        {"name": employee.full_name, "error": error, "min_length": accounts.MIN_LENGTH},
        status_code=status_code,
    )


@router.get("/login/new-password", response_class=HTMLResponse)
def new_password_form(request: Request, db: SessionDep, secret: SecretDep, now: NowDep) -> Response:
    """Vælg en ny adgangskode (efter en engangsadgangskode) / choose a new password."""
    found = _new_password_pending(request, db, secret, now)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    return _new_password_page(request, found[0])


@router.post("/login/new-password", response_class=HTMLResponse)
def new_password_submit(
    request: Request,
    db: SessionDep,
    secret: SecretDep,
    now: NowDep,
    _csrf: CsrfDep,
    password: Annotated[str, Form(max_length=512)] = "",
    repeated: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    """Gem den nye adgangskode og log ind / save the new password and sign in."""
    found = _new_password_pending(request, db, secret, now)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    employee, next_url = found
    try:
        with db.begin_nested():
            accounts.replace_required_password(
                db, employee=employee, password=password, repeated=repeated, now=now, via="web"
            )
    except DomainError as exc:
        message = exc.message_en if i18n.current_language() == "en" else exc.message_da
        return _new_password_page(request, employee, error=message, status_code=400)
    response = start_web_session(
        request, db, employee=employee, next_url=next_url, secret=secret, now=now
    )
    response.delete_cookie(CHANGE_COOKIE, path="/login/new-password")
    return response


@router.post("/logout")
def logout(
    request: Request, db: SessionDep, secret: SecretDep, now: NowDep, _csrf: CsrfDep
) -> Response:
    """Log ud / sign out: the session ends on the server too, so a copied cookie stops working."""
    found = read_session(request, db, secret=secret, now=now)
    if found is not None:
        signin.end_session(db, session_id=found[0].session_id, now=now)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    request.state.refresh_session = None
    return response
