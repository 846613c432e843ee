"""A server killed in the middle of an event upload leaves nothing half-written (issue 14).

A real server (uvicorn in a subprocess) on a real database, SQLite file or PostgreSQL; a
logged-in phone uploads 4 doors x 1,000 signed events in one request; the server gets SIGKILL
while the request runs. Then either all four doors have their events and their
``last_event_seq``, or none has anything. Before SQLite requests were one transaction, a
savepoint's RELEASE committed each door on its own: door 1 kept its rows (with
``last_event_seq`` still 0), doors 2-4 had none.

No hook in the product says "now in the request": a first upload, not killed, measures how long
one takes, and the kills come at fractions of that; the test insists that at least one kill hit
a request in flight (the client got no answer).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.keyservice.app_session import issue_session_token
from carekey.protocol.events import EventChain, EventKind
from carekey.protocol.keys import DoorKey
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from tests.store.factories import door, make_world

SECRET = "kill-mid-upload-secret-0123456789abcdef"
DOORS = 4
EVENTS_PER_DOOR = 1_000
KILL_FRACTIONS = (0.3, 0.55, 0.8)  # of a measured upload's duration
STARTUP_LIMIT_S = 120.0  # how long the server may take to answer /healthz (a wait, not a check)
PG_URL = os.environ.get(
    "CAREKEY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Fleet:
    """The uploading phone's token and, per attempt, its four doors with their signed events."""

    token: str
    attempts: list[list[tuple[int, str, list[str]]]] = field(default_factory=list)


def _database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'carekey.db'}"
        return
    try:
        admin = create_db_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means "no PostgreSQL here"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL not reachable at {PG_URL} (CI=true requires it)")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}")
    name = f"carekey_kill_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own (a PostgreSQL one is dropped after the test)."""
    urls = _database(backend, tmp_path)
    url = next(urls)
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    next(urls, None)


def _events(serial: str, key: DoorKey, start: dt.datetime) -> list[str]:
    chain = EventChain(serial.encode())
    kinds = (EventKind.UNLOCKED, EventKind.LOCKED)
    out = []
    for i in range(EVENTS_PER_DOOR):
        signed, chain = chain.append(
            key, kind=kinds[i % 2], time=start + dt.timedelta(seconds=i), subject=None
        )
        out.append(base64.b64encode(signed.raw).decode())
    return out


def _fleet(engine: Engine, attempts: int) -> Fleet:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with Session(engine) as session, session.begin():
        world = make_world(session)
        worker = m.Employee(
            municipality_id=world.municipality.id,
            employee_number="K0001",
            full_name="Karin Kvist",
            roles=[m.EmployeeRole(role=e.Role.CARE_WORKER)],
        )
        session.add(worker)
        session.flush()
        phone = m.Phone(
            municipality_id=world.municipality.id,
            employee_id=worker.id,
            label="KK-TLF-KILL",
            public_key=b"\x02" + bytes(32),
        )
        session.add(phone)
        session.flush()
        fleet = Fleet(issue_session_token(worker, phone, start + dt.timedelta(days=1), SECRET))
        for _ in range(attempts):
            doors = []
            for _ in range(DOORS):
                row = door(
                    session,
                    world.municipality,
                    e.DoorKind.ENTRANCE_CONTROLLER,
                    entrance_id=world.entrance.id,
                )
                key = DoorKey.generate()
                row.public_key = key.public.key.raw
                doors.append((row.id, row.serial, _events(row.serial, key, start)))
            fleet.attempts.append(doors)
    return fleet


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "CAREKEY_DATABASE_URL": url,
        "CAREKEY_SECRET_KEY": SECRET,
        "CAREKEY_ENVIRONMENT": "test",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "carekey.server.app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.kill()
    server.wait()
    pytest.fail("the server did not start")


def _body(doors: list[tuple[int, str, list[str]]]) -> dict[str, Any]:
    return {"doors": [{"door_id": serial, "events": events} for _, serial, events in doors]}


def _stored(engine: Engine, doors: list[tuple[int, str, list[str]]]) -> list[tuple[int, int]]:
    """Per door: how many events are stored and its ``last_event_seq``."""
    with Session(engine) as session:
        out = []
        for door_id, _, _ in doors:
            count = session.execute(
                select(func.count())
                .select_from(m.AuditEvent)
                .where(m.AuditEvent.door_device_id == door_id)
            ).scalar_one()
            row = session.get(m.DoorDevice, door_id)
            assert row is not None
            out.append((count, row.last_event_seq))
        return out


def _upload_in_thread(
    url: str, doors: list[tuple[int, str, list[str]]], headers: dict[str, str]
) -> tuple[threading.Thread, list[object]]:
    """The upload, started in a thread; its answer (or transport error) lands in the list."""
    outcome: list[object] = []

    def upload() -> None:
        try:
            outcome.append(httpx.post(url, json=_body(doors), headers=headers, timeout=60))
        except httpx.TransportError as exc:
            outcome.append(exc)

    client = threading.Thread(target=upload)
    client.start()
    return client, outcome


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_killed_upload_is_all_or_nothing(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        fleet = _fleet(engine, 1 + len(KILL_FRACTIONS))
        headers = {"Authorization": f"Bearer {fleet.token}"}
        everything = [(EVENTS_PER_DOOR, EVENTS_PER_DOOR)] * DOORS
        nothing = [(0, 0)] * DOORS

        # The first upload runs to its end: it stores everything, and says how long it takes.
        server, base = _start_server(database_url)
        try:
            began = time.monotonic()
            answer = httpx.post(
                f"{base}/api/v1/app/events",
                json=_body(fleet.attempts[0]),
                headers=headers,
                timeout=60,
            )
            duration = time.monotonic() - began
        finally:
            server.kill()
            server.wait()
        assert answer.status_code == 200, answer.text
        assert _stored(engine, fleet.attempts[0]) == everything

        killed_in_flight = 0
        for fraction, doors in zip(KILL_FRACTIONS, fleet.attempts[1:], strict=True):
            server, base = _start_server(database_url)
            client, outcome = _upload_in_thread(f"{base}/api/v1/app/events", doors, headers)
            time.sleep(duration * fraction)
            server.send_signal(signal.SIGKILL)
            server.wait()
            client.join()
            if isinstance(outcome[0], httpx.TransportError):
                killed_in_flight += 1
            stored = _stored(engine, doors)
            assert stored in (everything, nothing), f"killed at {fraction:.0%}: {stored}"
            if isinstance(outcome[0], httpx.Response) and outcome[0].status_code == 200:
                assert stored == everything  # an acknowledged upload is never lost
        assert killed_in_flight, "every upload finished before its kill; nothing was tested"
    finally:
        engine.dispose()
