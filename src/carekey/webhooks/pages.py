"""The administration pages of carekey.webhooks (issue 17): the subscriptions (create with a URL
and event types — the new secret is shown once —, rotate the secret, disable, enable, delete)
and the delivery log (filters, attempts, last error, "Send igen"). The same pages serve a
municipal administrator (the municipality's subscriptions) and a housing association's user
(the association's own); the use cases scope every call, as the API does."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carekey.access import Action, allowed
from carekey.adminui import formatting
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, permits
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.domain.errors import DomainError
from carekey.domain.values import ascii_id
from carekey.http.deps import NowDep, SecretDep, SessionDep
from carekey.webhooks import service as webhooks

router = APIRouter(include_in_schema=False)

Reader = Annotated[WebUser, Depends(permits(Action.READ_WEBHOOKS))]
Manager = Annotated[WebUser, Depends(permits(Action.MANAGE_WEBHOOKS))]

STATUS_BADGE: Final = {"pending": "warn", "delivered": "ok", "failed": "bad"}


def type_label(event_type: str) -> str:
    """An event type in words."""
    return {
        "door.opened": _("Dør åbnet"),
        "door.locked": _("Dør låst"),
        "door.refused": _("Dør afviste"),
        "door.alarm": _("Døralarm (brudt op, stået åben)"),
        "door.battery_low": _("Lavt batteri"),
        "door.offline": _("Dør offline"),
        "door.online": _("Dør online igen"),
        "revocation.phone_blocked": _("Telefon spærret"),
        "revocation.employee_blocked": _("Medarbejder spærret"),
        "revocation.citizen_removed": _("Borger fjernet"),
        "revocation.company_blocked": _("Firma spærret"),
        "work_order.created": _("Arbejdsordre oprettet"),
        "work_order.status_changed": _("Arbejdsordre ændret status"),
    }.get(event_type, event_type)


def status_label(status: str) -> str:
    """A delivery's status in words."""
    return {
        "pending": _("Venter"),
        "delivered": _("Leveret"),
        "failed": _("Opgivet"),
    }.get(status, status)


def _done(code: str | None) -> str | None:
    return {
        "disabled": _("Abonnementet er sat på pause."),
        "enabled": _("Abonnementet er genoptaget."),
        "deleted": _("Abonnementet er slettet."),
        "replayed": _("Leveringen sendes igen med samme webhook-id."),
    }.get(code or "")


def _helpers() -> dict[str, Any]:
    return {
        **formatting.formatters(),
        "type_label": type_label,
        "delivery_status_label": status_label,
        "status_badge": STATUS_BADGE,
        "event_types": [t.value for t in webhooks.EVENT_TYPES],
    }


