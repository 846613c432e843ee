"""The administration UI: a sub-application of its own, mounted on the server at ``/``.

It has its own middleware (language, the session cookie's refresh, the pages' CSP) and its own
error handlers, which render HTML pages; the API's handlers answer JSON. Both map a domain
error to the same status (``carekey.http.errors.status_of``). The parts of the domain bring
their pages (``<part>/pages.py``); this module only assembles them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import MutableHeaders, State
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carekey.access import Action, allowed
from carekey.adminui import i18n
from carekey.adminui.deps import (
    CsrfFailedError,
    RoleRequiredError,
    SignInRequiredError,
    WebUserDep,
    render,
)
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import (
    LANGUAGE_COOKIE,
    PAGE_CSP,
    cookie_secure,
    safe_next,
    set_session_cookie,
)
from carekey.domain.errors import DomainError
from carekey.http.errors import (
    RETRY_AFTER_S,
    UnexpectedErrors,
    database_unavailable,
    error_body,
    internal_error_response,
    status_of,
    unavailable_response,
)
from carekey.server import apidocs
from carekey.store import models as m

STATIC_DIR = Path(__file__).parents[1] / "adminui" / "static"
router = APIRouter(include_in_schema=False)


def create_admin_ui(state: State) -> FastAPI:
    """The administration UI as an application of its own, sharing the server's ``state``
    (engine, sessions, clock, settings, sign-in throttle)."""
    from carekey.accounts import pages as account_pages
    from carekey.associations import agreement_pages as association_agreements
    from carekey.associations import pages as association_pages
    from carekey.audit import pages as audit_pages
    from carekey.citizens import pages as citizens
    from carekey.consents import pages as consent_pages
    from carekey.dashboard import pages as dashboard_pages
    from carekey.dataaccess import pages as data_access_pages
    from carekey.districts import pages as districts
    from carekey.doors import pages as door_pages
    from carekey.emergency_keys import pages as emergency_keys
    from carekey.installer import pages as installer_pages
    from carekey.organisations import pages as organisations
    from carekey.partners import errand_pages as partner_errands
    from carekey.partners import log_pages as partner_log
    from carekey.partners import pages as partner_pages
    from carekey.phones import pages as phones
    from carekey.signin import pages as signin_pages
    from carekey.staff import pages as staff
    from carekey.webhooks import pages as webhook_pages
    from carekey.workorders import pages as work_order_pages

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state = state
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(signin_pages.router)
    app.include_router(router)
    app.include_router(apidocs.router)  # /docs, /redoc, /favicon.ico, offline (issue 18)
    for part in (dashboard_pages, door_pages, audit_pages, staff, phones, districts, citizens):
        app.include_router(part.router)
    app.include_router(emergency_keys.router)
    app.include_router(organisations.router)
    app.include_router(association_pages.router)
    app.include_router(association_agreements.router)
    app.include_router(partner_pages.router)
    app.include_router(partner_errands.router)
    app.include_router(partner_log.router)
    # The installation lifecycle (issue 16).
    for lifecycle in (consent_pages, work_order_pages, installer_pages):
        app.include_router(lifecycle.router)
    app.include_router(webhook_pages.router)  # signed webhooks (issue 17)
    app.include_router(account_pages.router)  # accounts (issue 18, docs/accounts.md)
    app.include_router(data_access_pages.router)  # right of access (issue 19)
    app.add_middleware(UnexpectedErrors, answer=_unexpected_answer)
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

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        """A refusal a page did not handle itself: the same status as the API would give."""
        message = exc.message_da if i18n.current_language() == "da" else exc.message_en
        return render(
            request,
            "error.html",
            {"title": _("Det lykkedes ikke"), "message": message},
            status_code=status_of(exc),
        )

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> Response:
        """A database that cannot serve: 503 with Retry-After (the page says to try again);
        any other database error: 500. Under ``/api/`` the API's JSON shape."""
        if request.url.path.startswith("/api/"):
            if database_unavailable(exc):
                return unavailable_response(exc, request)
            return internal_error_response()
        if database_unavailable(exc):
            unavailable_response(exc, request)  # logs it
            danish = i18n.current_language() == "da"
            page = render(
                request,
                "error.html",
                {
                    "title": _("Det lykkedes ikke"),
                    "message": UNAVAILABLE_DA if danish else UNAVAILABLE_EN,
                },
                status_code=503,
            )
            page.headers["Retry-After"] = str(RETRY_AFTER_S)
            return page
        return _unexpected_answer(request.scope, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """No such page; under ``/api/`` (an unknown API path) the API's JSON shape."""
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                error_body("request.not_found", "Adressen findes ikke", "No such address"),
                status_code=exc.status_code,
            )
        return render(
            request,
            "error.html",
            {"title": _("Siden findes ikke"), "message": _("Siden findes ikke.")},
            status_code=exc.status_code,
        )

    return app


UNAVAILABLE_DA: Final = "Serveren kan ikke nå sin database lige nu. Prøv igen om lidt."
UNAVAILABLE_EN: Final = "The server cannot reach its database right now. Try again shortly."


def _unexpected_answer(scope: Scope, exc: Exception) -> Response:
    """An error no handler took, as the API's JSON under ``/api/``, else a plain page (no
    template: whatever failed may fail again while rendering one)."""
    if str(scope.get("path", "")).startswith("/api/"):
        return unavailable_response(exc) if database_unavailable(exc) else internal_error_response()
    if database_unavailable(exc):
        status, da, en = 503, UNAVAILABLE_DA, UNAVAILABLE_EN
    else:
        status = 500
        da = "Der skete en fejl på serveren; den er logget."
        en = "Something went wrong on the server; it has been logged."
    page = f"<!doctype html><title>CareKey</title><p lang='da'>{da}</p><p lang='en'>{en}</p>"
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return HTMLResponse(page, status_code=status, headers=headers)


_PAGE_HEADERS: Final = (
    ("Content-Security-Policy", PAGE_CSP),
    ("Cache-Control", "no-store"),
)


class LanguageAndSession:
    """Every page request: the language cookie, the refresh of a web sign-in session a page
    asked for (``request.state.refresh_session``), and the pages' CSP and no-store (the
    server's ``SecurityHeaders`` adds the rest)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        page = not request.url.path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                refresh = getattr(request.state, "refresh_session", None)
                if refresh is not None and "set-cookie" not in headers:
                    for cookie in _refreshed_session_cookies(request, refresh):
                        headers.append("set-cookie", cookie)
                if page:
                    for name, value in _PAGE_HEADERS:
                        headers.setdefault(name, value)
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


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str | None = None) -> Response:
    """Skift sprog / switch language (Danish, English)."""
    response = RedirectResponse(safe_next(next), status_code=303)
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
    """The start page: the dashboard for those who may read it, the association's or the
    partner company's portal for their users, the audit log, else (an installer) the work
    orders."""
    if allowed(user.actor, Action.READ_DASHBOARD):
        return RedirectResponse("/dashboard", status_code=303)
    if user.actor.association_id is not None:
        return RedirectResponse("/association", status_code=303)
    if user.actor.company_id is not None:
        return RedirectResponse("/partner", status_code=303)
    if allowed(user.actor, Action.READ_AUDIT):
        return RedirectResponse("/audit", status_code=303)
    # An installer: their own work orders (issue 16).
    return RedirectResponse("/work-orders", status_code=303)
