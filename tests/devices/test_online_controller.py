"""The door side of an online controller (issue 17): commands over an in-memory bus, refusals
logged as signed events and answered, the denylist and the time pushed for real."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.online import REFUSALS_PER_MINUTE, OnlineController
from carekey.protocol.credential import DoorKind
from carekey.protocol.denylist import DenylistEntry, issue_denylist_delta, issue_denylist_pieces
from carekey.protocol.events import EventKind, verify_chain
from carekey.protocol.keys import IssuerKey
from carekey.protocol.online import (
    MAX_COMMAND_AGE,
    CommandKind,
    Report,
    ReportKind,
    decode_events,
    decode_report,
    issue_command,
    new_message_id,
)
from carekey.protocol.timetoken import issue_time_token
from carekey.sim.bus import MemoryBus
from carekey.sim.testbed import Testbed

START = dt.datetime(2026, 3, 3, 6, 30, tzinfo=dt.UTC)
SERIAL = "ENT-ON-000001"


@dataclass
class Rig:
    bed: Testbed
    door: EntranceController
    online: OnlineController
    bus: MemoryBus
    prefix: str

    def command(
        self,
        kind: CommandKind,
        body: object,
        *,
        key: IssuerKey | None = None,
        door_id: bytes | None = SERIAL.encode(),
        at: dt.datetime | None = None,
        message_id: bytes | None = None,
    ) -> bytes:
        return issue_command(
            key or self.bed.issuer_key,
            kind=kind,
            now=at or self.bed.clock.now(),
            body=body,
            door_id=door_id,
            message_id=message_id,
        )

    def send(self, payload: bytes, *, broadcast: bool = False) -> None:
        topic = self.online.topics.denylist if broadcast else self.online.topic("cmd")
        self.bus.publish(topic, payload, False)

    def reports(self, leaf: str) -> list[Report]:
        topic = self.online.topic(leaf)
        return [
            decode_report(m.payload, door_key=self.door.door_key.public, door_id=self.door.door_id)
            for m in self.bus.log
            if m.topic == topic
        ]

    def last_response(self) -> Report:
        response = self.reports("resp")[-1]
        assert response.kind is ReportKind.RESPONSE
        return response

    def events(self) -> list[bytes]:
        topic = self.online.topic("events")
        return [raw for m in self.bus.log if m.topic == topic for raw in decode_events(m.payload)]


@pytest.fixture
def rig() -> Rig:
    bed = Testbed(start=START)
    door = bed.controller(SERIAL.encode())
    bus = MemoryBus()
    prefix = f"test/{uuid.uuid4().hex}"
    online = OnlineController(door, issuer="101", serial=SERIAL, prefix=prefix, publish=bus.publish)
    for topic in online.subscriptions():
        bus.subscribe(topic, online.handle)
    online.on_connect()
    return Rig(bed, door, online, bus, prefix)


def _refusals(door: EntranceController) -> list[str | None]:
    return [e.event.reason for e in door.events if e.event.kind is EventKind.REFUSED]


def test_subscriptions_and_will(rig: Rig) -> None:
    assert rig.online.subscriptions() == [
        f"{rig.prefix}/101/door/{SERIAL}/cmd",
        f"{rig.prefix}/101/denylist",
    ]
    topic, payload = rig.online.will()
    assert topic == f"{rig.prefix}/101/door/{SERIAL}/status"
    report = decode_report(payload, door_key=rig.door.door_key.public, door_id=rig.door.door_id)
    assert report.kind is ReportKind.OFFLINE


def test_the_serial_must_be_the_door_id(rig: Rig) -> None:
    with pytest.raises(ValueError, match="is not the door id"):
        OnlineController(rig.door, issuer="101", serial="ENT-ON-2", publish=rig.bus.publish)


def test_state_reports_verify_and_their_time_strictly_increases(rig: Rig) -> None:
    rig.online.report_state()
    rig.online.report_state()
    rig.bed.clock.advance(dt.timedelta(seconds=30))
    rig.online.report_state()
    states = rig.reports("state")
    assert len(states) == 4
    assert all(r.kind is ReportKind.STATE for r in states)
    times = [r.time_ms for r in states]
    assert times == sorted(set(times))
    assert times[-1] == int(rig.bed.clock.now().timestamp() * 1000)
    last = states[-1]
    assert last.denylist_version == 0
    assert last.last_seq == rig.door.flash.chain.next_seq - 1
    assert last.flags == int(rig.door.status().flags)
    assert last.battery == 100
    assert last.firmware is not None
    assert last.firmware.startswith("carekey-door/")
    assert len({r.nonce for r in states}) == 4
    assert all(m.retain for m in rig.bus.log if m.topic == rig.online.topic("state"))
    # The will is signed with a time too, and later reports are newer.
    _, will = rig.online.will()
    rig.online.report_state()
    key = rig.door.door_key.public
    assert decode_report(will, door_key=key, door_id=rig.door.door_id).time_ms < (
        rig.reports("state")[-1].time_ms
    )


def test_a_forged_command_is_refused_logged_and_answered(rig: Rig) -> None:
    stranger = IssuerKey.generate("101")
    message_id = new_message_id()
    rig.send(rig.command(CommandKind.STATE, {}, key=stranger, message_id=message_id))
    assert _refusals(rig.door) == ["online:unknown_issuer_key"]
    response = rig.last_response()
    assert response.result == "unknown_issuer_key"
    assert response.answers == message_id  # read from the unverified command, for the answer
    assert response.denylist_version == 0
    # The refusal went out as a signed event the server's ingest verifies.
    events = rig.events()
    report = verify_chain(events, door_key=rig.door.door_key.public, door_id=rig.door.door_id)
    assert not report.bad_signatures
    assert not report.malformed
    assert report.events[-1].kind is EventKind.REFUSED
    assert report.events[-1].reason == "online:unknown_issuer_key"


def test_a_partner_key_does_not_sign_commands(rig: Rig) -> None:
    rig.send(rig.command(CommandKind.STATE, {}, key=rig.bed.partner_key))
    assert rig.last_response().result == "unknown_issuer_key"


def test_a_replayed_command_is_refused(rig: Rig) -> None:
    payload = rig.command(CommandKind.STATE, {})
    rig.send(payload)
    assert rig.last_response().result == "ok"
    rig.bed.clock.advance(dt.timedelta(seconds=20))
    rig.send(payload)
    response = rig.last_response()
    assert response.result == "command_replayed"
    assert _refusals(rig.door) == ["online:command_replayed"]
    refused = [e for e in rig.door.events if e.event.kind is EventKind.REFUSED][-1]
    assert refused.event.ref == response.answers


def test_a_stale_command_is_refused(rig: Rig) -> None:
    old = rig.bed.clock.now() - MAX_COMMAND_AGE - dt.timedelta(seconds=1)
    rig.send(rig.command(CommandKind.STATE, {}, at=old))
    assert rig.last_response().result == "stale_command"
    assert _refusals(rig.door) == ["online:stale_command"]


def test_a_command_for_another_door_is_refused(rig: Rig) -> None:
    rig.send(rig.command(CommandKind.STATE, {}, door_id=b"ENT-ON-000002"))
    assert rig.last_response().result == "wrong_door"
    assert _refusals(rig.door) == ["online:wrong_door"]


def test_messages_on_other_topics_are_ignored(rig: Rig) -> None:
    before = len(rig.bus.log)
    rig.online.handle(f"{rig.prefix}/101/door/ENT-ON-000002/cmd", b"\x00")
    assert len(rig.bus.log) == before
    assert _refusals(rig.door) == []


def test_garbage_is_refused_and_a_flood_is_rate_limited(rig: Rig) -> None:
    rig.send(b"not cose at all")
    assert _refusals(rig.door) == ["online:malformed"]
    response = rig.last_response()
    assert response.result == "malformed"
    assert response.answers is None
    for _ in range(500):
        rig.send(b"\xd2\x84flood")
    refusals = _refusals(rig.door)
    assert len(refusals) == REFUSALS_PER_MINUTE
    assert rig.online.suppressed == 501 - REFUSALS_PER_MINUTE
    assert len(rig.reports("resp")) == REFUSALS_PER_MINUTE
    # The ring still holds every other event; a new minute sums the flood up once.
    rig.bed.clock.advance(dt.timedelta(minutes=1))
    rig.send(b"more")
    limited = [e for e in rig.door.events if e.event.kind is EventKind.RATE_LIMITED]
    assert [e.event.reason for e in limited] == [f"online:suppressed={501 - REFUSALS_PER_MINUTE}"]
    assert _refusals(rig.door)[-1] == "online:malformed"
    # Phones are not locked out by what happens on the broker.
    assert rig.door.limiter.retry_after(rig.door.clock.uptime()) == 0


def test_a_pushed_delta_blocks_the_phone_at_its_next_unlock(rig: Rig) -> None:
    bed = rig.bed
    blocked = bed.phone("blocked", online=False)
    other = bed.phone("other", online=False)
    for phone in (blocked, other):
        bed.credential(phone, rig.door.door_id, kinds=[DoorKind.ENTRANCE])
    assert bed.visit(blocked, rig.door).ok
    until = bed.clock.now() + dt.timedelta(days=1)
    delta = issue_denylist_delta(
        issuer_key=bed.issuer_key,
        base_version=0,
        version=1,
        added=[DenylistEntry.for_device(blocked.device_key.public, until)],
        now=bed.clock.now(),
    )
    command = rig.command(CommandKind.DENYLIST, [delta], door_id=None)
    rig.send(command, broadcast=True)
    response = rig.last_response()
    assert (response.result, response.denylist_version) == ("ok", 1)
    assert rig.door.denylist.version == 1
    kinds = [e.event.kind for e in rig.door.events]
    assert kinds[-1] is EventKind.DENYLIST_UPDATED
    assert any(
        e.kind is EventKind.DENYLIST_UPDATED  # type: ignore[attr-defined]
        for e in _decoded(rig, rig.events())
    ), "the new version went out as a signed event"
    bed.clock.advance(dt.timedelta(seconds=10))
    refused = bed.visit(blocked, rig.door)
    assert not refused.ok
    assert refused.response.result == "denylisted"
    assert bed.visit(other, rig.door).ok
    # The same update again (another message) is a harmless no-op.
    rig.send(rig.command(CommandKind.DENYLIST, [delta], door_id=None), broadcast=True)
    assert (rig.last_response().result, rig.door.denylist.version) == ("ok", 1)
    # The retained broadcast handed out again after a reconnect is dropped quietly.
    answers = len(rig.reports("resp"))
    rig.send(command, broadcast=True)
    assert len(rig.reports("resp")) == answers
    assert "online:command_replayed" not in _refusals(rig.door)


def test_a_retained_broadcast_older_than_the_command_age_is_still_applied(rig: Rig) -> None:
    bed = rig.bed
    until = bed.clock.now() + dt.timedelta(days=1)
    delta = issue_denylist_delta(
        issuer_key=bed.issuer_key,
        base_version=0,
        version=1,
        added=[DenylistEntry.for_subject("someone", until)],
        now=bed.clock.now(),
    )
    old = bed.clock.now() - dt.timedelta(hours=1)
    rig.send(rig.command(CommandKind.DENYLIST, [delta], door_id=None, at=old), broadcast=True)
    assert rig.door.denylist.version == 1
    assert rig.last_response().result == "ok"
    # ... but not a stale command for this door on its command topic.
    rig.send(rig.command(CommandKind.DENYLIST, [delta], at=old))
    assert rig.last_response().result == "stale_command"


def _decoded(rig: Rig, raws: list[bytes]) -> list[object]:
    report = verify_chain(raws, door_key=rig.door.door_key.public, door_id=rig.door.door_id)
    return list(report.events)


def test_bad_delta_base_is_answered_then_pieces_are_taken(rig: Rig) -> None:
    bed = rig.bed
    until = bed.clock.now() + dt.timedelta(days=1)
    entries = [DenylistEntry.for_subject(f"s-{i}", until) for i in range(40)]
    delta = issue_denylist_delta(
        issuer_key=bed.issuer_key,
        base_version=4,
        version=5,
        added=entries[-1:],
        now=bed.clock.now(),
    )
    rig.send(rig.command(CommandKind.DENYLIST, [delta]))
    response = rig.last_response()
    assert (response.result, response.denylist_version) == ("bad_delta_base", 0)
    assert _refusals(rig.door) == ["online:bad_delta_base"]
    pieces = issue_denylist_pieces(
        issuer_key=bed.issuer_key, version=5, entries=entries, now=bed.clock.now(), max_entries=8
    )
    assert len(pieces) > 1
    rig.send(rig.command(CommandKind.DENYLIST, [p.data for p in pieces]))
    response = rig.last_response()
    assert (response.result, response.denylist_version) == ("ok", 5)
    assert len(rig.door.denylist) == 40
    # An older version afterwards: stale_denylist.
    old = issue_denylist_delta(
        issuer_key=bed.issuer_key, base_version=1, version=2, added=[], now=bed.clock.now()
    )
    rig.send(rig.command(CommandKind.DENYLIST, [old]))
    assert rig.last_response().result == "stale_denylist"


def test_a_time_challenge_sets_the_time(rig: Rig) -> None:
    bed = rig.bed
    bed.clock.advance(dt.timedelta(hours=1))
    rig.door.clock.set(bed.clock.now() - dt.timedelta(seconds=40))  # the crystal drifted
    rig.online.report_state()
    nonce = rig.reports("state")[-1].nonce
    assert nonce is not None
    token = issue_time_token(
        issuer_key=bed.issuer_key, now=bed.clock.now(), door_id=rig.door.door_id, nonce=nonce
    )
    rig.send(rig.command(CommandKind.TIME, token))
    assert rig.last_response().result == "ok"
    assert rig.door.clock.now() == bed.clock.now()
    time_set = rig.door.events[-1].event
    assert time_set.kind is EventKind.TIME_SET
    assert time_set.reason == "offset_ms=-40000"
    # The nonce is taken once.
    bed.clock.advance(dt.timedelta(seconds=1))
    again = issue_time_token(
        issuer_key=bed.issuer_key, now=bed.clock.now(), door_id=rig.door.door_id, nonce=nonce
    )
    rig.send(rig.command(CommandKind.TIME, again))
    assert rig.last_response().result == "wrong_nonce"


def test_a_time_token_without_the_challenge_is_refused(rig: Rig) -> None:
    token = issue_time_token(issuer_key=rig.bed.issuer_key, now=rig.bed.clock.now())
    rig.send(rig.command(CommandKind.TIME, token))
    assert rig.last_response().result == "challenge_required"


def test_a_door_without_time_takes_a_time_challenge(rig: Rig) -> None:
    rig.bed.clock.advance(dt.timedelta(hours=1))
    rig.door.power_loss()
    assert not rig.door.time_known
    rig.online.report_state()
    state = rig.reports("state")[-1]
    assert state.time_ms == 0
    assert state.nonce is not None
    token = issue_time_token(
        issuer_key=rig.bed.issuer_key,
        now=rig.bed.clock.now(),
        door_id=rig.door.door_id,
        nonce=state.nonce,
    )
    rig.send(rig.command(CommandKind.TIME, token))
    assert rig.last_response().result == "ok"
    assert rig.door.time_known


def test_read_events_publishes_a_verifiable_chain(rig: Rig) -> None:
    bed = rig.bed
    phone = bed.phone("worker")
    bed.credential(phone, rig.door.door_id, kinds=[DoorKind.ENTRANCE])
    rig.door.flash.ring_size = 600
    for _ in range(300):
        bed.clock.advance(dt.timedelta(seconds=5))
        assert bed.visit(phone, rig.door).ok
    assert rig.door.flash.chain.next_seq > 300
    first = rig.door.events[0].event.seq
    before = len(rig.bus.log)
    rig.send(rig.command(CommandKind.READ_EVENTS, {1: 0}))
    assert rig.last_response().result == "ok"
    batches = [m for m in rig.bus.log[before:] if m.topic == rig.online.topic("events")]
    assert len(batches) == 2  # 256 per message at most
    raws = [raw for m in batches for raw in decode_events(m.payload)]
    assert len(raws) == len(rig.door.events) >= 300
    report = verify_chain(raws, door_key=rig.door.door_key.public, door_id=rig.door.door_id)
    assert not report.bad_signatures
    assert not report.broken_links
    assert not report.conflicts
    assert report.events[0].seq == first
    assert report.events[-1].seq == rig.door.flash.chain.next_seq - 1


def test_new_events_are_published_after_ble_sessions(rig: Rig) -> None:
    bed = rig.bed
    phone = bed.phone("worker")
    bed.credential(phone, rig.door.door_id, kinds=[DoorKind.ENTRANCE])
    assert bed.visit(phone, rig.door).ok
    assert rig.online.publish_new_events() == 1
    assert rig.online.publish_new_events() == 0
    (event,) = _decoded(rig, rig.events())
    assert event.kind is EventKind.RELAY_PULSE  # type: ignore[attr-defined]


def test_a_malformed_body_is_refused(rig: Rig) -> None:
    rig.send(rig.command(CommandKind.READ_EVENTS, {1: "x"}))
    assert rig.last_response().result == "malformed"
    rig.send(rig.command(CommandKind.DENYLIST, []))
    assert rig.last_response().result == "malformed"
    rig.send(rig.command(CommandKind.TIME, {}))
    assert rig.last_response().result == "malformed"
    rig.send(rig.command(CommandKind.DENYLIST, [b"not signed"]))
    assert rig.last_response().result == "malformed"
    assert len(_refusals(rig.door)) == 4


def test_the_state_command_publishes_a_state_report(rig: Rig) -> None:
    states = len(rig.reports("state"))
    rig.send(rig.command(CommandKind.STATE, {}))
    assert len(rig.reports("state")) == states + 1
    assert rig.last_response().result == "ok"
