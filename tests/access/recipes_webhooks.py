"""How the routes of carekey.webhooks (issue 17) are called in the route x role matrix.

The probe object is a subscription (and a failed delivery of it): Copenhagen's own, municipal
one for the municipality's actors (and for Frederiksberg's administrator, who must not reach
it); housing association A's for ``assoc``, B's for ``assoc_out`` (``Ctx.org``). Each is made
on demand in the actor's copy of the world, with a distinctive URL for a list to be searched."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carekey.store import models as m
from tests.access.recipes import Ctx, Effect, Req, exists, field_is, recipe

W = "/api/v1/webhooks"
AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
COPENHAGEN = 1


def _association(ctx: Ctx) -> int | None:
    return ctx.org.association if ctx.actor in ("assoc", "assoc_out") else None


def _url(ctx: Ctx, what: str) -> str:
    return f"https://hooks.example.invalid/matrix-{what}-{ctx.tag}-{_association(ctx) or 'm'}"


def _subscription(ctx: Ctx, *, active: bool = True) -> tuple[int, str]:
    """The side's subscription (with one secret) and its URL (the marker)."""
    url = _url(ctx, "sub" if active else "paused")
    with Session(ctx.engine) as db, db.begin():
        sub = m.WebhookSubscription(
            municipality_id=COPENHAGEN,
            association_id=_association(ctx),
            url=url,
            event_types=[],
            active=active,
            created_at=AT,
            disabled_at=None if active else AT,
        )
        db.add(sub)
        db.flush()
        db.add(
            m.WebhookSecret(
                subscription_id=sub.id,
                municipality_id=COPENHAGEN,
                kind="hmac",
                secret_sealed=b"\x01matrix-sealed-secret-not-used",
                created_at=AT,
            )
        )
        return sub.id, url


def _delivery(ctx: Ctx) -> tuple[int, str]:
    """A failed delivery of the side's subscription (to read, to replay) and its msg id."""
    sub_id, _url = _subscription(ctx)
    msg_id = f"msg_matrix{sub_id}x{ctx.tag}"
    with Session(ctx.engine) as db, db.begin():
        event = m.WebhookEvent(
            msg_id=msg_id,
            municipality_id=COPENHAGEN,
            association_id=_association(ctx),
            event_type="door.alarm",
            resource="door:MATRIX",
            payload={"type": "door.alarm", "timestamp": "2026-11-01T00:00:00Z", "data": {}},
            created_at=AT,
        )
        db.add(event)
        db.flush()
        delivery = m.WebhookDelivery(
            event_id=event.id,
            subscription_id=sub_id,
            municipality_id=COPENHAGEN,
            resource="door:MATRIX",
            status="failed",
            attempts=14,
            created_at=AT,
        )
        db.add(delivery)
        db.flush()
        return delivery.id, msg_id


def _rotated(sub_id: int) -> Effect:
    def check(db: Session) -> bool:
        count = db.execute(
            select(func.count())
            .select_from(m.WebhookSecret)
            .where(m.WebhookSecret.subscription_id == sub_id)
        ).scalar_one()
        return bool(count == 2)

    return check


def _gone(sub_id: int) -> Effect:
    return lambda db: db.get(m.WebhookSubscription, sub_id) is None


def _new_body(ctx: Ctx) -> dict[str, Any]:
    return {"url": _url(ctx, "new"), "event_types": ["door.alarm", "door.opened"]}


# --- the API -----------------------------------------------------------------------------------


@recipe("GET", f"{W}/subscriptions")
def _api_subscriptions(ctx: Ctx) -> list[Req]:
    _sub, url = _subscription(ctx)
    return [Req("GET", f"{W}/subscriptions", marker=url)]


@recipe("POST", f"{W}/subscriptions")
def _api_create(ctx: Ctx) -> list[Req]:
    body = _new_body(ctx)
    effect = exists(m.WebhookSubscription, url=body["url"])
    return [Req("POST", f"{W}/subscriptions", json=body, effect=effect)]


@recipe("GET", f"{W}/subscriptions/{{subscription_id}}")
def _api_subscription(ctx: Ctx) -> list[Req]:
    sub, url = _subscription(ctx)
    return [Req("GET", f"{W}/subscriptions/{sub}", marker=url)]


