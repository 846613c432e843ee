"""Door events reach subscribers when a phone uploads them (``carekey.ingest``), in the same
transaction, once: the same upload twice emits nothing new; an entrance's events carry its
property's housing association."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.protocol.events import EventKind
from carekey.store import models as m
from carekey.webhooks import service as webhooks
from tests.ingest.test_ingest import NOW, World, upload, world  # noqa: F401 - the fixture
from tests.webhooks.helpers import SECRET


def _types(w: World, subscription_id: int) -> list[str]:
    with Session(w.engine) as db:
        return list(
            db.execute(
                select(m.WebhookEvent.event_type)
                .join(m.WebhookDelivery, m.WebhookDelivery.event_id == m.WebhookEvent.id)
                .where(m.WebhookDelivery.subscription_id == subscription_id)
                .order_by(m.WebhookDelivery.id)
            ).scalars()
        )


def test_an_upload_emits_its_new_door_events_once(world: World) -> None:  # noqa: F811
    with Session(world.engine) as db, db.begin():
        door = db.get(m.DoorDevice, world.entrance.device_id)
        assert door is not None
        entrance = db.get(m.Entrance, door.entrance_id)
        assert entrance is not None
        prop = db.get(m.Property, entrance.property_id)
        assert prop is not None
        assoc = m.HousingAssociation(municipality_id=prop.municipality_id, name="AB Lyset")
        db.add(assoc)
        db.flush()
        prop.housing_association_id = assoc.id
        admin = m.Employee(
            municipality_id=prop.municipality_id,
            employee_number="WH01",
            full_name="Admin",
            roles=[m.EmployeeRole(role=e.Role.ADMINISTRATOR)],
        )
        db.add(admin)
        db.flush()
        actor = Actor(admin.id, prop.municipality_id, frozenset({e.Role.ADMINISTRATOR}), "A")
        municipal, _ = webhooks.create_subscription(
            db,
            actor=actor,
            url="https://h.example.org/m",
            event_types=[],
            server_secret=SECRET,
            now=NOW,
        )
        assoc_actor = Actor(
            admin.id,
            prop.municipality_id,
            frozenset({e.Role.ASSOCIATION_USER}),
            "B",
            association_id=assoc.id,
        )
        theirs, _ = webhooks.create_subscription(
            db,
            actor=assoc_actor,
            url="https://h.example.org/a",
            event_types=[],
            server_secret=SECRET,
            now=NOW,
        )
        ids = (municipal.id, theirs.id)
    raws = [
        world.entrance.log(EventKind.RELAY_PULSE, subject=f"e{world.worker}"),
        world.entrance.log(EventKind.FORCED_OPEN, minutes=1),
        world.entrance.log(EventKind.LOW_BATTERY, minutes=2, reason="battery=9"),
    ]
    home = [world.home.log(EventKind.UNLOCKED, subject=f"e{world.worker}")]
    upload(world, doors=[(world.entrance, raws), (world.home, home)])
    expected_entrance = ["door.opened", "door.alarm", "work_order.created", "door.battery_low"]
    got = _types(world, ids[0])
    assert sorted(got) == sorted([*expected_entrance, "door.opened"])
    assert sorted(_types(world, ids[1])) == sorted(expected_entrance)
    upload(world, doors=[(world.entrance, raws), (world.home, home)])  # the same again
    assert len(_types(world, ids[0])) == len(got)
