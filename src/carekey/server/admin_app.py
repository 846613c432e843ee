"""Mounting the administration UI on the FastAPI application, and signing in and out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote

import segno
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carekey.access import Action, allowed
from carekey.adminui import i18n
from carekey.adminui.deps import (
    CsrfDep,
    CsrfFailedError,
    RoleRequiredError,
    SignInRequiredError,
    WebUserDep,
    render,
)
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import (
    ABSOLUTE_LIFETIME,
    LANGUAGE_COOKIE,
    PRE_SESSION_COOKIE,
    clear_session_cookie,
    cookie_secure,
    new_binding,
    read_session,
    set_session_cookie,
)
from carekey.auth import service as signin
from carekey.auth.api import client_address
from carekey.auth.tokens import open_token, sign_token
from carekey.domain.errors import TooManyAttemptsError, UnauthorizedError
from carekey.http.deps import NowDep, SecretDep, SessionDep
from carekey.store import models as m

STATIC_DIR = Path(__file__).parents[1] / "adminui" / "static"
PENDING_COOKIE = "carekey_pending"
PENDING_LIFETIME = dt.timedelta(minutes=5)
router = APIRouter(include_in_schema=False)


def mount_web(app: FastAPI) -> None:
    """Serve the administration UI from the same application as the API."""
    from carekey.audit import pages as audit_pages
    from carekey.citizens import pages as citizens
    from carekey.dashboard import pages as dashboard_pages
    from carekey.districts import pages as districts
    from carekey.doors import pages as door_pages
    from carekey.emergency_keys import pages as emergency_keys
    from carekey.phones import pages as phones
    from carekey.staff import pages as staff

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(router)
    for part in (dashboard_pages, door_pages, audit_pages, staff, phones, districts, citizens):
        app.include_router(part.router)
    app.include_router(emergency_keys.router)

    app.add_middleware(LanguageAndSession)

    @app.exception_handler(SignInRequiredError)
    async def sign_in_required(request: Request, _exc: SignInRequiredError) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request"):
            return Response(
                status_code=401, headers={"HX-Redirect": f"/login?next={quote(target)}"}
            )
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(RoleRequiredError)
    async def role_required(request: Request, _exc: RoleRequiredError) -> Response:
        return render(
            request,
            "error.html",
            {
                "title": _("Ingen adgang"),
                "message": _("Din rolle giver ikke adgang til denne side."),
            },
            status_code=403,
        )

    @app.exception_handler(CsrfFailedError)
    async def csrf_failed(request: Request, _exc: CsrfFailedError) -> Response:
        return render(
            request,
            "error.html",
            {
                "title": _("Forespørgslen blev afvist"),
                "message": _(
                    "Siden var for gammel, eller formularen kom fra et andet websted. "
                    "Genindlæs siden og prøv igen."
                ),
            },
            status_code=403,
        )


_SECURITY_HEADERS: Final = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)
_HSTS: Final = "max-age=31536000; includeSubDomains"
_PAGE_HEADERS: Final = (
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'",
    ),
    ("Cache-Control", "no-store"),
)


class LanguageAndSession:
    """Every request: the language cookie, the refresh of a web sign-in session a page asked for
    (``request.state.refresh_session``), security headers, and on pages the CSP and no-store.

    A pure ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs the rest of the application in a separate task and streams the
    response through memory channels, a fixed cost on every API call (key bundles included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        page = not path.startswith(("/api/", "/static/"))
        api = path.startswith("/api/")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                refresh = getattr(request.state, "refresh_session", None)
                if refresh is not None and "set-cookie" not in headers:
                    for cookie in _refreshed_session_cookies(request, refresh):
                        headers.append("set-cookie", cookie)
                for name, value in _SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if page:
                    for name, value in _PAGE_HEADERS:
                        headers.setdefault(name, value)
                elif api:
                    # API answers carry names, addresses and keys: no cache may keep them.
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", _HSTS)
            await send(message)

        language = request.cookies.get(LANGUAGE_COOKIE, i18n.DEFAULT_LANGUAGE)
        token = i18n.use_language(language)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            i18n.reset_language(token)


def _refreshed_session_cookies(request: Request, refresh: Any) -> list[str]:
    """The ``set-cookie`` values that renew the signed-in user's web session."""
    user, payload = refresh
    now = request.app.state.clock.now()
    carrier = Response()
    with request.app.state.sessions() as db:
        employee = db.get(m.Employee, user.actor.employee_id)
        if employee is None:
            return []
        set_session_cookie(
            carrier,
            request,
            employee=employee,
            session_id=user.session_id,
            signed_in_at=dt.datetime.fromtimestamp(payload["iat"], dt.UTC),
            now=now,
            secret=request.app.state.settings.secret_key.get_secret_value(),
        )
    return [value.decode("latin-1") for name, value in carrier.raw_headers if name == b"set-cookie"]


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


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
    return _login_page(request, next_url=_safe_next(next))


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
            error=_("For mange forkerte forsøg. Prøv igen om {seconds} sekunder.").format(
                seconds=exc.retry_after_s
            ),
            next_url=_safe_next(next),
            status_code=429,
            values=values,
        )
    except UnauthorizedError:
        return _login_page(
            request,
            error=_("Forkert kommune, medarbejdernummer eller adgangskode."),
            next_url=_safe_next(next),
            status_code=401,
            values=values,
        )
    pending: dict[str, object] = {
        "emp": employee.id,
        "next": _safe_next(next),
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
        session_id = signin.finish_web_sign_in(
            db,
            request.app.state.sign_in_throttle,
            employee=employee,
            code=code,
            setup=setup,
            address=client_address(request),
            secret=secret,
            now=now,
            lifetime=ABSOLUTE_LIFETIME,
        )
    except TooManyAttemptsError:
        return RedirectResponse("/login", status_code=303)
    except UnauthorizedError:
        context = _totp_context(pending, secret, db)
        context["error"] = _("Koden er forkert, udløbet eller allerede brugt. Prøv den næste kode.")
        return render(request, "auth/totp.html", context, status_code=401)
    response = RedirectResponse(str(pending.get("next") or "/"), status_code=303)
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


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str | None = None) -> Response:
    """Skift sprog / switch language (Danish, English)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            samesite="lax",
            secure=cookie_secure(request),
            path="/",
            max_age=365 * 24 * 3600,
        )
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: WebUserDep) -> Response:
    """The start page: the dashboard for those who may read it, else the audit log."""
    if allowed(user.actor, Action.READ_DASHBOARD):
        return RedirectResponse("/dashboard", status_code=303)
    return RedirectResponse("/audit", status_code=303)


def municipality_name(db: SessionDep, municipality_id: int) -> str:
    """For the page header."""
    return db.execute(
        select(m.Municipality.name).where(m.Municipality.id == municipality_id)
    ).scalar_one()