@recipe("POST", f"{W}/subscriptions/{{subscription_id}}/rotate")
def _api_rotate(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx)
    return [Req("POST", f"{W}/subscriptions/{sub}/rotate", effect=_rotated(sub))]


@recipe("POST", f"{W}/subscriptions/{{subscription_id}}/disable")
def _api_disable(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx)
    effect = field_is(m.WebhookSubscription, sub, "active", False)
    return [Req("POST", f"{W}/subscriptions/{sub}/disable", effect=effect)]


@recipe("POST", f"{W}/subscriptions/{{subscription_id}}/enable")
def _api_enable(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx, active=False)
    effect = field_is(m.WebhookSubscription, sub, "active", True)
    return [Req("POST", f"{W}/subscriptions/{sub}/enable", effect=effect)]


@recipe("DELETE", f"{W}/subscriptions/{{subscription_id}}")
def _api_delete(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx)
    return [Req("DELETE", f"{W}/subscriptions/{sub}", effect=_gone(sub))]


@recipe("GET", f"{W}/deliveries")
def _api_deliveries(ctx: Ctx) -> list[Req]:
    _delivery_id, msg_id = _delivery(ctx)
    return [Req("GET", f"{W}/deliveries", params={"limit": 200}, marker=msg_id)]


@recipe("GET", f"{W}/deliveries/{{delivery_id}}")
def _api_delivery(ctx: Ctx) -> list[Req]:
    delivery, msg_id = _delivery(ctx)
    return [Req("GET", f"{W}/deliveries/{delivery}", marker=msg_id)]


@recipe("POST", f"{W}/deliveries/{{delivery_id}}/replay")
def _api_replay(ctx: Ctx) -> list[Req]:
    delivery, _msg_id = _delivery(ctx)
    effect = field_is(m.WebhookDelivery, delivery, "status", "pending")
    return [Req("POST", f"{W}/deliveries/{delivery}/replay", effect=effect)]


# --- web UI ------------------------------------------------------------------------------------


@recipe("GET", "/webhooks")
def _web_subscriptions(ctx: Ctx) -> list[Req]:
    _sub, url = _subscription(ctx)
    return [Req("GET", "/webhooks", marker=url)]


@recipe("POST", "/webhooks")
def _web_create(ctx: Ctx) -> list[Req]:
    body = _new_body(ctx)
    effect = exists(m.WebhookSubscription, url=body["url"])
    return [Req("POST", "/webhooks", data=body, effect=effect)]


@recipe("POST", "/webhooks/{subscription_id}/rotate")
def _web_rotate(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx)
    return [Req("POST", f"/webhooks/{sub}/rotate", effect=_rotated(sub))]


@recipe("POST", "/webhooks/{subscription_id}/disable")
def _web_disable(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx)
    effect = field_is(m.WebhookSubscription, sub, "active", False)
    return [Req("POST", f"/webhooks/{sub}/disable", effect=effect)]


@recipe("POST", "/webhooks/{subscription_id}/enable")
def _web_enable(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx, active=False)
    effect = field_is(m.WebhookSubscription, sub, "active", True)
    return [Req("POST", f"/webhooks/{sub}/enable", effect=effect)]


@recipe("POST", "/webhooks/{subscription_id}/delete")
def _web_delete(ctx: Ctx) -> list[Req]:
    sub, _url = _subscription(ctx)
    return [Req("POST", f"/webhooks/{sub}/delete", effect=_gone(sub))]


@recipe("GET", "/webhooks/deliveries")
def _web_deliveries(ctx: Ctx) -> list[Req]:
    _delivery_id, msg_id = _delivery(ctx)
    return [Req("GET", "/webhooks/deliveries", params={"size": 100}, marker=msg_id)]


@recipe("POST", "/webhooks/deliveries/{delivery_id}/replay")
def _web_replay(ctx: Ctx) -> list[Req]:
    delivery, _msg_id = _delivery(ctx)
    effect = field_is(m.WebhookDelivery, delivery, "status", "pending")
    return [Req("POST", f"/webhooks/deliveries/{delivery}/replay", effect=effect)]
