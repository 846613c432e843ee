"""Several server instances on one database and the real Mosquitto (issue 17): each door
report reaches exactly one of them (an MQTT 5 shared subscription: a report handled twice would
be refused as a replay by the second), a revocation committed in one instance reaches the doors,
and a revocation whose instance died between its commit and its publish still reaches them
through any instance's reconcile, from the database alone."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.devices.controller import EntranceController
from carekey.domain import enums as e
from carekey.keyservice.issuer import create_issuer_key, keyring
from carekey.online.bridge import OnlineBridge
from carekey.online.service import Context
from carekey.online.signals import NOTIFY_KEY
from carekey.protocol.credential import DoorKind
from carekey.protocol.keys import DeviceKey, DoorKey
from carekey.revocation import denylist as dl
from carekey.store import models as m
from carekey.store.cache import CACHE_KEY, TimedCache
from carekey.store.db import session_factory, unit_of_work
from tests.online.test_online_mqtt import Online
from tests.store.factories import door, make_world

SECRET = "instances-test-secret-instances-test-secret"


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@dataclass
class World:
    municipality_id: int
    code: str
    doors: list[tuple[int, str, DoorKey]]


def _world(engine: Engine, now: dt.datetime) -> World:
    with Session(engine) as db, db.begin():
        world = make_world(db)
        create_issuer_key(
            db,
            municipality_id=world.municipality.id,
            secret=SECRET,
            now=now,
            status=e.IssuerKeyStatus.ACTIVE,
        )
        gate = door(db, world.municipality, e.DoorKind.GATE_CONTROLLER, gate_id=world.gate.id)
        doors = []
        for row in (world.entrance_controller, gate):
            key = DoorKey.generate()
            row.public_key = key.public.key.raw
            doors.append((row.id, row.serial, key))
        return World(world.municipality.id, world.municipality.code, doors)


class Instances:
    """Two server instances (two bridges, one event loop in a thread of its own)."""

    def __init__(self, engine: Engine, clock: FrozenClock, url: str, prefix: str) -> None:
        ctx = Context(prefix=prefix, secret=SECRET, offline_after=dt.timedelta(seconds=90))
        self.sessions = []
        self.bridges = []
        for name in ("a", "b"):
            info: dict[str, Any] = {CACHE_KEY: TimedCache()}
            sessions = session_factory(engine, info=info)
            bridge = OnlineBridge(
                sessions=sessions, clock=clock, ctx=ctx, url=url, identifier=f"{prefix}-{name}"
            )
            info[NOTIFY_KEY] = bridge.notify
            self.sessions.append(sessions)
            self.bridges.append(bridge)
        self._loop = asyncio.new_event_loop()
        self._tasks: list[asyncio.Task[None]] = []
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._started = threading.Event()
        self._thread.start()
        assert self._started.wait(10)
        for bridge in self.bridges:
            _until(bridge.connected.is_set, "a bridge connects")

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._tasks = [asyncio.create_task(b.run()) for b in self.bridges]
            self._started.set()

        self._loop.run_until_complete(start())
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def stop(self) -> None:
        async def cancel() -> None:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(cancel(), self._loop)
        self._thread.join(20)


@pytest.fixture
def instances(
    engine: Engine, mqtt_url: str, topic_prefix: str
) -> Iterator[tuple[Instances, World, FrozenClock]]:
    clock = FrozenClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    world = _world(engine, clock.now())
    servers = Instances(engine, clock, mqtt_url, topic_prefix)
    try:
        yield servers, world, clock
    finally:
        servers.stop()


def _block(sessions: object, world: World, at: dt.datetime) -> int:
    with unit_of_work(sessions) as db:  # type: ignore[arg-type]
        return dl.apply_changes(
            db,
            municipality_id=world.municipality_id,
            reason=e.DenylistReason.PHONE_LOST,
            now=at,
            add=[
                dl.Entry(
                    e.DenylistEntryKind.DEVICE,
                    DeviceKey.generate().public.key_id,
                    at + dt.timedelta(hours=9),
                )
            ],
        )


def test_two_instances_share_the_reports_and_either_one_pushes(
    engine: Engine,
    instances: tuple[Instances, World, FrozenClock],
    mqtt_url: str,
    topic_prefix: str,
) -> None:
    servers, world, clock = instances
    with Session(engine) as db:
        ring = keyring(db, municipality_id=world.municipality_id)
    online: list[Online] = []
    try:
        for _device_id, serial, key in world.doors:
            firmware = EntranceController(
                door_id=serial.encode(),
                door_key=key,
                keyring=ring,
                clock=clock,
                kind=DoorKind.ENTRANCE,
            )
            firmware.clock.set(clock.now())
            firmware.flash.last_token_time = clock.now()
            online.append(Online(firmware, url=mqtt_url, prefix=topic_prefix, code=world.code))

        def heard(count: int) -> bool:
            return sum(b.handled for b in servers.bridges) >= count

        _until(lambda: heard(20), "twenty reports, heartbeats included")
        a, b = servers.bridges
        # Shared out, and none handled twice (a second handling would be a refused replay).
        assert a.handled > 0
        assert b.handled > 0
        assert a.refused == 0
        assert b.refused == 0

        # A block committed in instance A: A publishes it after the commit.
        version = _block(servers.sessions[0], world, clock.now())
        for door_online in online:
            _until(
                partial(_holds, door_online, version),
                "the delta reaches every controller",
            )

        # A block whose instance died after its commit and before its publish (a session with
        # no bridge behind it): any instance brings it to the doors from the database alone:
        # the door's next state report shows it behind (here within a second), and the
        # reconcile sends the pieces to any online door still behind after the grace.
        lost = _block(session_factory(engine), world, clock.now())
        clock.advance(dt.timedelta(seconds=11))
        for door_online in online:
            _until(
                partial(_holds, door_online, lost),
                "the reconcile brings the lost version",
            )
        _until(
            lambda: all(v >= lost for v in _seen(engine, world).values()),
            "the acknowledgements are recorded",
        )
    finally:
        for door_online in online:
            door_online.stop()


def _seen(engine: Engine, world: World) -> dict[int, int]:
    with Session(engine) as db:
        return {
            device_id: (db.get(m.DoorDevice, device_id) or m.DoorDevice()).denylist_version_seen
            for device_id, _, _ in world.doors
        }


def _holds(door_online: Online, version: int) -> bool:
    return door_online.controller.firmware.denylist.version >= version
