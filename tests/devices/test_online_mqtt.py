"""An online controller against the real Mosquitto (``CAREKEY_TEST_MQTT_URL``, default
``mqtt://127.0.0.1:1883``): it takes a command published by the server side, answers it, and the
broker publishes its signed last will when the connection dies.

Without a broker the tests are skipped, except under ``CI=true``, where they fail."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

import aiomqtt
import pytest

from carekey.clock import SystemClock
from carekey.devices.controller import EntranceController
from carekey.devices.mqtt import MqttRunner, parse_broker_url
from carekey.devices.online import OnlineController
from carekey.protocol.denylist import DenylistEntry, issue_denylist_delta
from carekey.protocol.events import EventKind, decode_event
from carekey.protocol.keys import DoorKey, IssuerKey, IssuerKeyring
from carekey.protocol.online import (
    CommandKind,
    Report,
    ReportKind,
    decode_events,
    decode_report,
    issue_command,
    new_message_id,
)
from tests import aio

URL = os.environ.get("CAREKEY_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
SERIAL = "ENT-ON-000001"


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def broker() -> str:
    where = parse_broker_url(URL)
    try:
        with socket.create_connection((where.host, where.port), timeout=2):
            pass
    except OSError as error:
        reason = f"no MQTT broker at {URL}: {type(error).__name__}"
        if _under_ci():
            pytest.fail(f"{reason} (CI=true requires Mosquitto)", pytrace=False)
        pytest.skip(reason)
    return URL


def test_parse_broker_url() -> None:
    assert parse_broker_url("mqtt://broker") == parse_broker_url("mqtt://broker:1883")
    secure = parse_broker_url("mqtts://broker.example")
    assert (secure.port, secure.tls) == (8883, True)
    with pytest.raises(ValueError, match="not an MQTT broker URL"):
        parse_broker_url("http://broker")


class World:
    def __init__(self) -> None:
        self.issuer_key = IssuerKey.generate("101")
        self.door = EntranceController(
            door_id=SERIAL.encode(),
            door_key=DoorKey.generate(),
            keyring=IssuerKeyring.of([self.issuer_key.public]),
            clock=SystemClock(),
        )
        now = dt.datetime.now(dt.UTC)
        self.door.clock.set(now)
        self.door.flash.last_token_time = now
        self.prefix = f"test/{uuid.uuid4().hex}"
        self.online = OnlineController(
            self.door, issuer="101", serial=SERIAL, prefix=self.prefix, publish=_unused
        )

    def report(self, payload: bytes) -> Report:
        return decode_report(payload, door_key=self.door.door_key.public, door_id=SERIAL.encode())


def _unused(topic: str, payload: bytes, retain: bool) -> None:
    raise AssertionError("the runner replaces publish")


async def _until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def _with_runner(
    world: World,
    url: str,
    body: Callable[[MqttRunner, aiomqtt.Client, asyncio.Queue[aiomqtt.Message]], Awaitable[None]],
    *,
    keepalive_s: int = 30,
) -> None:
    runner = MqttRunner(
        world.online,
        url=url,
        keepalive_s=keepalive_s,
        heartbeat_s=3600,
        client_id=f"door-{uuid.uuid4().hex}",
    )
    where = parse_broker_url(url)
    stop = asyncio.Event()
    async with aiomqtt.Client(where.host, where.port, identifier=f"srv-{uuid.uuid4().hex}") as srv:
        await srv.subscribe(f"{world.prefix}/+/door/+/#", qos=1)
        inbox: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()

        async def collect() -> None:
            async for message in srv.messages:
                inbox.put_nowait(message)

        collector = asyncio.create_task(collect())
        task = asyncio.create_task(runner.run(stop))
        try:
            await _until(lambda: runner.connected, 10)
            await body(runner, srv, inbox)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)


async def _next(inbox: asyncio.Queue[aiomqtt.Message], leaf: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no message on {leaf}")
        message = await asyncio.wait_for(inbox.get(), left)
        if message.topic.value.endswith("/" + leaf):
            assert isinstance(message.payload, bytes)
            return message.payload


def test_the_runner_takes_a_command_and_answers(broker: str) -> None:
    world = World()

    async def body(
        runner: MqttRunner, srv: aiomqtt.Client, inbox: asyncio.Queue[aiomqtt.Message]
    ) -> None:
        state = world.report(await _next(inbox, "state", 5))
        assert state.kind is ReportKind.STATE
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        delta = issue_denylist_delta(
            issuer_key=world.issuer_key,
            base_version=0,
            version=1,
            added=[DenylistEntry.for_subject("fired", until)],
            now=dt.datetime.now(dt.UTC),
        )
        message_id = new_message_id()
        command = issue_command(
            world.issuer_key,
            kind=CommandKind.DENYLIST,
            now=dt.datetime.now(dt.UTC),
            body=[delta],
            door_id=SERIAL.encode(),
            message_id=message_id,
        )
        sent = time.monotonic()
        await srv.publish(world.online.topic("cmd"), command, qos=1)
        response = world.report(await _next(inbox, "resp", 5))
        assert time.monotonic() - sent < 2
        assert (response.kind, response.result, response.answers) == (
            ReportKind.RESPONSE,
            "ok",
            message_id,
        )
        assert response.denylist_version == 1
        assert world.door.denylist.version == 1
        # The DENYLIST_UPDATED event follows on the events topic.
        await _next(inbox, "events", 5)
        assert response.time_ms > state.time_ms

    aio.run(_with_runner(world, broker, body))


def test_an_abrupt_end_makes_the_broker_publish_the_signed_will(broker: str) -> None:
    world = World()
    keepalive = 4

    async def body(
        runner: MqttRunner, srv: aiomqtt.Client, inbox: asyncio.Queue[aiomqtt.Message]
    ) -> None:
        await _next(inbox, "state", 5)
        cut = time.monotonic()
        runner.abort()
        will = world.report(await _next(inbox, "status", keepalive * 1.5))
        assert time.monotonic() - cut <= keepalive * 1.5
        assert will.kind is ReportKind.OFFLINE

    aio.run(_with_runner(world, broker, body, keepalive_s=keepalive))


def test_a_clean_stop_publishes_offline_itself(broker: str) -> None:
    world = World()
    where = parse_broker_url(broker)

    async def scenario() -> None:
        runner = MqttRunner(world.online, url=broker, client_id=f"door-{uuid.uuid4().hex}")
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        await _until(lambda: runner.connected, 10)
        stop.set()
        await asyncio.wait_for(task, 10)
        # The OFFLINE report is retained on the status topic.
        async with aiomqtt.Client(where.host, where.port) as late:
            await late.subscribe(world.online.topic("status"), qos=1)
            message = await asyncio.wait_for(anext(aiter(late.messages)), 5)
            assert isinstance(message.payload, bytes)
            assert world.report(message.payload).kind is ReportKind.OFFLINE
            await late.publish(world.online.topic("status"), b"", retain=True)

    aio.run(scenario())


def test_the_runner_reconnects_after_the_connection_breaks(broker: str) -> None:
    world = World()

    async def body(
        runner: MqttRunner, srv: aiomqtt.Client, inbox: asyncio.Queue[aiomqtt.Message]
    ) -> None:
        await _next(inbox, "state", 5)
        client = runner._client
        assert client is not None
        sock = client._client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)  # the network breaks; the runner is not told
        await _next(inbox, "status", 5)  # the will
        state = world.report(await _next(inbox, "state", 10))  # connected again
        assert state.kind is ReportKind.STATE
        await _until(lambda: runner.connections == 2, 5)
        command = issue_command(
            world.issuer_key,
            kind=CommandKind.STATE,
            now=dt.datetime.now(dt.UTC),
            body={},
            door_id=SERIAL.encode(),
        )
        await srv.publish(world.online.topic("cmd"), command, qos=1)
        assert world.report(await _next(inbox, "resp", 5)).result == "ok"

    aio.run(_with_runner(world, broker, body))


def test_events_the_door_logs_on_its_own_go_out_promptly(broker: str) -> None:
    world = World()

    async def body(
        runner: MqttRunner, srv: aiomqtt.Client, inbox: asyncio.Queue[aiomqtt.Message]
    ) -> None:
        await _next(inbox, "state", 5)
        world.door.power_loss()  # logs POWER_RESTORED, outside any command
        batch = decode_events(await _next(inbox, "events", 3))
        (event,) = [decode_event(raw, door_key=world.door.door_key.public) for raw in batch]
        assert event.event.kind is EventKind.POWER_RESTORED

    aio.run(_with_runner(world, broker, body))
