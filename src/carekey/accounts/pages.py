"""Pages of accounts (docs/accounts.md): an employee's one-time password, set-password link and
authenticator reset (from the employee's page), the public set-password page a link opens, and
everyone's own password change.

Thin: each page calls one use case of ``accounts.service``, which scopes by role and
municipality and writes the log of administrative actions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carekey.access import Action
from carekey.accounts import service
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, WebUserDep, permits, render
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import PRE_SESSION_COOKIE, WebUser, cookie_secure, new_binding
from carekey.auth.service import too_many_attempts
from carekey.domain.errors import DomainError
from carekey.http.deps import NowDep, SessionDep, client_address

router = APIRouter(include_in_schema=False)

AccountManager = Annotated[WebUser, Depends(permits(Action.MANAGE_ACCOUNTS))]
Secret = Annotated[str, Form(max_length=512)]


def _link_url(request: Request, path: str) -> str:
    """The whole address of a set-password link, as the administrator sends it."""
    return str(request.base_url).rstrip("/") + path


# --- from the employee's page ------------------------------------------------------------------


@router.post("/employees/{employee_id}/one-time-password", response_class=HTMLResponse)
def one_time_password(
    request: Request,
    employee_id: str,
    user: AccountManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Giv en engangsadgangskode / set a one-time password (shown once)."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        with ui.savepoint(db):
            made = service.set_one_time_password(db, actor=user.actor, employee_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "accounts/one_time_password.html",
        user,
        {"nav": "employees", "x": made.employee, "password": made.password},
    )


@router.post("/employees/{employee_id}/password-link", response_class=HTMLResponse)
def password_link(
    request: Request,
    employee_id: str,
    user: AccountManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Lav et link til at vælge adgangskode / make a set-password link (shown once)."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        with ui.savepoint(db):
            link = service.create_password_link(db, actor=user.actor, employee_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "accounts/password_link.html",
        user,
        {
            "nav": "employees",
            "x": link.employee,
            "url": _link_url(request, link.path),
            "expires_at": link.expires_at,
        },
    )


def _confirm_reset(
    request: Request,
    user: WebUser,
    number: int,
    subject: str,
    *,
    error: str | None = None,
    reason: str = "",
    status_code: int = 200,
) -> Response:
    return ui.page(
        request,
        "people/confirm.html",
        user,
        {
            "nav": "employees",
            "title": _("Nulstil godkender-app"),
            "subject": subject,
            "explanation": _(
                "Medarbejderens godkender-app glemmes, og alle medarbejderens sessioner i "
                "administrationen slutter. Ved næste login sætter medarbejderen en ny "
                "godkender-app op efter adgangskoden. Kontrollér, at det er medarbejderen selv, "
                "der beder om det."
            ),
            "action": f"/employees/{number}/reset-authenticator",
            "reason": reason,
            "error": error,
            "button": _("Nulstil godkender-app"),
            "cancel_url": f"/employees/{number}",
        },
        status_code=status_code,
    )


@router.get("/employees/{employee_id}/reset-authenticator", response_class=HTMLResponse)
def confirm_reset_authenticator(
    request: Request, employee_id: str, user: AccountManager, db: SessionDep
) -> Response:
    """Bekræft nulstilling af godkender-appen / confirm resetting the authenticator."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
        employee = service.check_manageable(db, actor=user.actor, employee_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    subject = f"{employee.full_name} ({employee.employee_number})"
    return _confirm_reset(request, user, number, subject)


@router.post("/employees/{employee_id}/reset-authenticator", response_class=HTMLResponse)
def reset_authenticator(
    request: Request,
    employee_id: str,
    user: AccountManager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Nulstil godkender-appen / reset the authenticator (with a reason)."""
    try:
        number = ui.path_id(employee_id, "Medarbejderen", "employee")
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    try:
        with ui.savepoint(db):
            service.reset_authenticator(
                db, actor=user.actor, employee_id=number, reason=ui.reason_text(reason), now=now
            )
    except DomainError as exc:
        if ui.page_status(exc) == 400:
            return _confirm_reset(
                request,
                user,
                number,
                "",
                error=ui.message(exc),
                reason=reason,
                status_code=400,
            )
        return ui.error_page(request, user, exc)
    return RedirectResponse(f"/employees/{number}?done=authenticator_reset", status_code=303)


# --- the public page a set-password link opens -------------------------------------------------


def _public(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """A page before sign-in: its form's CSRF token is bound to a pre-session cookie (as the
    sign-in page's)."""
    fresh = PRE_SESSION_COOKIE not in request.cookies
    if fresh:
        request.cookies[PRE_SESSION_COOKIE] = new_binding()
    response = render(request, template, context, status_code=status_code)
    # The address of a set-password page holds its token: never send it to another site as a
    # Referer ("no-referrer" would make the browser send "Origin: null", which CSRF refuses).
    response.headers["Referrer-Policy"] = "same-origin"
    if fresh:
        response.set_cookie(
            PRE_SESSION_COOKIE,
            request.cookies[PRE_SESSION_COOKIE],
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
            path="/",
        )
    return response


def _set_password_page(
    request: Request,
    token: str,
    target: service.LinkTarget | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return _public(
        request,
        "accounts/set_password.html",
        {
            "target": target,
            "token": token,
            "error": error,
            "min_length": service.MIN_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/set-password/{token}", response_class=HTMLResponse)
def set_password_form(request: Request, token: str, db: SessionDep, now: NowDep) -> Response:
    """Vælg din adgangskode (fra et link) / choose your password (from a link)."""
    try:
        target = service.link_target(db, token=token, now=now)
    except DomainError as exc:
        return _set_password_page(request, token, None, error=ui.message(exc), status_code=410)
    return _set_password_page(request, token, target)


@router.post("/set-password/{token}", response_class=HTMLResponse)
def set_password_submit(
    request: Request,
    token: str,
    db: SessionDep,
    now: NowDep,
    _csrf: CsrfDep,
    password: Secret = "",
    repeated: Secret = "",
) -> Response:
    """Gem adgangskoden / save the password; then sign in."""
    try:
        target = service.link_target(db, token=token, now=now)
    except DomainError as exc:
        return _set_password_page(request, token, None, error=ui.message(exc), status_code=410)
    try:
        with ui.savepoint(db):
            service.use_password_link(
                db, token=token, password=password, repeated=repeated, now=now
            )
    except service.LinkUnusableError as exc:
        return _set_password_page(request, token, None, error=ui.message(exc), status_code=410)
    except DomainError as exc:
        return _set_password_page(request, token, target, error=ui.message(exc), status_code=400)
    return _public(request, "accounts/password_set.html", {"name": target.employee.full_name})


# --- one's own password ------------------------------------------------------------------------


def _own_page(
    request: Request,
    user: WebUser,
    *,
    error: str | None = None,
    done: bool = False,
    status_code: int = 200,
) -> Response:
    return ui.page(
        request,
        "accounts/own_password.html",
        user,
        {"nav": "account", "error": error, "done": done, "min_length": service.MIN_LENGTH},
        status_code=status_code,
    )


@router.get("/account/password", response_class=HTMLResponse)
def own_password_form(request: Request, user: WebUserDep, done: str | None = None) -> Response:
    """Skift din adgangskode / change your password."""
    return _own_page(request, user, done=done == "changed")


@router.post("/account/password", response_class=HTMLResponse)
def own_password_submit(
    request: Request,
    user: WebUserDep,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    current: Secret = "",
    password: Secret = "",
    repeated: Secret = "",
) -> Response:
    """Gem den nye adgangskode / save the new password; other sessions end. Wrong current
    passwords are throttled like failed sign-ins (a session left open is no way to guess it)."""
    throttle = request.app.state.sign_in_throttle
    account, address = f"password:{user.actor.employee_id}", client_address(request)
    wait = throttle.retry_after(account=account, address=address, now=now)
    if wait is not None:
        return _own_page(request, user, error=ui.message(too_many_attempts(wait)), status_code=429)
    try:
        with ui.savepoint(db):
            service.change_own_password(
                db,
                actor=user.actor,
                current=current,
                password=password,
                repeated=repeated,
                now=now,
                keep_session=user.session_id,
            )
    except DomainError as exc:
        if exc.code == "accounts.wrong_current_password":
            throttle.failed(account=account, address=address, now=now)
        return _own_page(request, user, error=ui.message(exc), status_code=ui.page_status(exc))
    return RedirectResponse("/account/password?done=changed", status_code=303)
