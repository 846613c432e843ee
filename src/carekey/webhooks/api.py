"""The HTTP API of carekey.webhooks (issue 17): subscriptions (create — the secret is shown
once —, rotate the secret, disable, enable, delete) and the delivery log (list, one with its
attempts, replay). A municipal administrator manages the municipality's subscriptions, a
housing association's user the association's own; the use cases scope every call."""

from __future__ import annotations

from fastapi import APIRouter, Response

from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SecretDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId
from carekey.webhooks import service as webhooks
from carekey.webhooks.schemas import (
    DeliveryDetail,
    DeliveryOut,
    SecretOut,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    attempt_out,
    delivery_out,
    secret_out,
    subscription_out,
)
from carekey.webhooks.service import WebhookEventType

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


def _out(db: SessionDep, subscription_id: int, actor: ActorDep) -> SubscriptionOut:
    found = webhooks.get_subscription(db, actor=actor, subscription_id=subscription_id)
    return subscription_out(found, webhooks.secrets_info(db, subscription_id=found.id))


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(db: SessionDep, actor: ActorDep) -> list[SubscriptionOut]:
    """Abonnementer / the subscriptions in reach."""
    return [
        subscription_out(s, webhooks.secrets_info(db, subscription_id=s.id))
        for s in webhooks.subscriptions_of(db, actor=actor)
    ]


@router.post("/subscriptions", response_model=SubscriptionCreated, status_code=201)
def create_subscription(
    body: SubscriptionCreate, db: SessionDep, actor: ActorDep, now: NowDep, secret: SecretDep
) -> SubscriptionCreated:
    """Opret et abonnement; hemmeligheden vises kun nu / create; the secret is shown once."""
    subscription, new = webhooks.create_subscription(
        db,
        actor=actor,
        url=body.url,
        description=body.description,
        event_types=[t.value for t in body.event_types],
        kind=body.kind,
        server_secret=secret,
        now=now,
    )
    out = subscription_out(subscription, webhooks.secrets_info(db, subscription_id=subscription.id))
    return SubscriptionCreated(**out.model_dump(), secret=secret_out(new))


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(subscription_id: PathId, db: SessionDep, actor: ActorDep) -> SubscriptionOut:
    """Et abonnement / one subscription."""
    return _out(db, subscription_id, actor)


@router.post("/subscriptions/{subscription_id}/rotate", response_model=SecretOut)
def rotate_secret(
    subscription_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep, secret: SecretDep
) -> SecretOut:
    """Ny hemmelighed; den gamle signerer med i 24 timer / new secret, the old one signs 24 h."""
    return secret_out(
        webhooks.rotate_secret(
            db, actor=actor, subscription_id=subscription_id, server_secret=secret, now=now
        )
    )


@router.post("/subscriptions/{subscription_id}/disable", response_model=SubscriptionOut)
def disable_subscription(
    subscription_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> SubscriptionOut:
    """Sæt på pause / disable: no new deliveries."""
    webhooks.set_active(db, actor=actor, subscription_id=subscription_id, active=False, now=now)
    return _out(db, subscription_id, actor)


@router.post("/subscriptions/{subscription_id}/enable", response_model=SubscriptionOut)
def enable_subscription(
    subscription_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> SubscriptionOut:
    """Genoptag / enable."""
    webhooks.set_active(db, actor=actor, subscription_id=subscription_id, active=True, now=now)
    return _out(db, subscription_id, actor)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(
    subscription_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> Response:
    """Slet abonnementet med dets leveringer / delete it with its deliveries."""
    webhooks.delete_subscription(db, actor=actor, subscription_id=subscription_id, now=now)
    return Response(status_code=204)


@router.get("/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    db: SessionDep,
    actor: ActorDep,
    status: str | None = None,
    event_type: WebhookEventType | None = None,
    subscription_id: FilterId = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[DeliveryOut]:
    """Leveringer / the delivery log, newest first."""
    page = webhooks.list_deliveries(
        db,
        actor=actor,
        status=status,
        event_type=event_type.value if event_type else None,
        subscription_id=subscription_id,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[delivery_out(v.delivery, v.event) for v in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(delivery_id: PathId, db: SessionDep, actor: ActorDep) -> DeliveryDetail:
    """En levering med forsøgene / one delivery with its attempts."""
    delivery, event = webhooks.get_delivery(db, actor=actor, delivery_id=delivery_id)
    log = [attempt_out(a) for a in webhooks.attempts_of(db, actor=actor, delivery_id=delivery.id)]
    return DeliveryDetail(**delivery_out(delivery, event).model_dump(), log=log)


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
def replay(delivery_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep) -> DeliveryOut:
    """Send igen, med samme webhook-id / replay, with the same webhook-id."""
    delivery = webhooks.replay(db, actor=actor, delivery_id=delivery_id, now=now)
    _delivery, event = webhooks.get_delivery(db, actor=actor, delivery_id=delivery.id)
    return delivery_out(delivery, event)
