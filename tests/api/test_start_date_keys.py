"""No keys before the first day of employment (``employee.starts_on``, issue 18): the key app's
login is refused with ``auth.not_started`` and the date, and works from that day on."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from carekey.clock import local
from carekey.store import models as m
from tests.api.conftest import Tenants, sign_in
from tests.api.phone_sim import Scene


def _starts(scene: Scene, employee_id: int, day: dt.date | None) -> None:
    with Session(scene.engine) as session, session.begin():
        session.execute(
            update(m.Employee).where(m.Employee.id == employee_id).values(starts_on=day)
        )


def test_an_employee_who_starts_tomorrow_gets_no_keys_until_that_day(
    scene: Scene, tenants: Tenants
) -> None:
    today = local(scene.clock.now()).date()
    phone = scene.enrol(tenants.worker_phone)
    with Session(scene.engine) as session:
        employee = session.get(m.Employee, tenants.worker)
        assert employee is not None
        number = employee.employee_number
    _starts(scene, tenants.worker, today + dt.timedelta(days=1))
    refused = phone.login(number)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "auth.not_started"
    tomorrow = (today + dt.timedelta(days=1)).strftime("%d.%m.%Y")
    assert tomorrow in error["message"]
    assert not phone.bundle, "a refused login hands out nothing"

    _starts(scene, tenants.worker, today)
    allowed = phone.login(number)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["doors"], "from the first day the district's doors are handed out"


def test_the_start_date_is_set_and_changed_through_the_api(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    created = client.post(
        "/api/v1/admin/employees",
        headers=admin,
        json={
            "employee_number": "S0001",
            "full_name": "Sofie Start",
            "roles": ["care_worker"],
            "district_ids": [1],
            "starts_on": "2027-03-01",
            "reason": "ny medarbejder",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["starts_on"] == "2027-03-01"
    employee_id = created.json()["id"]
    moved = client.patch(
        f"/api/v1/admin/employees/{employee_id}",
        headers=admin,
        json={"starts_on": "2027-04-01", "reason": "starter senere"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_on"] == "2027-04-01"
    with Session(engine) as session:
        action = session.execute(
            select(m.AdminAction)
            .where(m.AdminAction.action == "employee.changed")
            .where(m.AdminAction.target_id == str(employee_id))
        ).scalar_one()
        assert action.details == {"starts_on": {"from": "2027-03-01", "to": "2027-04-01"}}
    cleared = client.patch(
        f"/api/v1/admin/employees/{employee_id}",
        headers=admin,
        json={"starts_on": None, "reason": "starter nu"},
    )
    assert cleared.json()["starts_on"] is None
