"""The request and answer bodies of carekey.webhooks' API (issue 17)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from carekey.store import models as m
from carekey.webhooks import service as webhooks
from carekey.webhooks.service import WebhookEventType


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=webhooks.MAX_URL, description="https://… / the receiver")
    description: str | None = Field(default=None, max_length=webhooks.MAX_DESCRIPTION)
    event_types: list[WebhookEventType] = Field(
        default_factory=list, description="Tom: alle / empty: every type"
    )
    kind: Literal["hmac", "ed25519"] = Field(
        default="hmac", description="v1 (HMAC-SHA256) eller v1a (Ed25519)"
    )


class SecretOut(BaseModel):
    """A new secret: shown this once."""

    kind: str
    secret: str = Field(description="whsec_… eller whsk_… — vises kun nu / shown only now")
    public_key: str | None = Field(description="whpk_… (ed25519): modtagerens nøgle / verify")


class SecretInfo(BaseModel):
    kind: str
    public_key: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None


class SubscriptionOut(BaseModel):
    id: int
    municipality_id: int
    association_id: int | None
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    secrets: list[SecretInfo]


class SubscriptionCreated(SubscriptionOut):
    secret: SecretOut


class AttemptOut(BaseModel):
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    msg_id: str
    event_type: str
    resource: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
    payload: dict[str, Any]


class DeliveryDetail(DeliveryOut):
    log: list[AttemptOut]


def secret_out(new: webhooks.NewSecret) -> SecretOut:
    return SecretOut(kind=new.kind, secret=new.secret, public_key=new.public_key)


def subscription_out(s: m.WebhookSubscription, secrets: list[m.WebhookSecret]) -> SubscriptionOut:
    """A subscription as the API shows it (never a secret, only its kind and dates)."""
    return SubscriptionOut(
        id=s.id,
        municipality_id=s.municipality_id,
        association_id=s.association_id,
        url=s.url,
        description=s.description,
        event_types=list(s.event_types or []),
        active=s.active,
        created_at=s.created_at,
        disabled_at=s.disabled_at,
        secrets=[
            SecretInfo(
                kind=k.kind,
                public_key=k.public_key,
                created_at=k.created_at,
                expires_at=k.expires_at,
            )
            for k in secrets
        ],
    )


def delivery_out(d: m.WebhookDelivery, ev: m.WebhookEvent) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        subscription_id=d.subscription_id,
        msg_id=ev.msg_id,
        event_type=ev.event_type,
        resource=ev.resource,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
        payload=ev.payload,
    )


def attempt_out(a: m.WebhookAttempt) -> AttemptOut:
    return AttemptOut(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
