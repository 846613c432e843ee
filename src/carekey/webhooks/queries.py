"""The SQL of carekey.webhooks: subscriptions in an actor's scope, the outbox, the dispatcher's
choice of due deliveries (in order per subscription and resource)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from carekey.access import Scope
from carekey.domain.paging import Page, check_page
from carekey.store import models as m

S = m.WebhookSubscription
D = m.WebhookDelivery
E = m.WebhookEvent
K = m.WebhookSecret
A = m.WebhookAttempt


def subscriptions_in(scope: Scope) -> ColumnElement[bool]:
    """The subscriptions an actor reaches: their municipality's own (no association), or, for a
    housing association's user, only that association's."""
    own = S.municipality_id == scope.municipality_id
    if scope.association_id is not None:
        return and_(own, S.association_id == scope.association_id)
    if scope.restricted:
        return S.id.is_(None)
    return and_(own, S.association_id.is_(None))


def subscriptions(db: Session, scope: Scope) -> list[m.WebhookSubscription]:
    """The subscriptions in ``scope``, oldest first."""
    return list(db.execute(select(S).where(subscriptions_in(scope)).order_by(S.id)).scalars())


def subscription_in(
    db: Session, scope: Scope, subscription_id: int
) -> m.WebhookSubscription | None:
    """One subscription, if it is in ``scope``."""
    return db.execute(
        select(S).where(S.id == subscription_id).where(subscriptions_in(scope))
    ).scalar_one_or_none()


def matching_subscriptions(
    db: Session, *, municipality_id: int, association_id: int | None
) -> list[m.WebhookSubscription]:
    """The active subscriptions that may get an event of this municipality (and association):
    the municipality's own, and the association's (event types are filtered by the caller)."""
    whose: ColumnElement[bool] = S.association_id.is_(None)
    if association_id is not None:
        whose = or_(whose, S.association_id == association_id)
    return list(
        db.execute(
            select(S)
            .where(S.municipality_id == municipality_id)
            .where(S.active.is_(True))
            .where(whose)
            .order_by(S.id)
        ).scalars()
    )


def secrets_of(db: Session, subscription_id: int) -> list[m.WebhookSecret]:
    """Every secret of a subscription, oldest first."""
    return list(
        db.execute(select(K).where(K.subscription_id == subscription_id).order_by(K.id)).scalars()
    )


def expire_secrets(db: Session, *, subscription_id: int, at: dt.datetime) -> None:
    """Let the subscription's secrets that have no end expire at ``at``."""
    db.execute(
        update(K)
        .where(K.subscription_id == subscription_id)
        .where(or_(K.expires_at.is_(None), K.expires_at > at))
        .values(expires_at=at)
    )


def deliveries_page(
    db: Session,
    scope: Scope,
    *,
    status: str | None,
    event_type: str | None,
    subscription_id: int | None,
    limit: int,
    offset: int,
) -> Page[Any]:
    """Deliveries of the subscriptions in ``scope`` with their events, newest first."""
    stmt = (
        select(D, E, S)
        .join(E, E.id == D.event_id)
        .join(S, S.id == D.subscription_id)
        .where(subscriptions_in(scope))
    )
    if status is not None:
        stmt = stmt.where(D.status == status)
    if event_type is not None:
        stmt = stmt.where(E.event_type == event_type)
    if subscription_id is not None:
        stmt = stmt.where(D.subscription_id == subscription_id)
    check_page(limit, offset)
    total = int(
        db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar() or 0
    )
    rows = db.execute(stmt.order_by(D.id.desc()).limit(limit).offset(offset)).all()
    return Page([tuple(r) for r in rows], total, limit, offset)


