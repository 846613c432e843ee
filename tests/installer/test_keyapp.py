"""The key app's installer side end to end: the real server (HTTP), the phone's device key, a
simulated door over the Bluetooth link (real door protocol, ``carekey.link.commissioning``):
``orders``, ``commission`` and ``decommission`` as the CLI runs them."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from carekey.app.client import AppError, ServerClient
from carekey.app.installer import InstallerWork
from carekey.app.installer_cli import door_key_of, order_rows
from carekey.app.keystore import DeviceKeystore
from carekey.app.service import KeyApp
from carekey.clock import FrozenClock
from carekey.config import Settings
from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.keyservice import issuer as issuer_service
from carekey.keyservice.app_session import issue_session_token
from carekey.link.transport import BluetoothLink, Transport
from carekey.protocol.keys import DoorKey
from carekey.server.app import create_app
from carekey.store import models as m
from tests.installer.conftest import NOW, SECRET, Site, order


@pytest.fixture
def client(engine: Engine, site: Site) -> Iterator[TestClient]:
    settings = Settings(secret_key=SECRET)  # type: ignore[arg-type]
    with TestClient(create_app(settings, engine=engine, clock=FrozenClock(NOW))) as test_client:
        yield test_client


def _keyapp(site: Site, client: TestClient, path: Path, door: HomeLock) -> KeyApp:
    keystore = DeviceKeystore.create(path / "keystore.bin")
    person = site.db.get(m.Employee, site.installer.employee_id)
    assert person is not None
    phone = m.Phone(
        municipality_id=site.world.municipality.id,
        employee_id=person.id,
        label="TLF-I1",
        public_key=keystore.public.compressed,
        status=e.PhoneStatus.ACTIVE,
    )
    site.db.add(phone)
    site.db.commit()

    def transports(door_id: str) -> Transport:
        assert door_id == door.door_id.decode()
        return BluetoothLink(door).connect()

    keyapp = KeyApp(
        path, server=ServerClient(client), clock=FrozenClock(NOW), transports=transports
    )
    keyapp.state.phone_id = phone.id
    keyapp.state.session_token = issue_session_token(
        person, phone, NOW + dt.timedelta(hours=9), SECRET
    )
    keyapp._save_state()
    keyapp.heartbeat()  # the proof of freshness the test open needs
    return keyapp


def _fresh_lock(site: Site) -> HomeLock:
    """A home lock as it leaves the factory: trusting the municipality's issuer, no time."""
    keyring = issuer_service.keyring(site.db, municipality_id=site.world.municipality.id)
    return HomeLock(
        door_id=site.stock.serial.encode(),
        door_key=DoorKey.generate(),
        keyring=keyring,
        clock=FrozenClock(NOW),
    )


def test_commission_and_decommission_from_the_key_app(
    site: Site, client: TestClient, tmp_path: Path
) -> None:
    lock = _fresh_lock(site)
    keyapp = _keyapp(site, client, tmp_path, lock)
    work = InstallerWork(keyapp)
    assert [o["id"] for o in work.orders()] == [site.install.id]
    done: Any = work.commission(
        site.install.id, door_serial=site.stock.serial, door_public_key=lock.door_key.public.key.raw
    )
    assert done["status"] == "active"
    site.db.rollback()
    site.db.expire_all()
    device = site.db.get(m.DoorDevice, site.stock.id)
    assert device is not None
    assert device.public_key == lock.door_key.public.key.raw
    finished = site.db.get(m.WorkOrder, site.install.id)
    assert finished is not None
    finished.status = e.WorkOrderStatus.DONE
    restore = order(
        site.db,
        site.world,
        assigned=site.installer,
        kind=e.WorkOrderKind.RESTORE,
        dwelling_id=site.dwelling.id,
    )
    site.db.commit()
    gone: Any = work.decommission(restore.id, disposition="scrapped")
    assert gone["status"] == "scrapped"
    site.db.rollback()  # the read of ``restore.id`` began before the server wrote
    site.db.expire_all()
    device = site.db.get(m.DoorDevice, site.stock.id)
    assert device is not None
    assert device.status is e.DoorStatus.SCRAPPED


def test_the_cli_reads_a_door_key_and_lists_orders() -> None:
    raw = bytes(range(32))
    assert door_key_of(raw.hex()) == raw
    assert door_key_of(base64.b64encode(raw).decode()) == raw
    with pytest.raises(AppError):
        door_key_of("not a key")
    rows = order_rows(
        [
            {
                "id": 7,
                "kind": "install",
                "status": "scheduled",
                "place": "Nørrebrogade 12A, 3. th",
                "door_kind": "home_lock",
                "door_serial": None,
                "scheduled_for": "2026-12-01T08:00:00Z",
            }
        ],
        "en",
    )
    assert rows[0][:4] == ("7", "Install", "scheduled", "Nørrebrogade 12A, 3. th")
    assert rows[0][5] == "2026-12-01 08:00"
