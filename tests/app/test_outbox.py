"""The outbox: durable before "done", retried with backoff, never lost, sent twice at worst."""

from __future__ import annotations

import base64
import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carekey.app import outbox as ob
from carekey.app.outbox import Outbox, backoff_delay
from carekey.clock import FrozenClock
from carekey.ingest import service as ingest
from carekey.ingest.schemas import UploadIn

START = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)


def event(n: int, door: str = "HL-0001") -> bytes:
    return f"signed-event-{door}-{n:05d}".encode()


class DedupServer:
    """Stands in for the idempotent ingest: stores each event / app event once, counts calls."""

    def __init__(self) -> None:
        self.events: dict[str, list[bytes]] = {}
        self.app_events: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.fail_next = 0

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("no network")
        UploadIn.model_validate(body)  # exactly what the real endpoint accepts
        new = 0
        raws = [(d["door_id"], r) for d in body["doors"] for r in d["events"]]
        raws += [(r["door_id"], r["event"]) for r in body["receipts"]]
        for door_id, raw in raws:
            stored = self.events.setdefault(door_id, [])
            if base64.b64decode(raw) not in stored:
                stored.append(base64.b64decode(raw))
                new += 1
        for app_event in body["app_events"]:
            if app_event["idempotency_key"] not in self.app_events:
                self.app_events[app_event["idempotency_key"]] = app_event
                new += 1
        return {"stored": new}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def outbox(tmp_path: Path, clock: FrozenClock) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.sqlite", clock=clock, rng=random.Random(7)) as box:
        yield box


def test_everything_added_is_committed_before_returning_and_survives_a_reopen(
    tmp_path: Path, clock: FrozenClock
) -> None:
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path, clock=clock)
    receipt_id = box.add_receipt("HL-0001", event(1))
    # Another connection (as after a crash) already sees it: committed, not pending in a
    # transaction.
    other = sqlite3.connect(path)
    try:
        assert other.execute("SELECT count(*) FROM outbox_item").fetchone() == (1,)
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        other.close()
    box.add_door_events("HL-0002", [event(1, "HL-0002"), event(2, "HL-0002")])
    key = box.add_app_event("refused", door_id="HL-0003", reason="outside_window")
    box.close()

    with Outbox(path, clock=clock) as reopened:
        assert reopened.count() == 3
        items = reopened.pending()
    assert [i.kind for i in items] == ["receipt", "door_events", "app_event"]
    assert items[0].id == receipt_id
    assert items[0].payload == {"door_id": "HL-0001", "event": base64.b64encode(event(1)).decode()}
    assert items[2].payload["idempotency_key"] == key
    assert items[2].payload["occurred_at"] == START.isoformat()
    assert all(i.created_at == START and i.attempts == 0 for i in items)


def test_synchronous_full(outbox: Outbox) -> None:
    assert outbox._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_build_upload_matches_the_server_request_model(outbox: Outbox) -> None:
    outbox.add_door_events("HL-0001", [event(1), event(2)])
    outbox.add_receipt("HL-0002", event(1, "HL-0002"))
    outbox.add_door_events("HL-0001", [event(3)])
    key = outbox.add_app_event("login")
    body = outbox.build_upload(outbox.pending())
    parsed = UploadIn.model_validate(body)
    # Batches of one door are joined in the door's order.
    assert [d.door_id for d in parsed.doors] == ["HL-0001"]
    assert [base64.b64decode(e) for e in parsed.doors[0].events] == [event(1), event(2), event(3)]
    assert [(r.door_id, base64.b64decode(r.event)) for r in parsed.receipts] == [
        ("HL-0002", event(1, "HL-0002"))
    ]
    assert [(a.idempotency_key, a.kind, a.occurred_at) for a in parsed.app_events] == [
        (key, "login", START)
    ]


