"""The upload endpoint over HTTP: a real phone, a real simulated door, the audit log after."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.protocol.session import Command
from carekey.store import models as m
from tests.api.conftest import Tenants, sign_in
from tests.api.phone_sim import Phone, Scene, advance

URL = "/api/v1/app/events"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _audit_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count(m.AuditEvent.id))).scalar_one())


def _logged_in(scene: Scene, employee_id: int) -> Phone:
    with Session(scene.engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        number = employee.employee_number
    phone = scene.enrol(employee_id)  # seeded: employee n carries phone n
    response = phone.login(number)
    assert response.status_code == 200, response.text
    return phone


def _home_of_worker(scene: Scene, tenants: Tenants) -> tuple[int, int]:
    """(citizen id, home lock id) of the first citizen in the worker's district."""
    with Session(scene.engine) as session:
        citizen = (
            session.execute(
                select(m.Citizen.id)
                .join(m.EmployeeDistrict, m.EmployeeDistrict.district_id == m.Citizen.district_id)
                .where(m.EmployeeDistrict.employee_id == tenants.worker)
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
    assert citizen is not None
    return citizen, scene.home_lock_of(citizen)


def _visit_and_body(scene: Scene, tenants: Tenants) -> tuple[Phone, int, int, dict[str, Any]]:
    phone = _logged_in(scene, tenants.worker)
    citizen, door_id = _home_of_worker(scene, tenants)
    lock = scene.door(door_id)
    advance(scene.clock, minutes=25)
    assert phone.visit(lock, Command.UNLOCK).ok
    advance(scene.clock, minutes=20)
    assert phone.visit(lock, Command.LOCK).ok
    body = {
        "doors": [
            {"door_id": lock.door_id.decode(), "events": [b64(ev.raw) for ev in lock.events]}
        ],
        "receipts": [{"door_id": lock.door_id.decode(), "event": b64(r)} for r in phone.receipts],
        "app_events": [
            {
                "idempotency_key": "0f6c2a1e-login",
                "kind": "logout",
                "occurred_at": scene.clock.now().isoformat(),
            }
        ],
    }
    return phone, citizen, door_id, body


def test_upload_after_a_visit_shows_who_which_door_when_in_the_audit_log(
    scene: Scene, tenants: Tenants, engine: Engine
) -> None:
    phone, citizen, door_id, body = _visit_and_body(scene, tenants)

    response = scene.client.post(URL, json=body, headers=phone.auth)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["stored"] >= 2
    assert report["flagged"] == {
        "gaps": 0,
        "broken_links": 0,
        "edits": 0,
        "bad_signatures": 0,
        "malformed": 0,
        "unknown_doors": 0,
    }
    assert report["doors"][0]["receipts"] == 2
    assert report["app_events"] == {"stored": 1, "duplicates": 0}

    audit = scene.client.get(
        "/api/v1/admin/audit", params={"door_device_id": door_id}, headers=scene.admin_headers
    )
    assert audit.status_code == 200, audit.text
    items = audit.json()["items"]
    opened = [i for i in items if i["action"] in ("unlocked", "locked")]
    assert [i["action"] for i in opened] == ["locked", "unlocked"]  # newest first
    unlocked = opened[1]
    assert unlocked["who"]["id"] == tenants.worker
    assert unlocked["who"]["name"]
    assert unlocked["citizen"]["id"] == citizen
    assert unlocked["door"]["kind"] == "home_lock"
    assert unlocked["door"]["address"]
    assert unlocked["occurred_at"] == "2026-11-26T07:10:00Z"
    assert unlocked["occurred_at_local"] == "2026-11-26T08:10:00+01:00"
    assert unlocked["what"] == "Låst op"
    assert unlocked["flags"] == []


def test_uploading_twice_changes_nothing(scene: Scene, tenants: Tenants, engine: Engine) -> None:
    phone, _citizen, _door, body = _visit_and_body(scene, tenants)
    first = scene.client.post(URL, json=body, headers=phone.auth).json()
    rows = _audit_rows(engine)
    second = scene.client.post(URL, json=body, headers=phone.auth)
    assert second.status_code == 200
    assert _audit_rows(engine) == rows
    assert second.json()["stored"] == 0
    assert second.json()["duplicates"] == first["stored"] + first["duplicates"]
    assert second.json()["flagged"] == first["flagged"]


def test_bad_input_is_refused_whole_with_a_stable_code(
    scene: Scene, tenants: Tenants, engine: Engine
) -> None:
    phone, _citizen, _door, body = _visit_and_body(scene, tenants)
    rows = _audit_rows(engine)

    bad = {**body, "receipts": [{"door_id": "x", "event": "not base64!"}]}
    response = scene.client.post(URL, json=bad, headers=phone.auth)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ingest.bad_base64"
    assert error["message"]
    assert error["message_en"]

    event = body["doors"][0]["events"][0]
    huge = {"doors": [{"door_id": "x", "events": [event] * 5001}]}
    response = scene.client.post(URL, json=huge, headers=phone.auth)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ingest.too_many_events"

    big = {"doors": [{"door_id": "x", "events": [b64(bytes(1025))]}]}
    response = scene.client.post(URL, json=big, headers=phone.auth)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ingest.event_too_large"

    assert _audit_rows(engine) == rows  # nothing of the good parts was written either


def test_upload_needs_an_app_session(scene: Scene, tenants: Tenants, engine: Engine) -> None:
    _phone, _citizen, _door, body = _visit_and_body(scene, tenants)
    assert scene.client.post(URL, json=body).status_code == 401
    # An office token is not an app session.
    office = sign_in(scene.client, tenants.admin, engine)
    assert scene.client.post(URL, json=body, headers=office).status_code == 401


def test_the_doors_page_metadata_is_validated_and_events_dropped_returned(
    scene: Scene, tenants: Tenants, engine: Engine
) -> None:
    phone, _citizen, door_id, body = _visit_and_body(scene, tenants)
    rows = _audit_rows(engine)
    for bad in (-1, "5", True, 2**60, 1.5):
        door = {**body["doors"][0], "events_dropped": bad}
        response = scene.client.post(URL, json={**body, "doors": [door]}, headers=phone.auth)
        assert response.status_code == 422, bad
        error = response.json()["error"]
        assert error["code"] == "request.invalid"
        assert "events_dropped" in str(error)
    door = {**body["doors"][0], "next_seq": -3}
    assert (
        scene.client.post(URL, json={**body, "doors": [door]}, headers=phone.auth).status_code
        == 422
    )
    assert _audit_rows(engine) == rows

    batch = {**body["doors"][0], "events_dropped": 1, "first_seq": 1, "next_seq": 3}
    response = scene.client.post(URL, json={**body, "doors": [batch]}, headers=phone.auth)
    assert response.status_code == 200, response.text
    assert response.json()["doors"][0]["events_dropped"] == 1
    with Session(engine) as session:
        door_row = session.get(m.DoorDevice, door_id)
        assert door_row is not None
        assert door_row.events_dropped == 1