def delivery_in(
    db: Session, scope: Scope, delivery_id: int
) -> tuple[m.WebhookDelivery, m.WebhookEvent] | None:
    """One delivery (and its event), if its subscription is in ``scope``."""
    row = db.execute(
        select(D, E)
        .join(E, E.id == D.event_id)
        .join(S, S.id == D.subscription_id)
        .where(D.id == delivery_id)
        .where(subscriptions_in(scope))
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


def attempts_of(db: Session, delivery_id: int) -> list[m.WebhookAttempt]:
    """The log of one delivery, oldest first."""
    return list(db.execute(select(A).where(A.delivery_id == delivery_id).order_by(A.id)).scalars())


# --- the dispatcher ----------------------------------------------------------------------------


def any_due(db: Session, *, now: dt.datetime) -> bool:
    """Whether any pending delivery is due (a cheap look before a claim)."""
    found = db.execute(
        select(D.id).where(D.status == "pending").where(D.next_attempt_at <= now).limit(1)
    ).scalar_one_or_none()
    return found is not None


def claim_due(db: Session, *, now: dt.datetime, limit: int) -> list[m.WebhookDelivery]:
    """The due pending deliveries that head their (subscription, resource) queue: no older
    pending delivery of the same subscription and resource exists. On PostgreSQL the rows are
    locked ``FOR UPDATE SKIP LOCKED``, so several servers never take the same one."""
    older = aliased(D)
    blocked = exists(
        select(older.id)
        .where(older.subscription_id == D.subscription_id)
        .where(older.resource == D.resource)
        .where(older.status == "pending")
        .where(older.id < D.id)
    )
    stmt = (
        select(D)
        .where(D.status == "pending")
        .where(D.next_attempt_at <= now)
        .where(~blocked)
        .order_by(D.next_attempt_at, D.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=D)
    return list(db.execute(stmt).scalars())


def event_of(db: Session, event_id: int) -> m.WebhookEvent:
    """The event of a delivery."""
    return db.execute(select(E).where(E.id == event_id)).scalar_one()


def subscription(db: Session, subscription_id: int) -> m.WebhookSubscription:
    """A subscription by id (the dispatcher's, unscoped)."""
    return db.execute(select(S).where(S.id == subscription_id)).scalar_one()


def delivery(db: Session, delivery_id: int) -> m.WebhookDelivery:
    """A delivery by id (the dispatcher's, unscoped)."""
    return db.execute(select(D).where(D.id == delivery_id)).scalar_one()


def events_of_municipality(db: Session, municipality_id: int) -> list[m.WebhookEvent]:
    """The municipality's events, oldest first (for tests and the CLI's summary)."""
    return list(
        db.execute(select(E).where(E.municipality_id == municipality_id).order_by(E.id)).scalars()
    )


def delete_subscription(db: Session, subscription: m.WebhookSubscription) -> None:
    """A subscription, its secrets, deliveries and their attempts (the events stay)."""
    ids = select(D.id).where(D.subscription_id == subscription.id)
    db.execute(delete(A).where(A.delivery_id.in_(ids)))
    db.execute(delete(D).where(D.subscription_id == subscription.id))
    db.execute(delete(K).where(K.subscription_id == subscription.id))
    db.delete(subscription)


def association_of_place(
    db: Session, *, entrance_id: int | None, gate_id: int | None
) -> int | None:
    """The housing association of an entrance's or a gate's property, if any."""
    if entrance_id is not None:
        stmt = (
            select(m.Property.housing_association_id)
            .join(m.Entrance, m.Entrance.property_id == m.Property.id)
            .where(m.Entrance.id == entrance_id)
        )
    elif gate_id is not None:
        stmt = (
            select(m.Property.housing_association_id)
            .join(m.Gate, m.Gate.property_id == m.Property.id)
            .where(m.Gate.id == gate_id)
        )
    else:
        return None
    return db.execute(stmt).scalar_one_or_none()


def has_subscriptions(db: Session, municipality_id: int) -> bool:
    """Whether the municipality has any active subscription (a cheap test before an emit)."""
    found = db.execute(
        select(S.id).where(S.municipality_id == municipality_id).where(S.active.is_(True)).limit(1)
    ).scalar_one_or_none()
    return found is not None
