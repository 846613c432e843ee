"""Signed webhooks (issue 17, docs/webhooks.md): the outbox and the subscriptions' use cases.

- :func:`emit` writes an event and one delivery per matching active subscription, in the
  caller's transaction (the domain change and its event commit together, or neither does);
- the subscriptions' use cases (create, rotate the secret, disable, enable, delete) and the
  delivery log (list, replay) are scoped by ``access``: a municipal administrator manages the
  municipality's own subscriptions, a housing association's user only the association's.

Use cases never commit. Payloads carry ids and serials, never a CPR number or a personal code.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets as random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, reach
from carekey.audit.actions import record_admin_action
from carekey.domain.errors import ConflictError, InvariantError, not_found
from carekey.domain.paging import Page
from carekey.protocol.events import Event, EventKind
from carekey.store import models as m
from carekey.store.sealed import seal, unseal
from carekey.webhooks import queries as q
from carekey.webhooks import signing

SEAL_PURPOSE: Final = "webhook_secret"
ROTATION_OVERLAP: Final = dt.timedelta(hours=24)
MAX_URL: Final = 2000
MAX_DESCRIPTION: Final = 500
STATUSES: Final = ("pending", "delivered", "failed")


class WebhookEventType(StrEnum):
    """Every event a subscription may ask for."""

    DOOR_OPENED = "door.opened"
    DOOR_LOCKED = "door.locked"
    DOOR_REFUSED = "door.refused"
    DOOR_ALARM = "door.alarm"  # forced open, standing ajar
    DOOR_BATTERY_LOW = "door.battery_low"
    DOOR_OFFLINE = "door.offline"
    DOOR_ONLINE = "door.online"
    PHONE_BLOCKED = "revocation.phone_blocked"
    EMPLOYEE_BLOCKED = "revocation.employee_blocked"
    CITIZEN_REMOVED = "revocation.citizen_removed"
    COMPANY_BLOCKED = "revocation.company_blocked"
    WORK_ORDER_CREATED = "work_order.created"
    WORK_ORDER_STATUS_CHANGED = "work_order.status_changed"


EVENT_TYPES: Final = tuple(WebhookEventType)

# The door events told to subscribers, and as what.
_DOOR_EVENTS: Final[dict[EventKind, tuple[WebhookEventType, str | None]]] = {
    EventKind.UNLOCKED: (WebhookEventType.DOOR_OPENED, None),
    EventKind.RELAY_PULSE: (WebhookEventType.DOOR_OPENED, None),
    EventKind.LOCKED: (WebhookEventType.DOOR_LOCKED, None),
    EventKind.AUTO_RELOCKED: (WebhookEventType.DOOR_LOCKED, None),
    EventKind.REFUSED: (WebhookEventType.DOOR_REFUSED, None),
    EventKind.FORCED_OPEN: (WebhookEventType.DOOR_ALARM, "forced_open"),
    EventKind.DOOR_AJAR: (WebhookEventType.DOOR_ALARM, "door_ajar"),
    EventKind.LOW_BATTERY: (WebhookEventType.DOOR_BATTERY_LOW, None),
}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def new_msg_id() -> str:
    """A message id, ``msg_`` + 24 random url-safe characters (the ``webhook-id``)."""
    return "msg_" + random.token_urlsafe(18)


def body_of(event: m.WebhookEvent) -> str:
    """The exact JSON body every attempt of ``event`` sends (the signatures cover it)."""
    return json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _wants(subscription: m.WebhookSubscription, event_type: str) -> bool:
    types = subscription.event_types or []
    return not types or event_type in types


def emit(
    db: Session,
    *,
    municipality_id: int,
    event_type: WebhookEventType,
    resource: str,
    data: dict[str, Any],
    now: dt.datetime,
    association_id: int | None = None,
) -> m.WebhookEvent | None:
    """Write an event to the outbox and one delivery per matching active subscription, in the
    caller's transaction. Municipal subscriptions get every event of the municipality of their
    types; an association's only the events of that association. With no subscriber nothing is
    written (``None``)."""
    subscribers = [
        s
        for s in q.matching_subscriptions(
            db, municipality_id=municipality_id, association_id=association_id
        )
        if _wants(s, event_type)
    ]
    if not subscribers:
        return None
    event = m.WebhookEvent(
        msg_id=new_msg_id(),
        municipality_id=municipality_id,
        association_id=association_id,
        event_type=str(event_type),
        resource=resource,
        payload={"type": str(event_type), "timestamp": _iso(now), "data": data},
        created_at=now,
    )
    db.add(event)
    db.flush()
    for subscription in subscribers:
        db.add(
            m.WebhookDelivery(
                event_id=event.id,
                subscription_id=subscription.id,
                municipality_id=municipality_id,
                resource=resource,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    db.flush()
    return event


def door_resource(door: m.DoorDevice) -> str:
    """The resource name of a door: ``door:<serial>``."""
    return f"door:{door.serial}"


def emit_door_events(
    db: Session, *, door: m.DoorDevice, events: list[Event], now: dt.datetime
) -> int:
    """Tell subscribers of the door events just stored (opened, locked, refused, alarms, low
    battery), in the door's order. Entrance and gate events carry the property's housing
    association. Returns how many events were written."""
    told = [ev for ev in events if ev.kind in _DOOR_EVENTS]
    if not told or not q.has_subscriptions(db, door.municipality_id):
        return 0
    association_id = q.association_of_place(db, entrance_id=door.entrance_id, gate_id=door.gate_id)
    written = 0
    for ev in told:
        event_type, alarm = _DOOR_EVENTS[ev.kind]
        data: dict[str, Any] = {
            "door_id": door.id,
            "serial": door.serial,
            "door_kind": str(door.kind),
            "seq": ev.seq,
            "at": _iso(ev.time) if ev.time is not None else None,
        }
        if alarm is not None:
            data["alarm"] = alarm
        if ev.kind is EventKind.REFUSED and ev.reason:
            data["reason"] = ev.reason
        if ev.kind is EventKind.LOW_BATTERY and door.battery_pct is not None:
            data["battery_pct"] = door.battery_pct
        found = emit(
            db,
            municipality_id=door.municipality_id,
            event_type=event_type,
            resource=door_resource(door),
            data=data,
            now=now,
            association_id=association_id,
        )
        written += found is not None
    return written


def emit_revocation(
    db: Session,
    *,
    municipality_id: int,
    event_type: WebhookEventType,
    resource: str,
    data: dict[str, Any],
    now: dt.datetime,
    association_id: int | None = None,
) -> m.WebhookEvent | None:
    """A block or a removal (phone, employee, citizen, company), by ids only."""
    if not q.has_subscriptions(db, municipality_id):
        return None
    return emit(
        db,
        municipality_id=municipality_id,
        event_type=event_type,
        resource=resource,
        data=data,
        now=now,
        association_id=association_id,
    )


def emit_door_online(
    db: Session, *, door: m.DoorDevice, online: bool, now: dt.datetime
) -> m.WebhookEvent | None:
    """An online controller came online or went offline (``carekey.online``: its signed last
    will, or not heard for the municipality's limit). Carries the property's association."""
    if not q.has_subscriptions(db, door.municipality_id):
        return None
    association_id = q.association_of_place(db, entrance_id=door.entrance_id, gate_id=door.gate_id)
    return emit(
        db,
        municipality_id=door.municipality_id,
        event_type=WebhookEventType.DOOR_ONLINE if online else WebhookEventType.DOOR_OFFLINE,
        resource=f"door:{door.serial}",
        data={
            "door_id": door.id,
            "serial": door.serial,
            "door_kind": str(door.kind),
            "last_heard_at": _iso(door.last_heard_at) if door.last_heard_at else None,
        },
        now=now,
        association_id=association_id,
    )


def emit_work_order(
    db: Session, *, order: m.WorkOrder, now: dt.datetime, previous_status: str | None = None
) -> m.WebhookEvent | None:
    """A work order was created (``previous_status`` None) or changed its status. An order at
    an entrance or a gate carries the property's housing association."""
    if not q.has_subscriptions(db, order.municipality_id):
        return None
    data: dict[str, Any] = {
        "work_order_id": order.id,
        "kind": order.kind.value,
        "status": order.status.value,
        "trigger": order.trigger.value if order.trigger is not None else None,
        "door_id": order.door_device_id,
        "citizen_id": order.citizen_id,
        "entrance_id": order.entrance_id,
        "gate_id": order.gate_id,
    }
    if previous_status is not None:
        data["previous_status"] = previous_status
    return emit(
        db,
        municipality_id=order.municipality_id,
        event_type=(
            WebhookEventType.WORK_ORDER_CREATED
            if previous_status is None
            else WebhookEventType.WORK_ORDER_STATUS_CHANGED
        ),
        resource=f"work_order:{order.id}",
        data=data,
        now=now,
        association_id=q.association_of_place(
            db, entrance_id=order.entrance_id, gate_id=order.gate_id
        ),
    )


# --- subscriptions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSecret:
    """A subscription's new signing secret, shown once: ``whsec_…`` (hmac) or ``whsk_…`` with
    the receiver's ``whpk_…`` public key (ed25519)."""

    kind: str
    secret: str
    public_key: str | None


def _invalid(code: str, da: str, en: str) -> InvariantError:
    return InvariantError(f"webhook.{code}", da, en)


def checked_url(url: str) -> str:
    """An absolute http(s) URL with a host, at most ``MAX_URL`` characters."""
    text = url.strip()
    parts = urlsplit(text)
    if len(text) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(
            "bad_url",
            "Angiv en fuld adresse, der begynder med https:// (eller http://)",
            "Give a full address starting with https:// (or http://)",
        )
    return text


def checked_types(event_types: list[str]) -> list[str]:
    """Known event types, each once, in the catalogue's order (empty: all)."""
    unknown = set(event_types) - set(EVENT_TYPES)
    if unknown:
        raise _invalid(
            "bad_event_type",
            f"Ukendt hændelsestype: {', '.join(sorted(unknown))}",
            f"Unknown event type: {', '.join(sorted(unknown))}",
        )
    return [t.value for t in EVENT_TYPES if t.value in event_types]


def _new_secret(kind: str) -> NewSecret:
    if kind == "hmac":
        return NewSecret("hmac", signing.new_hmac_secret(), None)
    if kind == "ed25519":
        secret_key, public_key = signing.new_ed25519_keypair()
        return NewSecret("ed25519", secret_key, public_key)
    raise _invalid("bad_kind", "Ukendt nøgletype", "Unknown key kind")


def _store_secret(
    db: Session,
    subscription: m.WebhookSubscription,
    new: NewSecret,
    *,
    server_secret: str,
    now: dt.datetime,
) -> None:
    db.add(
        m.WebhookSecret(
            subscription_id=subscription.id,
            municipality_id=subscription.municipality_id,
            kind=new.kind,
            secret_sealed=seal(new.secret.encode(), secret=server_secret, purpose=SEAL_PURPOSE),
            public_key=new.public_key,
            created_at=now,
        )
    )


def active_secrets(
    db: Session, *, subscription_id: int, server_secret: str, now: dt.datetime
) -> list[signing.SigningSecret]:
    """The secrets that sign now (after a rotation: the old one too, until it expires)."""
    found: list[signing.SigningSecret] = []
    for row in q.secrets_of(db, subscription_id):
        if row.expires_at is not None and row.expires_at <= now:
            continue
        plain = unseal(row.secret_sealed, secret=server_secret, purpose=SEAL_PURPOSE).decode()
        kind: signing.Kind = "ed25519" if row.kind == "ed25519" else "hmac"
        found.append(signing.SigningSecret(kind, plain))
    return found


def _audit(
    db: Session,
    actor: Actor,
    subscription: m.WebhookSubscription,
    action: str,
    now: dt.datetime,
    **details: Any,
) -> None:
    record_admin_action(
        db,
        actor=actor,
        municipality_id=subscription.municipality_id,
        action=action,
        target_type="webhook_subscription",
        target_id=subscription.id,
        now=now,
        details={"url": subscription.url, **details},
    )


def create_subscription(
    db: Session,
    *,
    actor: Actor,
    url: str,
    event_types: list[str],
    server_secret: str,
    now: dt.datetime,
    description: str | None = None,
    kind: str = "hmac",
) -> tuple[m.WebhookSubscription, NewSecret]:
    """A new subscription of the actor's municipality (or association) and its secret, which
    is shown this once and stored sealed."""
    scope = reach(actor, Action.MANAGE_WEBHOOKS)
    text = (description or "").strip() or None
    if text is not None and len(text) > MAX_DESCRIPTION:
        raise _invalid("bad_description", "Beskrivelsen er for lang", "The description is too long")
    new = _new_secret(kind)
    subscription = m.WebhookSubscription(
        municipality_id=scope.municipality_id,
        association_id=scope.association_id,
        url=checked_url(url),
        description=text,
        event_types=checked_types(event_types),
        active=True,
        created_by=actor.employee_id,
        created_at=now,
    )
    db.add(subscription)
    db.flush()
    _store_secret(db, subscription, new, server_secret=server_secret, now=now)
    _audit(db, actor, subscription, "webhook.created", now, kind=new.kind)
    db.flush()
    return subscription, new


def subscriptions_of(db: Session, *, actor: Actor) -> list[m.WebhookSubscription]:
    """The subscriptions the actor may read."""
    return q.subscriptions(db, reach(actor, Action.READ_WEBHOOKS))


def get_subscription(
    db: Session, *, actor: Actor, subscription_id: int, action: Action = Action.READ_WEBHOOKS
) -> m.WebhookSubscription:
    """One subscription in the actor's reach (404 otherwise)."""
    found = q.subscription_in(db, reach(actor, action), subscription_id)
    if found is None:
        raise not_found("Abonnementet", "webhook subscription")
    return found


def secrets_info(db: Session, *, subscription_id: int) -> list[m.WebhookSecret]:
    """The secrets' rows (kind, public key, dates; never the sealed secret to show)."""
    return q.secrets_of(db, subscription_id)


def rotate_secret(
    db: Session, *, actor: Actor, subscription_id: int, server_secret: str, now: dt.datetime
) -> NewSecret:
    """A new secret (of the same kind as the newest); the old ones keep signing for 24 hours,
    so a receiver can change its secret without losing a message."""
    subscription = get_subscription(
        db, actor=actor, subscription_id=subscription_id, action=Action.MANAGE_WEBHOOKS
    )
    rows = q.secrets_of(db, subscription.id)
    kind = rows[-1].kind if rows else "hmac"
    q.expire_secrets(db, subscription_id=subscription.id, at=now + ROTATION_OVERLAP)
    new = _new_secret(kind)
    _store_secret(db, subscription, new, server_secret=server_secret, now=now)
    _audit(db, actor, subscription, "webhook.secret_rotated", now, kind=kind)
    db.flush()
    return new


def set_active(
    db: Session, *, actor: Actor, subscription_id: int, active: bool, now: dt.datetime
) -> m.WebhookSubscription:
    """Disable (no new deliveries; pending ones wait) or enable a subscription."""
    subscription = get_subscription(
        db, actor=actor, subscription_id=subscription_id, action=Action.MANAGE_WEBHOOKS
    )
    if subscription.active == active:
        return subscription
    subscription.active = active
    subscription.disabled_at = None if active else now
    _audit(db, actor, subscription, "webhook.enabled" if active else "webhook.disabled", now)
    db.flush()
    return subscription


def delete_subscription(
    db: Session, *, actor: Actor, subscription_id: int, now: dt.datetime
) -> None:
    """Delete a subscription with its secrets and deliveries (the log of admin actions keeps
    that it existed)."""
    subscription = get_subscription(
        db, actor=actor, subscription_id=subscription_id, action=Action.MANAGE_WEBHOOKS
    )
    _audit(db, actor, subscription, "webhook.deleted", now)
    q.delete_subscription(db, subscription)
    db.flush()


# --- deliveries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    """A delivery with its event and subscription, for the log."""

    delivery: m.WebhookDelivery
    event: m.WebhookEvent
    subscription: m.WebhookSubscription


def list_deliveries(
    db: Session,
    *,
    actor: Actor,
    status: str | None = None,
    event_type: str | None = None,
    subscription_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[DeliveryView]:
    """The delivery log of the actor's subscriptions, newest first."""
    if status is not None and status not in STATUSES:
        raise _invalid("bad_status", "Ukendt status", "Unknown status")
    page = q.deliveries_page(
        db,
        reach(actor, Action.READ_WEBHOOKS),
        status=status,
        event_type=event_type,
        subscription_id=subscription_id,
        limit=limit,
        offset=offset,
    )
    return Page(
        [DeliveryView(d, e, s) for d, e, s in page.items], page.total, page.limit, page.offset
    )


def get_delivery(
    db: Session, *, actor: Actor, delivery_id: int, action: Action = Action.READ_WEBHOOKS
) -> tuple[m.WebhookDelivery, m.WebhookEvent]:
    """One delivery and its event, in the actor's reach (404 otherwise)."""
    found = q.delivery_in(db, reach(actor, action), delivery_id)
    if found is None:
        raise not_found("Leveringen", "webhook delivery")
    return found


def attempts_of(db: Session, *, actor: Actor, delivery_id: int) -> list[m.WebhookAttempt]:
    """The attempts of one delivery in the actor's reach."""
    delivery, _event = get_delivery(db, actor=actor, delivery_id=delivery_id)
    return q.attempts_of(db, delivery.id)


def replay(db: Session, *, actor: Actor, delivery_id: int, now: dt.datetime) -> m.WebhookDelivery:
    """Send a delivery again: it is pending and due now, with the same ``webhook-id`` (a
    receiver that has it already drops the copy). Audited like every admin action."""
    delivery, event = get_delivery(
        db, actor=actor, delivery_id=delivery_id, action=Action.MANAGE_WEBHOOKS
    )
    if delivery.status == "pending":
        raise ConflictError(
            "webhook.already_pending",
            "Leveringen venter allerede på at blive sendt",
            "The delivery is already waiting to be sent",
        )
    delivery.status = "pending"
    delivery.attempts = 0  # a fresh retry schedule; the attempt log keeps the earlier ones
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    record_admin_action(
        db,
        actor=actor,
        municipality_id=delivery.municipality_id,
        action="webhook.replayed",
        target_type="webhook_delivery",
        target_id=delivery.id,
        now=now,
        details={"msg_id": event.msg_id, "event_type": event.event_type},
    )
    db.flush()
    return delivery
