"""The dispatcher against a real HTTP receiver on 127.0.0.1, driven by a test clock: a receiver
down for an hour gets every event afterwards, in order per resource, each once after dedup by
``webhook-id``; the retry schedule; head-of-line order per resource; replay; rotation."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.config import Settings
from carekey.store import models as m
from carekey.webhooks import dispatch, targets
from carekey.webhooks import service as webhooks
from carekey.webhooks.service import WebhookEventType as T
from tests.webhooks.helpers import SECRET, T0, Clock, Receiver, make_tenants, running, sessions_of

RESOURCES = ("door:ENT-000001", "door:ENT-000002", "door:HOME-000003")


def _subscribe(engine: Engine, tenants_admin: object, url: str, **options: object) -> str:
    with Session(engine) as db, db.begin():
        _sub, new = webhooks.create_subscription(
            db,
            actor=tenants_admin,  # type: ignore[arg-type]
            url=url,
            event_types=[],
            server_secret=SECRET,
            now=T0,
            **options,  # type: ignore[arg-type]
        )
        return new.secret


def _emit(engine: Engine, municipality: int, resource: str, n: int, now: dt.datetime) -> str:
    with Session(engine) as db, db.begin():
        event = webhooks.emit(
            db,
            municipality_id=municipality,
            event_type=T.DOOR_OPENED,
            resource=resource,
            data={"serial": resource.removeprefix("door:"), "n": n},
            now=now,
        )
        assert event is not None
        return event.msg_id


def _drive(engine: Engine, clock: Clock, client: httpx.Client, *, until: dt.datetime) -> None:
    sessions = sessions_of(engine)
    while clock.now() < until:
        dispatch.deliver_due(
            sessions, now=clock.now(), client=client, server_secret=SECRET, rng=random.Random(1)
        )
        clock.advance(seconds=30)


def test_a_receiver_down_for_an_hour_gets_everything_in_order_once(engine: Engine) -> None:
    tenants = make_tenants(engine)
    clock = Clock()
    receiver = Receiver(keys=[], clock=clock)
    flaky: dict[str, int] = {}

    def answer(msg_id: str) -> int:
        if clock.now() < T0 + dt.timedelta(hours=1):
            return 503  # down: nothing processed
        if msg_id == duplicate_of and flaky.setdefault(msg_id, 0) == 0:
            flaky[msg_id] = 1
            return 500  # processed, but answered badly: it comes again, and is deduped
        return 200

    receiver.answer = answer
    with running(receiver), httpx.Client(timeout=5) as client:
        receiver.keys.append(_subscribe(engine, tenants.admin, receiver.url))
        rng = random.Random(17)
        emitted: dict[str, list[str]] = defaultdict(list)
        order: list[str] = []
        for n in range(24):
            clock.current = T0 + dt.timedelta(minutes=2.5 * n)
            resource = rng.choice(RESOURCES)
            msg_id = _emit(engine, tenants.municipality, resource, n, clock.now())
            emitted[resource].append(msg_id)
            order.append(msg_id)
            dispatch.deliver_due(
                sessions_of(engine), now=clock.now(), client=client, server_secret=SECRET
            )
        duplicate_of = order[-1]
        _drive(engine, clock, client, until=T0 + dt.timedelta(hours=4))

    assert not receiver.bad
    assert any(r.answered == 503 for r in receiver.log)
    kept = receiver.processed()
    assert {r.msg_id for r in kept} == set(order)
    assert len(kept) == len(order)
    got: dict[str, list[str]] = defaultdict(list)
    for r in kept:
        got[f"door:{r.body['data']['serial']}"].append(r.msg_id)
    assert got == emitted  # in order per resource
    # The forced duplicate: received twice, kept once.
    assert sum(1 for r in receiver.log if r.msg_id == duplicate_of and r.answered != 503) == 2
    with Session(engine) as db:
        statuses = set(db.execute(select(m.WebhookDelivery.status)).scalars())
        attempts = db.execute(select(m.WebhookAttempt)).scalars().all()
    assert statuses == {"delivered"}
    assert len(attempts) == len(receiver.log)


def test_head_of_line_per_resource_other_resources_go_on(engine: Engine) -> None:
    tenants = make_tenants(engine)
    clock = Clock()
    receiver = Receiver(keys=[], clock=clock)
    blocked = "door:ENT-000001"
    down: set[str] = set()

    def answer(msg_id: str) -> int:
        return 503 if msg_id in down else 200

    receiver.answer = answer
    with running(receiver), httpx.Client(timeout=5) as client:
        receiver.keys.append(_subscribe(engine, tenants.admin, receiver.url))
        first = _emit(engine, tenants.municipality, blocked, 0, clock.now())
        second = _emit(engine, tenants.municipality, blocked, 1, clock.now())
        other = _emit(engine, tenants.municipality, "door:ENT-000002", 2, clock.now())
        down.add(first)
        sessions = sessions_of(engine)
        dispatch.deliver_due(sessions, now=clock.now(), client=client, server_secret=SECRET)
        sent = [r.msg_id for r in receiver.log]
        assert sent == [first, other] or sent == [other, first]  # never ``second``
        clock.advance(seconds=10)
        dispatch.deliver_due(sessions, now=clock.now(), client=client, server_secret=SECRET)
        assert second not in [r.msg_id for r in receiver.log]
        down.clear()
        clock.advance(minutes=5)
        dispatch.deliver_due(sessions, now=clock.now(), client=client, server_secret=SECRET)
        # The head succeeded, so the next one of the resource went at once, in the same call.
        assert [r.msg_id for r in receiver.log if r.answered == 200][-2:] == [first, second]


def test_the_retry_schedule_then_failed_then_replay_keeps_the_id(engine: Engine) -> None:
    tenants = make_tenants(engine)
    clock = Clock()
    receiver = Receiver(keys=[], clock=clock)
    receiver.answer = lambda _msg_id: 500
    with running(receiver), httpx.Client(timeout=5) as client:
        receiver.keys.append(_subscribe(engine, tenants.admin, receiver.url))
        msg_id = _emit(engine, tenants.municipality, RESOURCES[0], 0, clock.now())
        sessions = sessions_of(engine)
        waits: list[dt.timedelta] = []
        for _ in range(40):
            dispatch.deliver_due(
                sessions,
                now=clock.now(),
                client=client,
                server_secret=SECRET,
                rng=random.Random(3),
            )
            with Session(engine) as db:
                d = db.execute(select(m.WebhookDelivery)).scalar_one()
            if d.status == "failed":
                break
            assert d.next_attempt_at is not None
            waits.append(d.next_attempt_at - clock.now())
            clock.current = d.next_attempt_at
        assert d.status == "failed"
        assert d.attempts == len(dispatch.SCHEDULE) + 1
        for wait, base in zip(waits, dispatch.SCHEDULE, strict=True):
            assert base * 0.9 <= wait <= base * 1.1
        total = sum(dispatch.SCHEDULE, dt.timedelta())
        assert dt.timedelta(days=3) < total < dt.timedelta(days=4)
        # Replay: the same webhook-id again, and now it gets through.
        receiver.answer = lambda _msg_id: 200
        with Session(engine) as db, db.begin():
            again = webhooks.replay(db, actor=tenants.admin, delivery_id=d.id, now=clock.now())
            assert again.status == "pending"
            actions = db.execute(select(m.AdminAction.action)).scalars().all()
            assert "webhook.replayed" in actions
        dispatch.deliver_due(sessions, now=clock.now(), client=client, server_secret=SECRET)
        assert receiver.log[-1].msg_id == msg_id
        assert receiver.log[-1].answered == 200
        assert len({r.msg_id for r in receiver.log}) == 1


def test_retry_delay_bounds() -> None:
    assert dispatch.retry_delay(0) is None
    assert dispatch.retry_delay(len(dispatch.SCHEDULE) + 1) is None
    delay = dispatch.retry_delay(1)
    assert delay is not None
    assert dt.timedelta(seconds=4.5) <= delay <= dt.timedelta(seconds=5.5)


def test_a_rotation_signs_with_both_for_24_hours(engine: Engine) -> None:
    tenants = make_tenants(engine)
    clock = Clock()
    old_only = Receiver(keys=[], clock=clock)
    with running(old_only), httpx.Client(timeout=5) as client:
        old = _subscribe(engine, tenants.admin, old_only.url)
        old_only.keys.append(old)
        with Session(engine) as db, db.begin():
            sub = db.execute(select(m.WebhookSubscription)).scalar_one()
            new = webhooks.rotate_secret(
                db, actor=tenants.admin, subscription_id=sub.id, server_secret=SECRET, now=T0
            )
        sessions = sessions_of(engine)
        _emit(engine, tenants.municipality, RESOURCES[0], 0, clock.now())
        dispatch.deliver_due(sessions, now=clock.now(), client=client, server_secret=SECRET)
        assert old_only.log[-1].answered == 200
        assert len(old_only.log[-1].signatures) == 2
        # The new secret alone verifies as well.
        old_only.keys[:] = [new.secret]
        clock.advance(hours=1)
        _emit(engine, tenants.municipality, RESOURCES[0], 1, clock.now())
        dispatch.deliver_due(sessions, now=clock.now(), client=client, server_secret=SECRET)
        assert old_only.log[-1].answered == 200
        assert not old_only.bad
        # After 24 hours only the new one signs.
        clock.advance(hours=24)
        _emit(engine, tenants.municipality, RESOURCES[0], 2, clock.now())
        dispatch.deliver_due(sessions, now=clock.now(), client=client, server_secret=SECRET)
        assert len(old_only.log[-1].signatures) == 1


def test_ed25519_subscriptions_sign_v1a(engine: Engine) -> None:
    tenants = make_tenants(engine)
    clock = Clock()
    receiver = Receiver(keys=[], clock=clock)
    with running(receiver), httpx.Client(timeout=5) as client:
        with Session(engine) as db, db.begin():
            _sub, new = webhooks.create_subscription(
                db,
                actor=tenants.admin,
                url=receiver.url,
                event_types=[],
                server_secret=SECRET,
                now=T0,
                kind="ed25519",
            )
        assert new.public_key is not None
        receiver.keys.append(new.public_key)
        _emit(engine, tenants.municipality, RESOURCES[0], 0, clock.now())
        dispatch.deliver_due(
            sessions_of(engine), now=clock.now(), client=client, server_secret=SECRET
        )
    assert receiver.log[-1].answered == 200
    assert receiver.log[-1].signatures[0].startswith("v1a,")


def test_an_unreachable_receiver_is_retried_with_the_error_logged(engine: Engine) -> None:
    tenants = make_tenants(engine)
    _subscribe(engine, tenants.admin, "http://127.0.0.1:9/nothing-listens")
    _emit(engine, tenants.municipality, RESOURCES[0], 0, T0)
    with httpx.Client(timeout=2) as client:
        n = dispatch.deliver_due(sessions_of(engine), now=T0, client=client, server_secret=SECRET)
    assert n == 1
    with Session(engine) as db:
        d = db.execute(select(m.WebhookDelivery)).scalar_one()
        attempt = db.execute(select(m.WebhookAttempt)).scalar_one()
    assert d.status == "pending"
    assert d.attempts == 1
    assert d.last_status_code is None
    assert d.last_error
    assert attempt.error == d.last_error


@pytest.mark.parametrize("enabled", [True, False])
def test_the_server_lifespan_starts_and_stops_the_dispatcher(engine: Engine, enabled: bool) -> None:
    from fastapi.testclient import TestClient

    from carekey.clock import FrozenClock
    from carekey.config import Settings
    from carekey.server.app import create_app

    tenants = make_tenants(engine)
    clock = Clock()
    receiver = Receiver(keys=[], clock=clock)
    with running(receiver):
        receiver.keys.append(_subscribe(engine, tenants.admin, receiver.url))
        _emit(engine, tenants.municipality, RESOURCES[0], 0, T0)
        settings = Settings(secret_key=SECRET, webhooks_enabled=enabled)  # type: ignore[arg-type]
        app = create_app(settings, engine=engine, clock=FrozenClock(T0))
        import time

        with TestClient(app):
            deadline = time.monotonic() + 5
            while enabled and not receiver.log and time.monotonic() < deadline:
                time.sleep(0.05)
    assert bool(receiver.log) is enabled


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.org/in", "https_required"),
        ("https://127.0.0.1:5432/", "private_target"),
        ("https://localhost/in", "private_target"),
        ("https://10.1.2.3/in", "private_target"),
        ("https://169.254.169.254/latest/meta-data", "private_target"),
        ("https://[::1]/in", "private_target"),
        ("https://no-such-host.invalid/in", "unresolvable_target"),
    ],
)
def test_production_refuses_targets_inside_the_network(url: str, code: str) -> None:
    assert targets.refusal(url) == code


def test_production_delivers_nothing_to_a_private_address(engine: Engine) -> None:
    """A subscription pointing at the server's own network (an SSRF attempt) gets a failed,
    logged attempt and no request, while development (``private_ok``) delivers to loopback."""
    tenants = make_tenants(engine)
    receiver = Receiver(keys=[], clock=Clock())
    with running(receiver) as live:
        _subscribe(engine, tenants.admin, live.url)
        _emit(engine, tenants.municipality, RESOURCES[0], 0, T0)
        with httpx.Client(timeout=2) as client:
            dispatch.deliver_due(
                sessions_of(engine), now=T0, client=client, server_secret=SECRET, private_ok=False
            )
        assert live.log == []
        with Session(engine) as db:
            attempt = db.execute(select(m.WebhookAttempt)).scalar_one()
        assert attempt.error in {"https_required", "private_target"}
        settings = Settings(environment="production", secret_key="x" * 40)  # type: ignore[arg-type]
        assert not settings.webhooks_private_targets_ok
        assert Settings().webhooks_private_targets_ok