def test_app_events_get_unique_short_keys_and_bad_input_is_refused(outbox: Outbox) -> None:
    keys = {outbox.add_app_event("logout") for _ in range(50)}
    assert len(keys) == 50
    assert all(0 < len(k) <= ingest.MAX_IDEMPOTENCY_KEY for k in keys)
    with pytest.raises(ValueError, match="unknown app event kind"):
        outbox.add_app_event("enrolled")  # the server would refuse the whole upload
    with pytest.raises(ValueError, match="reason"):
        outbox.add_app_event("refused", reason="x" * 65)
    with pytest.raises(ValueError, match="door_id"):
        outbox.add_receipt("", event(1))
    assert outbox.count() == 50


def test_a_doors_page_metadata_rides_with_its_events_highest_first(outbox: Outbox) -> None:
    outbox.add_door_events("HL-0001", [event(1)], first_seq=1, next_seq=2, events_dropped=0)
    outbox.add_door_events("HL-0001", [event(2)], first_seq=1, next_seq=5, events_dropped=3)
    outbox.add_door_events("HL-0002", [event(1, "HL-0002")])  # an older app: none
    body = outbox.build_upload(outbox.pending())
    parsed = UploadIn.model_validate(body)
    one, two = parsed.doors
    assert (one.first_seq, one.next_seq, one.events_dropped) == (1, 5, 3)
    assert (two.first_seq, two.next_seq, two.events_dropped) == (None, None, None)
    assert "events_dropped" not in body["doors"][1]
    with pytest.raises(ValueError, match="events_dropped"):
        outbox.add_door_events("HL-0001", [event(3)], events_dropped=-1)


def test_the_limits_agree_with_the_server() -> None:
    assert {k.value for k in ingest.AppEventKind} == ob.APP_EVENT_KINDS
    assert ob.MAX_REASON == ingest.MAX_REASON
    assert ob.MAX_EVENT_BYTES == ingest.MAX_UPLOAD_EVENT_BYTES
    assert ob.MAX_EVENTS_PER_UPLOAD == ingest.MAX_EVENTS_PER_UPLOAD
    assert ob.MAX_DOORS_PER_UPLOAD == ingest.MAX_DOORS_PER_UPLOAD
    assert ob.MAX_DOOR_COUNTER == ingest.MAX_DOOR_COUNTER
    assert ob.MAX_APP_EVENTS_PER_UPLOAD == ingest.MAX_APP_EVENTS_PER_UPLOAD


def test_backoff_doubles_from_five_seconds_up_to_fifteen_minutes_with_jitter() -> None:
    rng = random.Random(1)
    expected = [5, 10, 20, 40, 80, 160, 320, 640, 900, 900, 900]
    for attempts, base in enumerate(expected, start=1):
        delay = backoff_delay(attempts, rng).total_seconds()
        assert 0.8 * base <= delay <= base, (attempts, delay)
    assert backoff_delay(10_000, rng) <= dt.timedelta(minutes=15)
    # Seeded: the same schedule every time.
    assert [backoff_delay(3, random.Random(42)) for _ in range(2)] == [
        backoff_delay(3, random.Random(42))
    ] * 2


def test_failed_items_wait_out_the_backoff(outbox: Outbox, clock: FrozenClock) -> None:
    outbox.add_receipt("HL-0001", event(1))
    [item] = outbox.due(clock.now())
    for attempts, base in enumerate([5, 10, 20, 40], start=1):
        outbox.mark_failed([item.id], "ConnectionError: no network")
        assert outbox.due(clock.now()) == []
        assert outbox.due(clock.now() + dt.timedelta(seconds=0.8 * base - 0.001)) == []
        [again] = outbox.due(clock.now() + dt.timedelta(seconds=base))
        assert again.attempts == attempts
        clock.advance(dt.timedelta(seconds=base))


