"""The live demo: the doors it commissions open for the demo care worker's key app, over real
local sockets, and the commands it prints are the ones that work."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, String, cast, select
from sqlalchemy.orm import Session

from carekey.app.client import ServerClient
from carekey.app.service import KeyApp
from carekey.app.wallet import Argon2Params
from carekey.clock import SystemClock
from carekey.config import Settings
from carekey.link.socket import connect
from carekey.link.transport import Transport
from carekey.seed.service import seed
from carekey.server.app import create_app
from carekey.sim.demo import instructions, prepare_demo, start_demo_doors
from carekey.store import models as m

SECRET = "demo-test-secret-0123456789-0123456789"


def _free_port_block(size: int) -> int:
    """A start port whose next ``size`` ports are free right now (below the ephemeral range).

    Each pytest-xdist worker searches its own band of 1000 ports (``gw0``: 20000-20999,
    ``gw1``: 21000-21999, ...), so two workers running this test at once cannot both find
    the same block free and then collide when the doors bind it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    band = 20000 + 1000 * (int(worker) % 10 if worker.isdigit() else 0)
    for start in range(band, band + 1000 - size, 97):
        try:
            for offset in range(size):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", start + offset))
        except OSError:
            continue
        return start
    raise RuntimeError("no free ports")


def _commissioned(engine: Engine) -> list[tuple[str, str]]:
    """(door serial, who) of every door.commissioned admin action."""
    with Session(engine) as session:
        rows = session.execute(
            select(m.DoorDevice.serial, m.AdminAction.actor_label)
            .join(m.DoorDevice, m.AdminAction.target_id == cast(m.DoorDevice.id, String))
            .where(m.AdminAction.action == "door.commissioned")
            .where(m.AdminAction.target_type == "door_device")
            .order_by(m.AdminAction.id)
        ).all()
    return [(serial, label) for serial, label in rows]


def test_demo_doors_open_for_the_demo_worker(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as connection:
        seed(connection, profile="small", seed=1, secret=SECRET)
    demo_dir = tmp_path / "demo"
    info = prepare_demo(engine, secret=SECRET, demo_dir=demo_dir, first_port=_free_port_block(12))
    assert info.doors
    assert {d.kind for d in info.doors} >= {"home_lock", "entrance_controller"}
    lines = instructions(info, server_url="http://127.0.0.1:8000")
    assert any(info.enrolment_code in line for line in lines)

    commissioned = _commissioned(engine)
    assert sorted(serial for serial, _ in commissioned) == sorted(d.serial for d in info.doors)
    assert all(label.endswith("via make demo") for _, label in commissioned)

    # Preparing again keeps the doors (same keys, same logs) and gives a new code.
    again = prepare_demo(engine, secret=SECRET, demo_dir=demo_dir, first_port=info.doors[0].port)
    assert [d.serial for d in again.doors] == [d.serial for d in info.doors]
    assert again.enrolment_code != info.enrolment_code
    assert _commissioned(engine) == commissioned  # the same keys: nothing to record

    directory = json.loads((demo_dir / "doors.json").read_text())["doors"]
    servers = start_demo_doors(demo_dir)
    try:
        with TestClient(create_app(Settings(secret_key=SECRET), engine=engine)) as http:  # type: ignore[arg-type]

            def transports(door_id: str) -> Transport:
                where = directory[door_id]
                return connect(where["host"], int(where["port"]), timeout=5)

            app = KeyApp(
                tmp_path / "phone",
                server=ServerClient(http),
                clock=SystemClock(),
                transports=transports,
                wallet_options={"argon2": Argon2Params(time_cost=1, memory_kib=8192)},
            )
            app.enrol(again.enrolment_code)
            app.login(again.worker_number, again.password, "2468")
            home = next(d for d in again.doors if d.kind == "home_lock")
            assert home.serial in {d.door_id for d in app.doors()}
            opened = app.open(home.serial)
            assert opened.ok, opened.message()
            assert app.lock_door(home.serial).ok
            assert app.sync() > 0
    finally:
        for server in servers:
            server.stop()
    with Session(engine) as session:
        actions = set(
            session.execute(
                select(m.AuditEvent.action)
                .join(m.DoorDevice, m.DoorDevice.id == m.AuditEvent.door_device_id)
                .where(m.DoorDevice.serial == home.serial)
            ).scalars()
        )
    assert {"unlocked", "locked"} <= {a.value for a in actions}
