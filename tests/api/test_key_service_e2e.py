"""Acceptance of the key service, end to end over HTTP with the real door protocol:
enrol → log in → exactly the right doors → open and re-lock a simulated door; blocking and
removal reach the doors through other employees' phones; keys die after 9 hours."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.protocol.session import Command
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.api.phone_sim import Phone, Scene, advance


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def expected_doors(engine: Engine, employee_id: int) -> set[str]:
    """Independently of the service: the homes of active citizens with a live consent in the
    employee's districts, those citizens' entrance controllers, and the gate controllers of
    their properties."""
    with Session(engine) as session:
        districts = select(m.EmployeeDistrict.district_id).where(
            m.EmployeeDistrict.employee_id == employee_id
        )
        citizens = session.execute(
            select(m.Citizen.dwelling_id, m.Dwelling.entrance_id, m.Entrance.property_id)
            .join(m.Dwelling, m.Dwelling.id == m.Citizen.dwelling_id)
            .join(m.Entrance, m.Entrance.id == m.Dwelling.entrance_id)
            .where(m.Citizen.district_id.in_(districts))
            .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
            # No key for a home without a live consent (issue 16).
            .where(
                m.Citizen.id.in_(
                    select(m.ConsentRecord.citizen_id).where(m.ConsentRecord.withdrawn_at.is_(None))
                )
            )
        ).all()
        serials: set[str] = set()
        for dwelling_id, entrance_id, property_id in citizens:
            serials.update(
                session.execute(
                    select(m.DoorDevice.serial).where(m.DoorDevice.dwelling_id == dwelling_id)
                ).scalars()
            )
            serials.update(
                session.execute(
                    select(m.DoorDevice.serial).where(m.DoorDevice.entrance_id == entrance_id)
                ).scalars()
            )
            serials.update(
                session.execute(
                    select(m.DoorDevice.serial)
                    .join(m.Gate, m.Gate.id == m.DoorDevice.gate_id)
                    .where(m.Gate.property_id == property_id)
                ).scalars()
            )
        return serials


def _citizen_of_worker(engine: Engine, worker: int) -> int:
    with Session(engine) as session:
        return (
            session.execute(
                select(m.Citizen.id)
                .join(m.EmployeeDistrict, m.EmployeeDistrict.district_id == m.Citizen.district_id)
                .where(m.EmployeeDistrict.employee_id == worker)
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
            or 0
        )


def _colleague(engine: Engine, worker: int) -> int:
    """Another care worker of the same district."""
    with Session(engine) as session:
        district = (
            session.execute(
                select(m.EmployeeDistrict.district_id).where(
                    m.EmployeeDistrict.employee_id == worker
                )
            )
            .scalars()
            .first()
        )
        return (
            session.execute(
                select(m.EmployeeDistrict.employee_id)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.EmployeeDistrict.employee_id)
                .where(m.EmployeeDistrict.district_id == district)
                .where(m.EmployeeDistrict.employee_id != worker)
                .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
                .order_by(m.EmployeeDistrict.employee_id)
            )
            .scalars()
            .first()
            or 0
        )


def _logged_in(scene: Scene, employee_id: int) -> Phone:
    phone = scene.enrol(employee_id)  # seeded: employee n carries phone n
    response = phone.login(_number(scene.engine, employee_id))
    assert response.status_code == 200, response.text
    return phone


def test_login_gives_exactly_the_right_doors_and_they_open(
    scene: Scene, tenants: Tenants, engine: Engine
) -> None:
    phone = _logged_in(scene, tenants.worker)
    doors = phone.door_ids()
    assert doors == expected_doors(engine, tenants.worker)
    assert doors  # the worker's district has citizens
    # No door of another district or municipality is in the bundle.
    with Session(engine) as session:
        all_doors = set(session.execute(select(m.DoorDevice.serial)).scalars())
    assert doors < all_doors

    citizen = _citizen_of_worker(engine, tenants.worker)
    lock = scene.door(scene.home_lock_of(citizen))
    advance(scene.clock, minutes=25)  # 07:10 at Fru Hansen's door
    opened = phone.visit(lock, Command.UNLOCK)
    assert opened.ok, opened.response.result
    assert lock.state.value == "unlocked"
    relocked = phone.visit(lock, Command.LOCK)
    assert relocked.ok
    assert lock.state.value == "locked"
    assert opened.receipt is not None
    assert opened.receipt.subject == f"e{tenants.worker}"

    # Back online, the phone uploads the door's log (read over the same link) and its receipts.
    upload = {
        "doors": [{"door_id": lock.door_id.decode(), "events": [b64(e.raw) for e in lock.events]}],
        "receipts": [{"door_id": lock.door_id.decode(), "event": b64(r)} for r in phone.receipts],
    }
    response = scene.client.post("/api/v1/app/events", json=upload, headers=phone.auth)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == len(lock.events)
    again = scene.client.post("/api/v1/app/events", json=upload, headers=phone.auth)
    assert again.json()["stored"] == 0  # idempotent

    # The audit log shows who, which door, when: opened and re-locked.
    audit = scene.client.get(
        "/api/v1/admin/audit",
        params={"door_device_id": scene.home_lock_of(citizen)},
        headers=scene.admin_headers,
    )
    assert audit.status_code == 200, audit.text
    rows = [r for r in audit.json()["items"] if r["action"] in ("unlocked", "locked")]
    assert [r["action"] for r in reversed(rows)] == ["unlocked", "locked"]
    for row in rows:
        assert row["who"]["type"] == "employee"
        assert row["who"]["id"] == tenants.worker
        assert row["door"]["serial"] == lock.door_id.decode()
        assert row["occurred_at"].startswith("2026-11-26T07:10")


def test_keys_stop_working_after_nine_hours(scene: Scene, tenants: Tenants, engine: Engine) -> None:
    phone = _logged_in(scene, tenants.worker)
    lock = scene.door(scene.home_lock_of(_citizen_of_worker(engine, tenants.worker)))
    keys_until = phone.bundle["keys_valid_until"]
    assert (
        keys_until
        == (
            scene.clock.now().replace(microsecond=0) + __import__("datetime").timedelta(hours=9)
        ).isoformat()
    )
    advance(scene.clock, hours=8, minutes=50)
    lock.clock.set(scene.clock.now())
    phone.heartbeat()  # a phone online during the shift keeps its proof of freshness live
    assert phone.visit(lock, Command.UNLOCK).ok
    phone.visit(lock, Command.LOCK)
    advance(scene.clock, minutes=12)  # 9 h 2 min after login, past the door's tolerance
    late = phone.visit(lock, Command.UNLOCK)
    assert not late.ok
    assert late.response.result == "expired"
    assert lock.state.value == "locked"
    # The session is over too: the server refuses to refresh it.
    assert phone.client.post("/api/v1/app/heartbeat", headers=phone.auth).status_code == 401


def test_blocking_a_lost_phone(scene: Scene, tenants: Tenants, engine: Engine) -> None:
    _block_then_stolen_copy_refused(scene, tenants, engine, phone_block=True)


def test_blocking_an_employee(scene: Scene, tenants: Tenants, engine: Engine) -> None:
    _block_then_stolen_copy_refused(scene, tenants, engine, phone_block=False)


def _block_then_stolen_copy_refused(
    scene: Scene, tenants: Tenants, engine: Engine, *, phone_block: bool
) -> None:
    victim = _logged_in(scene, tenants.worker)
    stolen = dict(victim.bundle)  # what a thief holding the phone still has offline
    colleague = _logged_in(scene, _colleague(engine, tenants.worker))
    lock = scene.door(scene.home_lock_of(_citizen_of_worker(engine, tenants.worker)))
    assert victim.visit(lock, Command.UNLOCK).ok
    victim.visit(lock, Command.LOCK)

    path = (
        f"/api/v1/admin/phones/{victim.phone_id}/block"
        if phone_block
        else f"/api/v1/admin/employees/{tenants.worker}/block"
    )
    body: dict[str, Any] = {"reason": "Mistet i bussen kl. 10"}
    if phone_block:
        body["lost"] = True
    response = scene.client.post(path, json=body, headers=scene.admin_headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["changed"]
    assert result["denylist_version"] >= 1
    exposed = {d["door_device_id"] for d in result["exposed_doors"]}
    assert scene.home_lock_of(_citizen_of_worker(engine, tenants.worker)) in exposed

    # 1. The server refuses at once: heartbeat says WIPE, a new login is refused.
    assert victim.heartbeat()["status"] == "WIPE"
    victim.bundle = stolen
    assert (
        victim.client.post("/api/v1/app/heartbeat", headers=victim.auth).json()["status"] == "WIPE"
    )
    relogin = victim.login(_number(engine, tenants.worker))
    assert relogin.status_code == 403
    victim.bundle = stolen

    # 2. The credentials are on the denylist.
    with Session(engine) as session:
        entry = session.execute(
            select(m.DenylistEntry).where(m.DenylistEntry.removed_in_version.is_(None))
        ).scalar_one()
    assert entry.entry_kind is (
        e.DenylistEntryKind.DEVICE if phone_block else e.DenylistEntryKind.SUBJECT
    )

    # 3. The lock is offline and has not heard of it; another employee's phone carries the
    # denylist to it, and from then on it refuses the stolen keys.
    colleague.heartbeat()
    visit = colleague.visit(lock, Command.UNLOCK)
    assert visit.ok
    colleague.visit(lock, Command.LOCK)
    assert lock.flash.denylist.version == colleague.bundle["denylist"]["version"]
    refused = victim.visit(lock, Command.UNLOCK)
    assert not refused.ok
    assert refused.response.result == "denylisted"
    assert lock.state.value == "locked"


def test_removing_a_citizen(scene: Scene, tenants: Tenants, engine: Engine) -> None:
    worker = _logged_in(scene, tenants.worker)
    colleague = _logged_in(scene, _colleague(engine, tenants.worker))
    citizen = _citizen_of_worker(engine, tenants.worker)
    lock = scene.door(scene.home_lock_of(citizen))
    assert lock.door_id.decode() in worker.door_ids()

    response = scene.client.post(
        f"/api/v1/admin/citizens/{citizen}/remove",
        json={"reason": "Flyttet på plejehjem"},
        headers=scene.admin_headers,
    )
    assert response.status_code == 200, response.text
    # Absent from every later bundle; heartbeats say REFRESH.
    assert colleague.heartbeat()["status"] == "REFRESH"
    assert colleague.refresh().status_code == 200
    assert lock.door_id.decode() not in colleague.door_ids()
    fresh = _logged_in(scene, _colleague(engine, tenants.worker))
    assert lock.door_id.decode() not in fresh.door_ids()
    # The door itself is withdrawn on the denylist. The worker's phone still holds this
    # morning's keys (as a phone that missed the REFRESH would) and, online, carries the
    # withdrawal to the door, which then refuses those keys.
    assert worker.credential_for(lock.door_id)
    assert worker.heartbeat()["status"] == "REFRESH"
    refused = worker.visit(lock, Command.UNLOCK)
    assert not refused.ok
    assert refused.response.result in {"denylisted", "door_withdrawn"}
    # A restore work order was created.
    with Session(engine) as session:
        orders = (
            session.execute(select(m.WorkOrder).where(m.WorkOrder.kind == e.WorkOrderKind.RESTORE))
            .scalars()
            .all()
        )
    assert [o.citizen_id for o in orders] == [citizen]
