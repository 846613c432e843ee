"""The server side of online controllers: every report verified, replays and forgeries refused
and kept, deltas and catch-up pieces that a door accepts, doors gone silent shown offline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.access.actor import Actor
from carekey.domain import enums as e
from carekey.keyservice.issuer import active_issuer_key, create_issuer_key, keyring
from carekey.online import service
from carekey.online.service import Context
from carekey.protocol import online as wire
from carekey.protocol.denylist import DenylistState, EntryKind
from carekey.protocol.events import EventChain, EventKind
from carekey.protocol.keys import DeviceKey, DoorKey, IssuerKeyring
from carekey.protocol.session import StatusFlag
from carekey.protocol.timetoken import accept_time_token
from carekey.revocation import denylist as dl
from carekey.store import models as m
from carekey.webhooks import service as webhooks
from tests.store.factories import make_world

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
SECRET = "online-test-secret-online-test-secret"
CTX = Context(prefix="carekey/v1", secret=SECRET, offline_after=dt.timedelta(seconds=90))


@dataclass
class Fleet:
    db: Session
    municipality: m.Municipality
    door: m.DoorDevice
    key: DoorKey
    keys: IssuerKeyring

    @property
    def topics(self) -> wire.Topics:
        return wire.Topics(CTX.prefix, self.municipality.code)

    def report(
        self,
        kind: wire.ReportKind,
        *,
        at: dt.datetime = NOW,
        key: DoorKey | None = None,
        **fields: object,
    ) -> bytes:
        numbers = {
            "version": 2,
            "last_seq": 3,
            "flags": 4,
            "nonce": 6,
            "answers": 8,
            "result": 9,
            "connection": 10,
        }
        return wire.issue_report(
            key or self.key,
            door_id=self.door.serial.encode(),
            kind=kind,
            time_ms=int(at.timestamp() * 1000),
            fields={numbers[k]: v for k, v in fields.items()},
        )

    def handle(self, leaf: str, payload: bytes, at: dt.datetime = NOW) -> service.Handled:
        topic = self.topics.door(self.door.serial, leaf)
        return service.handle_message(self.db, topic=topic, payload=payload, now=at, ctx=CTX)

    def block_device(self, at: dt.datetime = NOW) -> int:
        device = DeviceKey.generate().public
        return dl.apply_changes(
            self.db,
            municipality_id=self.municipality.id,
            reason=e.DenylistReason.PHONE_BLOCKED,
            now=at,
            add=[dl.Entry(e.DenylistEntryKind.DEVICE, device.key_id, at + dt.timedelta(hours=9))],
        )

    def refusals(self) -> list[str]:
        return list(self.db.scalars(select(m.OnlineRefusal.code).order_by(m.OnlineRefusal.id)))


@pytest.fixture
def fleet(engine: Engine) -> Iterator[Fleet]:
    with Session(engine) as db:
        world = make_world(db)
        create_issuer_key(
            db,
            municipality_id=world.municipality.id,
            secret=SECRET,
            now=NOW,
            status=e.IssuerKeyStatus.ACTIVE,
        )
        key = DoorKey.generate()
        world.entrance_controller.public_key = key.public.key.raw
        db.flush()
        ring = keyring(db, municipality_id=world.municipality.id)
        yield Fleet(db, world.municipality, world.entrance_controller, key, ring)


def test_a_state_report_makes_the_door_online_with_the_version_it_signed(fleet: Fleet) -> None:
    handled = fleet.handle("state", fleet.report(wire.ReportKind.STATE, version=0, last_seq=0))
    assert handled.refused is None
    assert handled.heard is not None
    assert fleet.door.online_status == "online"
    assert fleet.door.last_heard_at == NOW
    assert service.is_online(
        fleet.door, now=NOW + dt.timedelta(seconds=89), offline_after=CTX.offline_after
    )
    assert not service.is_online(
        fleet.door, now=NOW + dt.timedelta(seconds=91), offline_after=CTX.offline_after
    )


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("forged", "bad_signature"),
        ("replayed", "report_replayed"),
        ("far_off", "report_time_off"),
        ("garbage", "malformed"),
        ("wrong_kind", "wrong_report_kind"),
    ],
)
def test_a_report_that_does_not_verify_is_refused_and_kept(
    fleet: Fleet, case: str, code: str
) -> None:
    first = fleet.report(wire.ReportKind.STATE, version=0)
    assert fleet.handle("state", first).refused is None
    heard_at = fleet.door.last_heard_at
    payload = {
        "forged": fleet.report(
            wire.ReportKind.STATE, at=NOW + dt.timedelta(seconds=5), key=DoorKey.generate()
        ),
        "replayed": first,
        "far_off": fleet.report(wire.ReportKind.STATE, at=NOW + dt.timedelta(minutes=10)),
        "garbage": b"\x00not cose",
        "wrong_kind": fleet.report(wire.ReportKind.RESPONSE, at=NOW + dt.timedelta(seconds=5)),
    }[case]
    handled = fleet.handle("state", payload, at=NOW + dt.timedelta(seconds=5))
    assert handled.refused == code
    assert handled.outgoing == []
    assert fleet.refusals() == [code]
    assert fleet.door.last_heard_at == heard_at  # nothing believed


def test_unknown_doors_and_topics_are_refused(fleet: Fleet) -> None:
    for topic in (
        f"carekey/v1/{fleet.municipality.code}/door/NOPE-1/state",
        "carekey/v1/9999/door/X/state",
        "carekey/v1/whatever",
    ):
        handled = service.handle_message(fleet.db, topic=topic, payload=b"x", now=NOW, ctx=CTX)
        assert handled.refused in {"unknown_door", "unknown_municipality", "unknown_topic"}
    assert fleet.refusals() == ["unknown_door", "unknown_municipality", "unknown_topic"]


def test_a_revocation_is_one_delta_that_every_controller_accepts(fleet: Fleet) -> None:
    version = fleet.block_device()
    [push] = service.denylist_push(
        fleet.db, municipality_id=fleet.municipality.id, version=version, now=NOW, ctx=CTX
    )
    assert push.topic == fleet.topics.denylist
    command = wire.decode_command(
        push.payload, keyring=fleet.keys, door_id=fleet.door.serial.encode(), door_now=NOW
    )
    assert command.kind is wire.CommandKind.DENYLIST
    assert command.door_id is None
    [update] = wire.denylist_body(command.body)
    state = DenylistState().apply(update, keyring=fleet.keys, now=NOW)
    assert state.version == version
    assert [kind for kind, _ in state.entries] == [EntryKind.DEVICE]


def test_a_door_behind_is_sent_the_pieces_and_its_ack_is_recorded(fleet: Fleet) -> None:
    fleet.block_device()
    version = fleet.block_device()
    handled = fleet.handle("state", fleet.report(wire.ReportKind.STATE, version=0))
    commands = [
        wire.decode_command(
            o.payload, keyring=fleet.keys, door_id=fleet.door.serial.encode(), door_now=NOW
        )
        for o in handled.outgoing
        if o.topic == fleet.topics.door(fleet.door.serial, "cmd")
    ]
    denylists = [c for c in commands if c.kind is wire.CommandKind.DENYLIST]
    assert len(denylists) == 1
    state = DenylistState()
    for update in wire.denylist_body(denylists[0].body):
        state = state.apply(update, keyring=fleet.keys, now=NOW)
    assert state.version == version
    assert len(state.entries) == 2
    ack = fleet.report(
        wire.ReportKind.RESPONSE,
        at=NOW + dt.timedelta(seconds=1),
        version=version,
        answers=denylists[0].message_id,
        result="ok",
    )
    handled = fleet.handle("resp", ack, at=NOW + dt.timedelta(seconds=1))
    assert handled.outgoing == []
    assert handled.heard is not None
    assert handled.heard.denylist_version == version
    assert fleet.door.denylist_version_seen == version
    assert service.reconcile(fleet.db, now=NOW + dt.timedelta(seconds=2), ctx=CTX) == []


def test_reconcile_sends_the_pieces_to_an_online_door_still_behind(fleet: Fleet) -> None:
    assert fleet.handle("state", fleet.report(wire.ReportKind.STATE, version=0)).refused is None
    fleet.block_device()
    young = service.reconcile(fleet.db, now=NOW + dt.timedelta(seconds=5), ctx=CTX)
    assert young == []  # a delta is still on its way
    out = service.reconcile(fleet.db, now=NOW + dt.timedelta(seconds=11), ctx=CTX)
    assert [o.topic for o in out] == [fleet.topics.door(fleet.door.serial, "cmd")]


def test_a_door_that_wants_the_time_gets_a_challenge_token(fleet: Fleet) -> None:
    nonce = b"n" * wire.NONCE_BYTES
    report = fleet.report(
        wire.ReportKind.STATE, version=0, flags=int(StatusFlag.TIME_SYNC_WANTED), nonce=nonce
    )
    handled = fleet.handle("state", report)
    [time_cmd] = [
        c
        for c in (
            wire.decode_command(
                o.payload, keyring=fleet.keys, door_id=fleet.door.serial.encode(), door_now=NOW
            )
            for o in handled.outgoing
        )
        if c.kind is wire.CommandKind.TIME
    ]
    assert isinstance(time_cmd.body, bytes)
    token = accept_time_token(
        time_cmd.body,
        keyring=fleet.keys,
        door_id=fleet.door.serial.encode(),
        last_token_time=None,
        door_now=None,
        expected_nonce=nonce,
    )
    assert token.time == NOW


def test_events_on_the_broker_are_stored_and_missing_ones_asked_for(fleet: Fleet) -> None:
    chain = EventChain(fleet.door.serial.encode())
    raws = []
    for minute in range(3):
        signed, chain = chain.append(
            fleet.key, kind=EventKind.RELAY_PULSE, time=NOW + dt.timedelta(minutes=minute)
        )
        raws.append(signed.raw)
    connection = b"c" * wire.CONNECTION_ID_BYTES  # a new connection: events are asked for
    handled = fleet.handle(
        "state", fleet.report(wire.ReportKind.STATE, version=0, last_seq=3, connection=connection)
    )
    [read] = [
        c
        for c in (
            wire.decode_command(
                o.payload, keyring=fleet.keys, door_id=fleet.door.serial.encode(), door_now=NOW
            )
            for o in handled.outgoing
        )
        if c.kind is wire.CommandKind.READ_EVENTS
    ]
    assert wire.read_events_body(read.body) == 1
    assert fleet.handle("events", wire.encode_events(raws)).refused is None
    stored = fleet.db.scalar(
        select(func.count())
        .select_from(m.AuditEvent)
        .where(m.AuditEvent.door_device_id == fleet.door.id)
    )
    assert stored == 3
    forged, _ = EventChain(fleet.door.serial.encode()).append(
        DoorKey.generate(), kind=EventKind.RELAY_PULSE, time=NOW
    )
    assert fleet.handle("events", wire.encode_events([forged.raw])).refused == "bad_event_signature"


def test_a_door_gone_silent_is_shown_offline_once(fleet: Fleet) -> None:
    assert fleet.handle("state", fleet.report(wire.ReportKind.STATE, version=0)).refused is None
    assert service.sweep(fleet.db, now=NOW + dt.timedelta(seconds=60), ctx=CTX) == []
    changed = service.sweep(fleet.db, now=NOW + dt.timedelta(seconds=91), ctx=CTX)
    assert [d.id for d in changed] == [fleet.door.id]
    fleet.db.expire_all()
    assert fleet.db.get(m.DoorDevice, fleet.door.id).online_status == "offline"  # type: ignore[union-attr]
    assert service.sweep(fleet.db, now=NOW + dt.timedelta(seconds=95), ctx=CTX) == []


def test_the_last_will_shows_the_door_offline_at_once(fleet: Fleet) -> None:
    assert fleet.handle("state", fleet.report(wire.ReportKind.STATE, version=0)).refused is None
    will = fleet.report(wire.ReportKind.OFFLINE, at=NOW - dt.timedelta(minutes=1))
    assert fleet.handle("status", will).refused is None
    fleet.db.expire_all()
    assert fleet.db.get(m.DoorDevice, fleet.door.id).online_status == "offline"  # type: ignore[union-attr]
    forged = fleet.report(wire.ReportKind.OFFLINE, key=DoorKey.generate())
    assert fleet.handle("status", forged).refused == "bad_signature"


def test_the_fleet_view_counts_online_up_to_date_and_offline(fleet: Fleet) -> None:
    version = fleet.block_device()
    fleet.handle("state", fleet.report(wire.ReportKind.STATE, version=version))
    view = service.fleet_view(
        fleet.db, municipality_id=fleet.municipality.id, now=NOW, offline_after=CTX.offline_after
    )
    assert (view.online, view.up_to_date, view.offline, view.version) == (1, 1, 0, version)
    later = service.fleet_view(
        fleet.db,
        municipality_id=fleet.municipality.id,
        now=NOW + dt.timedelta(minutes=3),
        offline_after=CTX.offline_after,
    )
    assert (later.online, later.offline) == (0, 1)
    assert active_issuer_key(fleet.db, municipality_id=fleet.municipality.id, secret=SECRET)


def test_a_door_going_offline_and_online_is_told_to_webhook_subscribers(fleet: Fleet) -> None:
    admin = m.Employee(
        municipality_id=fleet.municipality.id,
        employee_number="W1",
        full_name="Webhook Admin",
        roles=[m.EmployeeRole(role=e.Role.ADMINISTRATOR)],
    )
    fleet.db.add(admin)
    fleet.db.flush()
    actor = Actor(
        employee_id=admin.id,
        municipality_id=fleet.municipality.id,
        roles=frozenset({e.Role.ADMINISTRATOR}),
        label="admin",
    )
    webhooks.create_subscription(
        fleet.db,
        actor=actor,
        url="https://hooks.example.org/doors",
        event_types=["door.online", "door.offline"],
        server_secret=SECRET,
        now=NOW,
    )
    assert fleet.handle("state", fleet.report(wire.ReportKind.STATE, version=0)).refused is None
    service.sweep(fleet.db, now=NOW + dt.timedelta(seconds=91), ctx=CTX)
    later = NOW + dt.timedelta(seconds=100)
    back = fleet.report(wire.ReportKind.STATE, at=later, version=0)
    assert fleet.handle("state", back, at=later).refused is None
    told = fleet.db.execute(
        select(m.WebhookEvent.event_type, m.WebhookEvent.resource).order_by(m.WebhookEvent.id)
    ).all()
    resource = f"door:{fleet.door.serial}"
    assert [tuple(r) for r in told] == [
        ("door.online", resource),
        ("door.offline", resource),
        ("door.online", resource),
    ]
