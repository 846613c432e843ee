"""The fleet of simulated online controllers: built reproducibly, connected to the real
Mosquitto, each door answering a broadcast denylist with its own signed response."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import time
import uuid

import aiomqtt
import pytest

from carekey.devices.mqtt import parse_broker_url
from carekey.protocol.denylist import DenylistEntry, issue_denylist_delta
from carekey.protocol.keys import IssuerKey
from carekey.protocol.online import (
    CommandKind,
    ReportKind,
    decode_report,
    issue_command,
    parse_door_topic,
)
from carekey.sim.online_fleet import FleetProcess, build_fleet, run_fleet
from tests import aio

URL = os.environ.get("CAREKEY_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


@pytest.fixture(scope="module")
def broker() -> str:
    where = parse_broker_url(URL)
    try:
        with socket.create_connection((where.host, where.port), timeout=2):
            pass
    except OSError as error:
        reason = f"no MQTT broker at {URL}: {type(error).__name__}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true requires Mosquitto)", pytrace=False)
        pytest.skip(reason)
    return URL


def test_build_fleet_is_reproducible() -> None:
    doors = build_fleet(3, seed=5)
    assert [d.serial for d in doors] == ["ENT-ON-000001", "ENT-ON-000002", "ENT-ON-000003"]
    assert build_fleet(3, seed=5) == doors
    assert len({d.public_key for d in doors}) == 3
    assert doors[0].door_id == b"ENT-ON-000001"


def test_every_door_of_the_fleet_answers_a_broadcast(broker: str) -> None:
    issuer_key = IssuerKey.generate("101")
    doors = build_fleet(50, seed=9, serial_prefix=f"T{uuid.uuid4().hex[:8]}-")
    keys = {d.serial: d.public_key for d in doors}
    prefix = f"test/{uuid.uuid4().hex}"
    where = parse_broker_url(broker)

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        fleet = asyncio.create_task(
            run_fleet(
                doors,
                url=broker,
                prefix=prefix,
                issuer="101",
                issuer_keys=[issuer_key.public],
                stop=stop,
                ready=ready,
            )
        )
        answered: set[str] = set()
        async with aiomqtt.Client(where.host, where.port) as server:
            await server.subscribe(f"{prefix}/+/door/+/resp", qos=1)
            await asyncio.wait_for(ready.wait(), 30)
            now = dt.datetime.now(dt.UTC)
            delta = issue_denylist_delta(
                issuer_key=issuer_key,
                base_version=0,
                version=1,
                added=[DenylistEntry.for_subject("gone", now + dt.timedelta(days=1))],
                now=now,
            )
            command = issue_command(issuer_key, kind=CommandKind.DENYLIST, now=now, body=[delta])
            await server.publish(f"{prefix}/101/denylist", command, qos=1, retain=True)
            deadline = time.monotonic() + 20
            async for message in server.messages:
                parsed = parse_door_topic(prefix, message.topic.value)
                assert parsed is not None
                serial = parsed[1]
                assert isinstance(message.payload, bytes)
                report = decode_report(
                    message.payload, door_key=keys[serial], door_id=serial.encode()
                )
                assert (report.kind, report.result, report.denylist_version) == (
                    ReportKind.RESPONSE,
                    "ok",
                    1,
                )
                answered.add(serial)
                if len(answered) == len(doors) or time.monotonic() > deadline:
                    break
            await server.publish(f"{prefix}/101/denylist", b"", qos=1, retain=True)
        stop.set()
        stats = await asyncio.wait_for(fleet, 30)
        assert answered == set(keys)
        assert (stats.connected, stats.failed, stats.handled) == (50, 0, 50)

    aio.run(scenario())


@pytest.mark.slow
def test_the_fleet_in_two_processes_connects(broker: str) -> None:
    issuer_key = IssuerKey.generate("101")
    doors = build_fleet(300, serial_prefix=f"T{uuid.uuid4().hex[:8]}-")
    with FleetProcess(
        doors,
        url=broker,
        prefix=f"test/{uuid.uuid4().hex}",
        issuer="101",
        issuer_keys=[issuer_key.public],
        processes=2,
    ) as fleet:
        report = fleet.wait_ready(timeout=60)
    assert report.processes == 2
    assert (report.stats.doors, report.stats.connected, report.stats.failed) == (300, 300, 0)
    assert fleet.final is not None
    assert fleet.final.connections == 300
