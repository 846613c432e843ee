"""The right of access over the API (issue 19): a citizen's access report as JSON and CSV, an
employee's data export; who may ask; each report in the log of administrative actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import START, Tenants, sign_in
from tests.dashboard.place import add_event

A = "/api/v1/admin"
FIRST, LAST = dt.date(2026, 10, 1), dt.date(2026, 11, 26)


def _busiest_home(engine: Engine, worker: int) -> tuple[int, int, set[str]]:
    """A citizen of district 1 with a home lock, visited by ``worker`` and a colleague in the
    period (and once before it, and at the stairwell): (id, openings in the period, the names of
    who opened the lock)."""
    with Session(engine) as db, db.begin():
        lock, citizen = db.execute(
            select(m.DoorDevice, m.Citizen)
            .join(m.Citizen, m.Citizen.dwelling_id == m.DoorDevice.dwelling_id)
            .where(m.Citizen.district_id == 1)
            .where(m.DoorDevice.kind == e.DoorKind.HOME_LOCK)
            .order_by(m.Citizen.id)
        ).first()  # type: ignore[misc]
        first = db.get(m.Employee, worker)
        colleague = (
            db.execute(
                select(m.Employee)
                .join(m.EmployeeDistrict)
                .join(m.EmployeeRole)
                .where(m.EmployeeDistrict.district_id == 1)
                .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
                .where(m.Employee.id != worker)
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        assert first is not None
        assert colleague is not None
        day = dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.UTC)
        hour = dt.timedelta(hours=1)
        for at, who in ((day, first), (day + 4 * hour, colleague), (day + 30 * hour, first)):
            add_event(db, lock, e.AuditAction.UNLOCKED, at, employee=who, citizen=citizen)
            add_event(db, lock, e.AuditAction.LOCKED, at + hour / 3, employee=who, citizen=citizen)
        before = dt.datetime(2026, 9, 20, 7, 0, tzinfo=dt.UTC)
        add_event(db, lock, e.AuditAction.UNLOCKED, before, employee=first, citizen=citizen)
        return citizen.id, 3, {first.full_name, colleague.full_name}


def _params(**extra: str) -> dict[str, str]:
    return {
        "basis": "attorney",
        "requested_by": "Karen Sørensen",
        "reference": "J.nr. 42",
        "from": FIRST.isoformat(),
        "to": LAST.isoformat(),
        **extra,
    }


def _logged(engine: Engine, action: str, target_id: int) -> list[m.AdminAction]:
    with Session(engine) as db:
        return list(
            db.execute(
                select(m.AdminAction)
                .where(m.AdminAction.action == action)
                .where(m.AdminAction.target_id == str(target_id))
            ).scalars()
        )


def test_the_citizens_report_as_json_and_csv(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    citizen, openings, names = _busiest_home(engine, tenants.worker)
    admin = sign_in(client, tenants.admin, engine)
    response = client.get(f"{A}/citizens/{citizen}/access-report", params=_params(), headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["openings"] == openings
    opened = [x for x in body["door_events"] if x["action"] == "unlocked"]
    assert len(opened) == openings
    assert {x["employee"]["name"] for x in opened} == names
    assert all(x["employee"]["roles"] for x in opened)
    times = [x["occurred_at"] for x in body["door_events"]]
    assert times == sorted(times)
    assert body["request"]["requested_by"] == "Karen Sørensen"
    [row] = _logged(engine, "privacy.citizen_report", citizen)
    assert row.reason == "J.nr. 42"
    assert row.details is not None
    assert row.details["basis"] == "attorney"
    assert row.details["from"] == FIRST.isoformat()

    csv = client.get(
        f"{A}/citizens/{citizen}/access-report", params=_params(format="csv"), headers=admin
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("\ufeffTidspunkt (dansk tid);")
    assert len(lines) - 1 == len(body["door_events"]) == 6
    assert len(_logged(engine, "privacy.citizen_report", citizen)) == 2


def test_a_request_that_cannot_be_used_is_refused_and_not_logged(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    citizen, _openings, _names = _busiest_home(engine, tenants.worker)
    admin = sign_in(client, tenants.admin, engine)
    url = f"{A}/citizens/{citizen}/access-report"
    nameless = client.get(url, params=_params(basis="guardian", requested_by=""), headers=admin)
    assert nameless.status_code == 422
    assert nameless.json()["error"]["code"] == "privacy.requested_by_missing"
    unknown = client.get(url, params=_params(basis="neighbour"), headers=admin)
    assert unknown.status_code == 422
    assert _logged(engine, "privacy.citizen_report", citizen) == []


def test_who_may_ask(client: TestClient, tenants: Tenants, engine: Engine) -> None:
    citizen, _openings, _names = _busiest_home(engine, tenants.worker)
    url = f"{A}/citizens/{citizen}/access-report"
    lead = sign_in(client, tenants.lead, engine)  # district 1's lead: the citizen is theirs
    assert client.get(url, params=_params(), headers=lead).status_code == 200
    assert (
        client.get(f"{A}/employees/{tenants.worker}/data-export", headers=lead).status_code == 403
    )
    auditor = sign_in(client, tenants.auditor, engine)
    assert client.get(url, params=_params(), headers=auditor).status_code == 403
    assert (
        client.get(f"{A}/employees/{tenants.worker}/data-export", headers=auditor).status_code
        == 403
    )
    assert len(_logged(engine, "privacy.citizen_report", citizen)) == 1


def test_the_employees_export_holds_their_door_events(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    _busiest_home(engine, tenants.worker)  # the worker's visits: 2 x (opened, locked) + 1
    with Session(engine) as db:
        events = db.execute(
            select(func.count())
            .select_from(m.AuditEvent)
            .where(m.AuditEvent.employee_id == tenants.worker)
        ).scalar_one()
        employee = db.get(m.Employee, tenants.worker)
        assert employee is not None
        name, number = employee.full_name, employee.employee_number
    assert events == 5
    admin = sign_in(client, tenants.admin, engine)
    response = client.get(
        f"{A}/employees/{tenants.worker}/data-export",
        params={"reason": "Anmodning 7"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["employee"]["name"] == name
    assert body["employee"]["employee_number"] == number
    assert len(body["door_events"]) == events
    assert {x["who"]["id"] for x in body["door_events"]} == {tenants.worker}
    assert "care_worker" in body["roles"]
    assert body["districts"]
    assert body["phones"]
    [row] = _logged(engine, "privacy.employee_report", tenants.worker)
    assert row.reason == "Anmodning 7"
    assert START.year == 2026
