"""Acceptance of the key app against the real server: an offline shift loses nothing, keys die
after 9 hours with the app closed, WIPE and wrong codes empty the wallet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.app.client import AppError, ServerClient
from carekey.app.service import KeyApp
from carekey.app.wallet import Argon2Params
from carekey.devices.firmware import DoorFirmware
from carekey.domain import enums as e
from carekey.link.transport import BluetoothLink, Transport
from carekey.seed.service import DEMO_PASSWORD
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.api.phone_sim import Scene, advance

CODE = "2468"


class Network:
    """The phone's connection to the server, which a test can cut."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.online = True

    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        if not self.online:
            raise httpx.ConnectError("no coverage in the stairwell")
        return self.client.post(url, json=json, headers=headers)


class Phone:
    """One phone's data directory; ``start()`` is a fresh run of the app on it."""

    def __init__(self, scene: Scene, path: Path) -> None:
        self.scene = scene
        self.path = path
        self.network = Network(scene.client)
        self.doors: dict[str, DoorFirmware] = {}

    def transport(self, door_id: str) -> Transport:
        return BluetoothLink(self.doors[door_id]).connect()

    def start(self) -> KeyApp:
        return KeyApp(
            self.path,
            server=ServerClient(self.network),
            clock=self.scene.clock,
            transports=self.transport,
            wallet_options={"argon2": Argon2Params(time_cost=1, memory_kib=8192)},
        )


def _employee_number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _home_locks_of(engine: Engine, employee_id: int, count: int) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(
            select(m.DoorDevice.serial, m.DoorDevice.id)
            .join(m.Citizen, m.Citizen.dwelling_id == m.DoorDevice.dwelling_id)
            .join(m.EmployeeDistrict, m.EmployeeDistrict.district_id == m.Citizen.district_id)
            .where(m.EmployeeDistrict.employee_id == employee_id)
            .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
            .order_by(m.DoorDevice.id)
            .limit(count)
        ).all()
    return {row.serial: row.id for row in rows}


def _enrolled_phone(
    scene: Scene, tenants: Tenants, tmp_path: Path, doors: int
) -> tuple[Phone, KeyApp, dict[str, int]]:
    phone = Phone(scene, tmp_path / "phone")
    locks = _home_locks_of(scene.engine, tenants.worker, doors)
    for serial, device_id in locks.items():
        phone.doors[serial] = scene.door(device_id)  # commissioned before the morning login
    code = scene.client.post(
        f"/api/v1/admin/phones/{tenants.worker_phone}/enrolment-code", headers=scene.admin_headers
    ).json()["code"]
    app = phone.start()
    app.enrol(code)
    app.login(_employee_number(scene.engine, tenants.worker), DEMO_PASSWORD, CODE)
    return phone, app, locks


def test_offline_shift_then_crash_then_sync_loses_nothing(
    scene: Scene, tenants: Tenants, engine: Engine, tmp_path: Path
) -> None:
    phone, app, locks = _enrolled_phone(scene, tenants, tmp_path, 10)
    assert len(locks) == 10
    assert set(locks) <= {d.door_id for d in app.doors()}
    app.sync()  # login events go up while online

    phone.network.online = False  # 07:00, into the stairwells
    for serial in locks:
        advance(scene.clock, minutes=5)
        opened = app.open(serial, CODE)
        assert opened.ok, opened.message()
        assert opened.message() == "Døren er åben."
        relocked = app.lock_door(serial, CODE)
        assert relocked.ok, relocked.message()
    assert app.sync() == 0  # offline: nothing leaves, nothing is lost
    assert app.status().pending_uploads >= 20

    del app  # the app is killed; a fresh run on the same phone
    app = phone.start()
    app.unlock(CODE)
    assert app.status().pending_uploads >= 20
    phone.network.online = True
    assert app.sync() > 0
    assert app.status().pending_uploads == 0
    app.sync()  # a second sync changes nothing

    with Session(engine) as session:
        rows = session.execute(
            select(m.AuditEvent.door_device_id, m.AuditEvent.door_seq, m.AuditEvent.action)
            .where(m.AuditEvent.door_device_id.in_(list(locks.values())))
            .where(m.AuditEvent.action.in_([e.AuditAction.UNLOCKED, e.AuditAction.LOCKED]))
        ).all()
        assert len(rows) == 20
        assert len(set(rows)) == 20
        assert {r.action for r in rows} == {e.AuditAction.UNLOCKED, e.AuditAction.LOCKED}
        total = session.execute(
            select(func.count())
            .select_from(m.AuditEvent)
            .where(m.AuditEvent.door_device_id.in_(list(locks.values())))
        ).scalar_one()
    assert total == 20


