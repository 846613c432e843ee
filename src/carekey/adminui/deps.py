"""What every page handler needs: the signed-in user, CSRF checks and rendering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from carekey.access import Action, allowed
from carekey.adminui import codes, i18n
from carekey.adminui.security import WebUser, csrf_ok, csrf_token, read_session, same_origin
from carekey.clock import local
from carekey.domain.enums import Role
from carekey.http.deps import NowDep, SecretDep, SessionDep

TEMPLATES_DIR = __import__("pathlib").Path(__file__).parent / "templates"


def _localtime(value: dt.datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    return "" if value is None else local(value).strftime(fmt)


def _make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = _localtime
    env.globals["languages"] = i18n.LANGUAGES
    # Every stored code in words (``adminui.codes``), on every page.
    env.globals.update(codes.template_helpers())
    return templates


templates = _make_templates()


class SignInRequiredError(Exception):
    """Raised when a page needs a signed-in user; the app redirects to the sign-in page."""


class RoleRequiredError(Exception):
    """Raised when the user's role does not allow the page; the app shows a 403 page."""


def get_web_user(request: Request, db: SessionDep, secret: SecretDep, now: NowDep) -> WebUser:
    """The signed-in user; refreshes the session cookie (idle timeout) on the way out."""
    found = read_session(request, db, secret=secret, now=now)
    if found is None:
        raise SignInRequiredError
    user, payload = found
    request.state.refresh_session = (user, payload)
    return user


WebUserDep = Annotated[WebUser, Depends(get_web_user)]


def permits(action: Action) -> Callable[[WebUser], WebUser]:
    """A dependency that lets through only users whose role allows ``action`` at all
    (``carekey.access``; 403 page otherwise). How far it reaches, the use case decides."""

    def check(user: WebUserDep) -> WebUser:
        if not allowed(user.actor, action):
            raise RoleRequiredError
        return user

    return check


async def check_csrf(request: Request, secret: SecretDep) -> None:
    """Refuse a state-changing request without the session's CSRF token or from another site."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    binding = _csrf_binding(request, secret)
    presented = request.headers.get("x-csrf-token")
    if presented is None:
        form = await request.form()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not same_origin(request) or binding is None or not csrf_ok(secret, binding, presented):
        raise CsrfFailedError


class CsrfFailedError(Exception):
    """The request lacked a valid CSRF token."""


def _csrf_binding(request: Request, secret: str) -> str | None:
    from carekey.adminui.security import PRE_SESSION_COOKIE, SESSION_COOKIE
    from carekey.auth.tokens import open_token
    from carekey.domain.errors import UnauthorizedError

    now = request.app.state.clock.now()
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            return str(open_token(token, secret=secret, purpose="web", now=now)["sid"])
        except UnauthorizedError:
            pass
    return request.cookies.get(PRE_SESSION_COOKIE)


CsrfDep = Annotated[None, Depends(check_csrf)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    user: WebUser | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with what every page needs: user, CSRF token, language, navigation."""
    secret: str = request.app.state.settings.secret_key.get_secret_value()
    binding = _csrf_binding(request, secret)
    if user is not None:
        binding = user.session_id
    values: dict[str, Any] = {
        "request": request,
        "user": user,
        "lang": i18n.current_language(),
        "csrf_token": csrf_token(secret, binding) if binding else "",
        "Role": Role,
        "can": (lambda action: allowed(user.actor, Action(action))) if user else (lambda _: False),
        "now": request.app.state.clock.now(),
    }
    values.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(
        request, template, values, status_code=status_code
    )
    return response
