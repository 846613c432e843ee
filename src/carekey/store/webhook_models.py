"""Signed webhooks (issue 17, docs/webhooks.md): subscriptions, their secrets, the durable
outbox of events, one delivery per (event, subscription) and the log of every attempt.

The event row is written in the same transaction as the domain change it tells of, so an event
is never lost and never told of a change that was rolled back. A subscription of a housing
association (``association_id``) gets only that association's events; a municipal one gets
every event of its municipality (both filtered by ``event_types``; empty: all).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from carekey.store.base import Base, BigId

DELIVERY_STATUSES = ("pending", "delivered", "failed")
SECRET_KINDS = ("hmac", "ed25519")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class WebhookSubscription(Base):
    """Where to send which events, for a municipality or one of its housing associations."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    association_id: Mapped[int | None] = mapped_column(
        ForeignKey("housing_association.id"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    # The event types wanted (a JSON list of strings); empty: every type.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    created_at: Mapped[dt.datetime]
    disabled_at: Mapped[dt.datetime | None]


class WebhookSecret(Base):
    """A signing secret of a subscription, sealed at rest (``store.sealed``, purpose
    ``webhook_secret``). After a rotation the old one signs too until ``expires_at``."""

    __tablename__ = "webhook_secret"
    __table_args__ = (CheckConstraint(_in("kind", SECRET_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    kind: Mapped[str] = mapped_column(String(16))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    public_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]


class WebhookEvent(Base):
    """The outbox: one row per event, written with the change it tells of."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    association_id: Mapped[int | None] = mapped_column(ForeignKey("housing_association.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]


class WebhookDelivery(Base):
    """One event to one subscription: pending until a 2xx, failed after about three days."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription_id_resource", "subscription_id", "resource"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE")
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    # The event's resource, copied for the per-resource ordering of the dispatcher.
    resource: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_attempt_at: Mapped[dt.datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class WebhookAttempt(Base):
    """The log of deliveries: every POST, its answer or error and how long it took."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