def test_keys_are_gone_after_nine_hours_with_the_app_closed(
    scene: Scene, tenants: Tenants, tmp_path: Path
) -> None:
    phone, app, locks = _enrolled_phone(scene, tenants, tmp_path, 1)
    serial = next(iter(locks))
    assert app.status().valid_until_local() is not None
    del app  # closed all afternoon
    advance(scene.clock, hours=9, seconds=1)
    app = phone.start()
    assert app.wallet_expired_on_start
    assert not app.status().keys_present
    with pytest.raises(AppError) as info:
        app.unlock(CODE)
    assert info.value.code.startswith("wallet.")
    with pytest.raises(AppError):
        app.open(serial)


def test_wipe_from_the_heartbeat_empties_the_wallet(
    scene: Scene, tenants: Tenants, tmp_path: Path
) -> None:
    _, app, _ = _enrolled_phone(scene, tenants, tmp_path, 1)
    response = scene.client.post(
        f"/api/v1/admin/phones/{tenants.worker_phone}/block",
        json={"reason": "Mistet", "lost": True},
        headers=scene.admin_headers,
    )
    assert response.status_code == 200
    assert app.heartbeat() == "WIPE"
    assert not app.status().keys_present
    with pytest.raises(AppError):
        app.doors()


def test_too_many_wrong_codes_empty_the_wallet(
    scene: Scene, tenants: Tenants, tmp_path: Path
) -> None:
    phone, app, _ = _enrolled_phone(scene, tenants, tmp_path, 1)
    del app
    app = phone.start()
    limit = app.status().wrong_codes + 5
    for _ in range(limit - 1):
        with pytest.raises(AppError) as info:
            app.unlock("0000")
        assert info.value.code == "wallet.wrong_code"
    with pytest.raises(AppError):
        app.unlock("0000")
    assert not app.status().keys_present
    with pytest.raises(AppError):
        app.unlock(CODE)


def test_a_colleague_carries_the_block_to_the_door_and_the_office_sees_it(
    scene: Scene, tenants: Tenants, engine: Engine, tmp_path: Path
) -> None:
    from tests.api.test_key_service_e2e import _colleague

    victim, victim_app, locks = _enrolled_phone(scene, tenants, tmp_path, 1)
    serial, device_id = next(iter(locks.items()))
    colleague_id = _colleague(engine, tenants.worker)
    colleague = Phone(scene, tmp_path / "colleague")
    colleague.doors = victim.doors  # the same physical doors
    code = scene.client.post(
        f"/api/v1/admin/phones/{colleague_id}/enrolment-code", headers=scene.admin_headers
    ).json()["code"]
    app = colleague.start()
    app.enrol(code)
    app.login(_employee_number(engine, colleague_id), DEMO_PASSWORD, CODE)

    blocked = scene.client.post(
        f"/api/v1/admin/phones/{tenants.worker_phone}/block",
        json={"reason": "Mistet i bussen", "lost": True},
        headers=scene.admin_headers,
    ).json()
    assert device_id in {d["door_device_id"] for d in blocked["exposed_doors"]}

    assert app.heartbeat() in ("OK", "REFRESH")  # the colleague's phone now carries the block
    assert app.open(serial).ok
    assert app.lock_door(serial).ok
    assert app.sync() > 0
    with Session(engine) as session:
        door = session.get(m.DoorDevice, device_id)
        assert door is not None
        assert door.denylist_version_seen == blocked["denylist_version"]
    # And the thief's copy of the keys no longer opens that door.
    refused = victim_app.open(serial)
    assert not refused.ok
    assert refused.code == "denylisted"
