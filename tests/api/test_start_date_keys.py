"""No keys before the first day of employment (``employee.starts_on``, issue 18): the key app's
login is refused with ``auth.not_started`` and the date, and works from that day on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from carekey.clock import local
from carekey.store import models as m
from tests.api.conftest import Tenants
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