def test_drain_with_a_failing_then_working_server(outbox: Outbox, clock: FrozenClock) -> None:
    server = DedupServer()
    for n in range(3):
        outbox.add_receipt("HL-0001", event(n))
    outbox.add_app_event("login")
    server.fail_next = 1
    result = outbox.drain(server)
    assert (result.sent, result.failed, result.remaining) == (0, 4, 4)
    assert result.error == "ConnectionError: no network"
    assert isinstance(result.exception, ConnectionError)
    assert server.events == {}
    # Still backing off: a drain now does not even try.
    assert outbox.drain(server).sent == 0
    assert server.calls == 1
    clock.advance(dt.timedelta(seconds=5))
    result = outbox.drain(server)
    assert (result.sent, result.failed, result.remaining) == (4, 0, 0)
    assert result.responses == ({"stored": 4},)
    assert server.events == {"HL-0001": [event(0), event(1), event(2)]}
    assert len(server.app_events) == 1


def test_a_crash_between_upload_and_mark_sent_resends_and_loses_nothing(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "outbox.sqlite"
    server = DedupServer()
    box = Outbox(path, clock=clock)
    for n in range(10):
        box.add_receipt(f"HL-{n:04d}", event(n, f"HL-{n:04d}"))
        box.add_app_event("refused", door_id=f"HL-{n:04d}", reason="battery_empty")

    def power_cut(ids: object) -> None:
        raise SystemExit("the phone died after the server answered")

    monkeypatch.setattr(box, "mark_sent", power_cut)
    with pytest.raises(SystemExit):
        box.drain(server)
    assert server.calls == 1
    box.close()

    restarted = Outbox(path, clock=clock)
    assert restarted.count() == 20  # nothing was lost
    result = restarted.drain(server)
    restarted.close()
    assert (result.sent, result.remaining) == (20, 0)
    assert server.calls == 2  # sent twice ...
    assert result.responses == ({"stored": 0},)  # ... and stored once
    assert sum(len(v) for v in server.events.values()) == 10
    assert len(server.app_events) == 10


def test_drain_splits_into_batches_within_the_server_limits(outbox: Outbox) -> None:
    bodies: list[dict[str, Any]] = []

    def upload(body: dict[str, Any]) -> dict[str, Any]:
        UploadIn.model_validate(body)
        bodies.append(body)
        return {}

    outbox.add_door_events("HL-0001", [event(n) for n in range(6_000)])
    for _ in range(3):
        outbox.add_app_event("login")
    result = outbox.drain(upload, batch=500)
    assert (result.sent, result.remaining) == (12 + 3, 0)
    assert [sum(len(d["events"]) for d in b["doors"]) for b in bodies] == [5_000, 1_000]
    sent = [base64.b64decode(e) for b in bodies for d in b["doors"] for e in d["events"]]
    assert sent == [event(n) for n in range(6_000)]  # in the door's order

    for _ in range(7):
        outbox.add_app_event("logout")
    bodies.clear()
    assert outbox.drain(upload, batch=3).sent == 7
    assert [len(b["app_events"]) for b in bodies] == [3, 3, 1]


def test_a_door_log_is_never_uploaded_out_of_order(outbox: Outbox, clock: FrozenClock) -> None:
    [first] = outbox.add_door_events("HL-0001", [event(1)])
    outbox.mark_failed([first], "TimeoutError: ")
    [second] = outbox.add_door_events("HL-0001", [event(2)])
    other = outbox.add_receipt("HL-0002", event(1, "HL-0002"))
    assert [i.id for i in outbox.due(clock.now())] == [other]
    clock.advance(dt.timedelta(seconds=5))
    assert [i.id for i in outbox.due(clock.now())] == [first, second, other]


def test_retry_now_skips_the_backoff_when_the_network_is_back(
    outbox: Outbox, clock: FrozenClock
) -> None:
    server = DedupServer()
    outbox.add_receipt("HL-0001", event(1))
    server.fail_next = 3
    for _ in range(3):
        outbox.drain(server)
        outbox.retry_now()
    [item] = outbox.pending()
    assert item.attempts == 3
    assert outbox.retry_now() == 0  # already due
    result = outbox.drain(server)
    assert (result.sent, result.remaining) == (1, 0)
    assert server.events == {"HL-0001": [event(1)]}
