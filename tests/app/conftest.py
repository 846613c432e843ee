"""A phone with the real key app, a small fake key service and simulated doors on one bench."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from carekey.app.service import KeyApp
from carekey.app.wallet import Argon2Params
from carekey.link.transport import Transport
from carekey.sim.testbed import Testbed
from tests.app.fake_server import FakeServer

START = dt.datetime(2026, 11, 26, 6, 45, tzinfo=dt.UTC)
CODE = "2468"
DOORS = ["HL-000001", "HL-000002", "HL-000003"]


@dataclass
class World:
    """The bench, the fake server and the phone's data directory."""

    bed: Testbed
    server: FakeServer
    path: Path
    connects: Counter[str] = field(default_factory=Counter)

    def transport(self, door_id: str) -> Transport:
        self.connects[door_id] += 1  # the door sees a connection, and so a request
        return self.bed.links[door_id.encode()].connect()

    def start(self) -> KeyApp:
        """A fresh run of the app on the phone."""
        return KeyApp(
            self.path,
            server=self.server.client(),
            clock=self.bed.clock,
            transports=self.transport,
            wallet_options={"argon2": Argon2Params(time_cost=1, memory_kib=8192)},
        )

    def advance(self, **delta: float) -> None:
        self.bed.clock.advance(dt.timedelta(**delta))

    def logged_in(self) -> KeyApp:
        app = self.start()
        app.enrol("ONE-TIME", server_url="http://server")
        app.login("E0001", "password", CODE)
        return app


def make_world(
    tmp_path: Path, *, new_server: bool = True, door_ids: list[str] | None = None
) -> World:
    bed = Testbed(start=START)
    ids = list(door_ids or DOORS)
    doors = {door_id: bed.home_lock(door_id.encode()) for door_id in ids}
    server = FakeServer(door_ids=ids, bed=bed, doors=doors, new_server=new_server)
    return World(bed, server, tmp_path / "phone")


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)