def _list_page(
    request: Request,
    user: WebUser,
    db: SessionDep,
    *,
    new_secret: webhooks.NewSecret | None = None,
    secret_for: int | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    subs = webhooks.subscriptions_of(db, actor=user.actor)
    return ui.page(
        request,
        "webhooks/subscriptions.html",
        user,
        {
            **_helpers(),
            "nav": "webhooks",
            "subscriptions": [(s, webhooks.secrets_info(db, subscription_id=s.id)) for s in subs],
            "new_secret": new_secret,
            "secret_for": secret_for,
            "error": error,
            "form": form or {},
            "done": _done(done),
            "can_manage": allowed(user.actor, Action.MANAGE_WEBHOOKS),
        },
        status_code=status_code,
    )


@router.get("/webhooks", response_class=HTMLResponse)
def subscriptions(
    request: Request, user: Reader, db: SessionDep, done: str | None = None
) -> Response:
    """Webhooks: abonnementer / the subscriptions."""
    try:
        return _list_page(request, user, db, done=done)
    except DomainError as exc:
        return ui.error_page(request, user, exc)


@router.post("/webhooks", response_class=HTMLResponse)
def create_subscription(
    request: Request,
    user: Manager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    secret: SecretDep,
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "hmac",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Opret et abonnement; hemmeligheden vises én gang / create; the secret is shown once."""
    chosen = event_types or []
    form = {"url": url, "description": description, "kind": kind, "event_types": chosen}
    try:
        with ui.savepoint(db):
            subscription, new = webhooks.create_subscription(
                db,
                actor=user.actor,
                url=url,
                description=description,
                event_types=chosen,
                kind=kind if kind in ("hmac", "ed25519") else "hmac",
                server_secret=secret,
                now=now,
            )
    except DomainError as exc:
        if ui.page_status(exc) in (400, 409):
            return _list_page(request, user, db, error=ui.message(exc), form=form, status_code=400)
        return ui.error_page(request, user, exc)
    return _list_page(request, user, db, new_secret=new, secret_for=subscription.id)


def _subscription_id(value: str) -> int:
    return ui.path_id(value, "Abonnementet", "webhook subscription")


@router.post("/webhooks/{subscription_id}/rotate", response_class=HTMLResponse)
def rotate_secret(
    request: Request,
    subscription_id: str,
    user: Manager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    secret: SecretDep,
) -> Response:
    """Ny hemmelighed; den gamle virker 24 timer endnu / new secret; the old one works 24 h."""
    try:
        number = _subscription_id(subscription_id)
        with ui.savepoint(db):
            new = webhooks.rotate_secret(
                db, actor=user.actor, subscription_id=number, server_secret=secret, now=now
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return _list_page(request, user, db, new_secret=new, secret_for=number)


def _set_active(
    request: Request, user: WebUser, db: SessionDep, value: str, now: Any, *, active: bool
) -> Response:
    try:
        number = _subscription_id(value)
        with ui.savepoint(db):
            webhooks.set_active(
                db, actor=user.actor, subscription_id=number, active=active, now=now
            )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse(
        f"/webhooks?done={'enabled' if active else 'disabled'}", status_code=303
    )


@router.post("/webhooks/{subscription_id}/disable", response_class=HTMLResponse)
def disable(
    request: Request,
    subscription_id: str,
    user: Manager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Sæt på pause / disable."""
    return _set_active(request, user, db, subscription_id, now, active=False)


@router.post("/webhooks/{subscription_id}/enable", response_class=HTMLResponse)
def enable(
    request: Request,
    subscription_id: str,
    user: Manager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Genoptag / enable."""
    return _set_active(request, user, db, subscription_id, now, active=True)


@router.post("/webhooks/{subscription_id}/delete", response_class=HTMLResponse)
def delete(
    request: Request,
    subscription_id: str,
    user: Manager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Slet abonnementet / delete the subscription."""
    try:
        number = _subscription_id(subscription_id)
        with ui.savepoint(db):
            webhooks.delete_subscription(db, actor=user.actor, subscription_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse("/webhooks?done=deleted", status_code=303)


@router.get("/webhooks/deliveries", response_class=HTMLResponse)
def deliveries(
    request: Request,
    user: Reader,
    db: SessionDep,
    status: str | None = None,
    event_type: str | None = None,
    subscription: str | None = None,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Leveringer / the delivery log."""
    limit, offset, number = ui.paging(page, size)
    wanted_status = status if status in webhooks.STATUSES else None
    wanted_type = event_type if event_type in webhooks.EVENT_TYPES else None
    wanted_sub = ascii_id(subscription or "")
    try:
        found = webhooks.list_deliveries(
            db,
            actor=user.actor,
            status=wanted_status,
            event_type=wanted_type,
            subscription_id=wanted_sub,
            limit=limit,
            offset=offset,
        )
        subs = webhooks.subscriptions_of(db, actor=user.actor)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return ui.page(
        request,
        "webhooks/deliveries.html",
        user,
        {
            **_helpers(),
            "nav": "webhooks",
            "items": found.items,
            "subscriptions": subs,
            "paging": ui.pager(request, found.total, number, limit),
            "filters": {
                "status": wanted_status or "",
                "event_type": wanted_type or "",
                "subscription": wanted_sub,
                "size": limit,
            },
            "statuses": webhooks.STATUSES,
            "page_sizes": ui.PAGE_SIZES,
            "done": _done(done),
            "can_manage": allowed(user.actor, Action.MANAGE_WEBHOOKS),
        },
    )


@router.post("/webhooks/deliveries/{delivery_id}/replay", response_class=HTMLResponse)
def replay(
    request: Request,
    delivery_id: str,
    user: Manager,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Send igen med samme webhook-id / replay with the same webhook-id."""
    try:
        number = ui.path_id(delivery_id, "Leveringen", "webhook delivery")
        with ui.savepoint(db):
            webhooks.replay(db, actor=user.actor, delivery_id=number, now=now)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return RedirectResponse("/webhooks/deliveries?done=replayed", status_code=303)
