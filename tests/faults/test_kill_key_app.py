"""The key app killed at random points while it uploads (issue 14): its outbox and the server's
idempotent ingest together store every event exactly once, whatever the moment of the kill
(before the request, while the server works, after the server committed but before the app
deleted what it sent). A real server process and a real key-app process, SIGKILLed."""

from __future__ import annotations

import base64
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carekey.app.outbox import Outbox
from carekey.clock import SystemClock
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from tests.faults.test_kill_mid_upload import EVENTS_PER_DOOR, _fleet, _start_server, _stored

pytestmark = [pytest.mark.slow]

EVENTS_PER_ITEM = 50  # the app queues a door's log in pieces, as visits read it
KILLS = 6

# The key app's upload loop in its own process: drain the outbox to the server, nothing else.
_CHILD = """
import sys, httpx
from pathlib import Path
from carekey.app.outbox import Outbox
from carekey.clock import SystemClock
base, token, path = sys.argv[1:4]
def upload(body):
    answer = httpx.post(base + "/api/v1/app/events", json=body,
                        headers={"Authorization": "Bearer " + token}, timeout=60)
    answer.raise_for_status()
    return answer.json()
with Outbox(Path(path), clock=SystemClock()) as outbox:
    outbox.retry_now()
    result = outbox.drain(upload, batch=1)
    sys.exit(0 if result.remaining == 0 else 3)
"""


def _until_progress(path: Path, before: int, app: subprocess.Popen[bytes]) -> None:
    """Wait (a wait, not a check) until the app has sent something, or has ended."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and app.poll() is None:
        with Outbox(path, clock=SystemClock()) as outbox:
            if outbox.count() < before:
                return
        time.sleep(0.02)


def test_a_key_app_killed_while_uploading_loses_and_doubles_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'carekey.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    fleet = _fleet(engine, 1)
    doors = fleet.attempts[0]
    outbox_path = tmp_path / "outbox.db"
    with Outbox(outbox_path, clock=SystemClock()) as outbox:
        for _, serial, events in doors:
            raws = [base64.b64decode(raw) for raw in events]
            for i in range(0, len(raws), EVENTS_PER_ITEM):
                outbox.add_door_events(serial, raws[i : i + EVENTS_PER_ITEM])
        initial = outbox.count()
    server, base = _start_server(url)
    rng = random.Random(14)
    left: list[int] = []
    try:
        command = [sys.executable, "-c", _CHILD, base, fleet.token, str(outbox_path)]
        for _ in range(KILLS):
            before = left[-1] if left else initial
            app = subprocess.Popen(command)  # noqa: S603 - our own interpreter and script
            _until_progress(outbox_path, before, app)
            time.sleep(rng.uniform(0.0, 0.3))  # somewhere in the next requests
            app.send_signal(signal.SIGKILL)
            app.wait()
            with Outbox(outbox_path, clock=SystemClock()) as outbox:
                left.append(outbox.count())
        finished = subprocess.run(command, check=False, timeout=120)  # noqa: S603
        assert finished.returncode == 0
    finally:
        server.kill()
        server.wait()
    # The kills came in the middle: some work done, some left each time (not all before or after).
    print(f"\nkey app killed {KILLS} times; items left after each kill: {left} of {initial}")
    assert sum(1 for n in left if 0 < n < initial) >= 2, left
    with Outbox(outbox_path, clock=SystemClock()) as outbox:
        assert outbox.count() == 0
    assert _stored(engine, doors) == [(EVENTS_PER_DOOR, EVENTS_PER_DOOR)] * len(doors)
    engine.dispose()
