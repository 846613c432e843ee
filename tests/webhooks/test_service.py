"""The outbox and the subscriptions' use cases: scopes (a municipality never sees another's, an
association only its own events), what the domain's changes emit, in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, InvariantError, NotFoundError
from carekey.protocol.events import Event, EventKind
from carekey.revocation import service as revocation
from carekey.store import models as m
from carekey.webhooks import service as webhooks
from carekey.webhooks.service import WebhookEventType as T
from carekey.workorders import service as workorders
from tests.webhooks.helpers import SECRET, T0, Tenants, make_tenants


def _sub(engine: Engine, actor: object, types: list[str] | None = None) -> int:
    with Session(engine) as db, db.begin():
        sub, _new = webhooks.create_subscription(
            db,
            actor=actor,
            url="https://hooks.example.org/in",
            event_types=types or [],  # type: ignore[arg-type]
            server_secret=SECRET,
            now=T0,
        )
        return sub.id


def _deliveries(engine: Engine, subscription_id: int) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    with Session(engine) as db:
        rows = db.execute(
            select(m.WebhookEvent.event_type, m.WebhookEvent.resource, m.WebhookEvent.payload)
            .join(m.WebhookDelivery, m.WebhookDelivery.event_id == m.WebhookEvent.id)
            .where(m.WebhookDelivery.subscription_id == subscription_id)
            .order_by(m.WebhookDelivery.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _door_event(kind: EventKind, seq: int, **extra: object) -> Event:
    return Event(b"d", seq, T0, kind, b"\0" * 32, **extra)  # type: ignore[arg-type]


@pytest.fixture
def tenants(engine: Engine) -> Tenants:
    return make_tenants(engine)


def test_scopes_municipal_association_other(engine: Engine, tenants: Tenants) -> None:
    municipal = _sub(engine, tenants.admin)
    assoc = _sub(engine, tenants.assoc_user)
    other_assoc = _sub(engine, tenants.other_assoc_user)
    other_town = _sub(engine, tenants.other_admin)
    with Session(engine) as db, db.begin():
        entrance = db.get(m.DoorDevice, tenants.entrance_door.id)
        home = db.get(m.DoorDevice, tenants.home_door.id)
        assert entrance is not None
        assert home is not None
        events = [
            _door_event(EventKind.UNLOCKED, 1),
            _door_event(EventKind.LOCKED, 2),
            _door_event(EventKind.REFUSED, 3, reason="expired"),
            _door_event(EventKind.FORCED_OPEN, 4),
            _door_event(EventKind.DOOR_AJAR, 5),
            _door_event(EventKind.LOW_BATTERY, 6),
            _door_event(EventKind.TIME_SET, 7),  # not told
        ]
        assert webhooks.emit_door_events(db, door=entrance, events=events, now=T0) == 6
        assert webhooks.emit_door_events(db, door=home, events=events[:1], now=T0) == 1
    got = _deliveries(engine, municipal)
    assert [t for t, _r, _p in got] == [
        "door.opened",
        "door.locked",
        "door.refused",
        "door.alarm",
        "door.alarm",
        "door.battery_low",
        "door.opened",
    ]
    assert got[3][2]["data"]["alarm"] == "forced_open"
    assert got[4][2]["data"]["alarm"] == "door_ajar"
    assert got[2][2]["data"]["reason"] == "expired"
    assert got[0][1] == f"door:{tenants.entrance_door.serial}"
    assert set(got[0][2]) == {"type", "timestamp", "data"}
    # The association gets its entrance's events, never the home lock's.
    assert [r for _t, r, _p in _deliveries(engine, assoc)] == [
        f"door:{tenants.entrance_door.serial}"
    ] * 6
    assert _deliveries(engine, other_assoc) == []
    assert _deliveries(engine, other_town) == []
    # Lists and look-ups are scoped the same way.
    with Session(engine) as db:
        assert [s.id for s in webhooks.subscriptions_of(db, actor=tenants.admin)] == [municipal]
        assert [s.id for s in webhooks.subscriptions_of(db, actor=tenants.assoc_user)] == [assoc]
        assert [s.id for s in webhooks.subscriptions_of(db, actor=tenants.auditor)] == [municipal]
        page = webhooks.list_deliveries(db, actor=tenants.assoc_user)
        assert page.total == 6
        assert webhooks.list_deliveries(db, actor=tenants.other_admin).total == 0
        assert webhooks.list_deliveries(db, actor=tenants.admin, status="pending").total == 7
        assert webhooks.list_deliveries(db, actor=tenants.admin, event_type="door.alarm").total == 2
        first = page.items[0].delivery.id
        with pytest.raises(NotFoundError):
            webhooks.get_delivery(db, actor=tenants.admin, delivery_id=first)
        with pytest.raises(NotFoundError):
            webhooks.get_subscription(db, actor=tenants.other_admin, subscription_id=municipal)
        with pytest.raises(NotFoundError):
            webhooks.get_subscription(db, actor=tenants.assoc_user, subscription_id=municipal)
        with pytest.raises(DomainError):
            webhooks.list_deliveries(db, actor=tenants.admin, status="bogus")
    with Session(engine) as db, db.begin(), pytest.raises(NotFoundError):
        webhooks.replay(db, actor=tenants.other_admin, delivery_id=first, now=T0)


def test_event_types_filter_and_no_subscriber_writes_nothing(
    engine: Engine, tenants: Tenants
) -> None:
    with Session(engine) as db, db.begin():
        nothing = webhooks.emit(
            db,
            municipality_id=tenants.municipality,
            event_type=T.DOOR_OPENED,
            resource="door:X",
            data={},
            now=T0,
        )
        assert nothing is None
        assert db.execute(select(func.count()).select_from(m.WebhookEvent)).scalar() == 0
    alarms = _sub(engine, tenants.admin, ["door.alarm"])
    with Session(engine) as db, db.begin():
        for t in (T.DOOR_OPENED, T.DOOR_ALARM):
            webhooks.emit(
                db,
                municipality_id=tenants.municipality,
                event_type=t,
                resource="door:X",
                data={},
                now=T0,
            )
    assert [t for t, _r, _p in _deliveries(engine, alarms)] == ["door.alarm"]


def test_a_rolled_back_change_emits_nothing(engine: Engine, tenants: Tenants) -> None:
    _sub(engine, tenants.admin)
    with Session(engine) as db:
        db.begin()
        webhooks.emit(
            db,
            municipality_id=tenants.municipality,
            event_type=T.DOOR_OPENED,
            resource="door:X",
            data={},
            now=T0,
        )
        db.rollback()
    with Session(engine) as db:
        assert db.execute(select(func.count()).select_from(m.WebhookEvent)).scalar() == 0


def test_revocation_and_work_orders_emit(engine: Engine, tenants: Tenants) -> None:
    municipal = _sub(engine, tenants.admin)
    assoc = _sub(engine, tenants.assoc_user)
    with Session(engine) as db, db.begin():
        citizen_id = db.execute(
            select(m.Citizen.id).where(m.Citizen.municipality_id == tenants.municipality)
        ).scalar_one()
        revocation.remove_citizen(
            db, actor=tenants.admin, citizen_id=citizen_id, reason="flyttet", now=T0
        )
        entrance = db.get(m.DoorDevice, tenants.entrance_door.id)
        assert entrance is not None
        order = workorders.order_battery_service(db, door=entrance, now=T0)
        assert order is not None
        workorders.cancel_order(db, actor=tenants.admin, order_id=order.id, reason="fejl", now=T0)
    got = _deliveries(engine, municipal)
    types = [t for t, _r, _p in got]
    assert types == [
        "work_order.created",  # the restore order of the removal
        "revocation.citizen_removed",
        "work_order.created",
        "work_order.status_changed",
    ]
    removed = got[1][2]["data"]
    assert removed["citizen_id"] == citizen_id
    assert "cpr" not in str(removed).lower()
    assert got[3][2]["data"]["previous_status"] == "ordered"
    assert got[3][2]["data"]["status"] == "cancelled"
    # The association sees the order at its entrance, not the home's restore or the removal.
    assert [t for t, _r, _p in _deliveries(engine, assoc)] == [
        "work_order.created",
        "work_order.status_changed",
    ]


def test_subscription_management(engine: Engine, tenants: Tenants) -> None:
    with Session(engine) as db, db.begin():
        sub, new = webhooks.create_subscription(
            db,
            actor=tenants.admin,
            url=" https://hooks.example.org/x ",
            description=" CRM ",
            event_types=["door.opened", "door.alarm", "door.opened"],
            server_secret=SECRET,
            now=T0,
        )
        assert sub.url == "https://hooks.example.org/x"
        assert sub.description == "CRM"
        assert sub.event_types == ["door.opened", "door.alarm"]
        assert new.secret.startswith("whsec_")
        sealed = db.execute(select(m.WebhookSecret.secret_sealed)).scalar_one()
        assert new.secret.encode() not in sealed
        rotated = webhooks.rotate_secret(
            db, actor=tenants.admin, subscription_id=sub.id, server_secret=SECRET, now=T0
        )
        keys = webhooks.active_secrets(
            db, subscription_id=sub.id, server_secret=SECRET, now=T0 + dt.timedelta(hours=23)
        )
        assert [k.secret for k in keys] == [new.secret, rotated.secret]
        later = webhooks.active_secrets(
            db, subscription_id=sub.id, server_secret=SECRET, now=T0 + dt.timedelta(hours=25)
        )
        assert [k.secret for k in later] == [rotated.secret]
        assert not webhooks.set_active(
            db, actor=tenants.admin, subscription_id=sub.id, active=False, now=T0
        ).active
        assert (
            webhooks.emit(
                db,
                municipality_id=tenants.municipality,
                event_type=T.DOOR_OPENED,
                resource="door:X",
                data={},
                now=T0,
            )
            is None
        )
        again = webhooks.set_active(
            db, actor=tenants.admin, subscription_id=sub.id, active=True, now=T0
        )
        assert again.active
        assert again.disabled_at is None
        event = webhooks.emit(
            db,
            municipality_id=tenants.municipality,
            event_type=T.DOOR_OPENED,
            resource="door:X",
            data={},
            now=T0,
        )
        assert event is not None
        delivery = db.execute(select(m.WebhookDelivery)).scalar_one()
        with pytest.raises(ConflictError):
            webhooks.replay(db, actor=tenants.admin, delivery_id=delivery.id, now=T0)
        for bad in ("ftp://x", "https://", "not a url", "https://x/" + "a" * 2000):
            with pytest.raises(InvariantError):
                webhooks.create_subscription(
                    db, actor=tenants.admin, url=bad, event_types=[], server_secret=SECRET, now=T0
                )
        with pytest.raises(InvariantError):
            webhooks.create_subscription(
                db,
                actor=tenants.admin,
                url="https://x.org",
                event_types=["door.exploded"],
                server_secret=SECRET,
                now=T0,
            )
        with pytest.raises(InvariantError):
            webhooks.create_subscription(
                db,
                actor=tenants.admin,
                url="https://x.org",
                event_types=[],
                kind="rsa",
                server_secret=SECRET,
                now=T0,
            )
        with pytest.raises(DomainError):  # an auditor reads, never manages
            webhooks.create_subscription(
                db,
                actor=tenants.auditor,
                url="https://x.org",
                event_types=[],
                server_secret=SECRET,
                now=T0,
            )
        webhooks.delete_subscription(db, actor=tenants.admin, subscription_id=sub.id, now=T0)
        assert db.execute(select(func.count()).select_from(m.WebhookDelivery)).scalar() == 0
        actions = set(db.execute(select(m.AdminAction.action)).scalars())
    assert {
        "webhook.created",
        "webhook.secret_rotated",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.deleted",
    } <= actions


def test_a_municipal_company_block_emits(engine: Engine, tenants: Tenants) -> None:
    from carekey.domain.partner_policy import OrganisationKind
    from carekey.organisations import service as organisations

    municipal = _sub(engine, tenants.admin)
    with Session(engine) as db, db.begin():
        company = m.PartnerCompany(
            municipality_id=tenants.municipality,
            name="Avisbud ApS",
            organisation_kind=OrganisationKind.PUBLIC_BODY,
            category=e.PartnerCategory.NEWSPAPER,
        )
        db.add(company)
        db.flush()
        company_id = company.id
        organisations.block_company(
            db, actor=tenants.admin, company_id=company_id, reason="misbrug", now=T0
        )
    got = _deliveries(engine, municipal)
    assert [(t, r) for t, r, _p in got] == [("revocation.company_blocked", f"company:{company_id}")]
    assert got[0][2]["data"]["whole_municipality"] is True
