# ruff: noqa: F811 - the fixtures are imported by name: conftest.py of this folder is the portal's
"""The company's log of its own staff's openings, on SQLite and PostgreSQL: its own workers'
openings, refusals and lockings at entrances and gates only; never the municipality's home care
at the very same door, never another company's worker; filters by worker, door and period; the
page and its CSV say the same; the export is itself logged."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import (  # noqa: F401 - fixtures
    Tenants,
    client,
    clock,
    tenants,
)
from tests.partners.errand_world import (  # noqa: F401 - the fixture
    ErrandWorld,
    headers,
    local,
    world,
)
from tests.web.conftest import web_sign_in

API = "/api/v1/partner/log"
CARE_WORKER_NAME = "Karla Kommunesen-Hjemmepleje"
Q_WORKER_NAME = "Quinn Konkurrent-Bud"


def _event(db: Session, door: int, employee: int, when: dt.datetime, action: e.AuditAction) -> None:
    db.add(
        m.AuditEvent(
            municipality_id=1,
            source=e.AuditSource.DOOR,
            action=action,
            door_device_id=door,
            employee_id=employee,
            occurred_at=when,
            received_at=when,
        )
    )


def _events(engine: Engine, world: ErrandWorld, tenants: Tenants) -> int:
    """P's worker opens, is refused and locks at P's entrance; the municipality's care worker
    and Q's worker open the very same door; P's worker has a login (no door). Returns the id of
    a second door of P's agreement (a gate or another entrance) P's worker also opened."""
    p, q = world.p, world.q
    with Session(engine) as db, db.begin():
        care = db.get(m.Employee, tenants.worker)
        q_worker = db.get(m.Employee, q.worker)
        assert care is not None
        assert q_worker is not None
        care.full_name = CARE_WORKER_NAME
        q_worker.full_name = Q_WORKER_NAME
        _event(db, p.entrance_door, p.worker, local(20, 9), e.AuditAction.RELAY_PULSED)
        _event(db, p.entrance_door, p.worker, local(21, 9), e.AuditAction.REFUSED)
        _event(db, p.entrance_door, p.worker, local(22, 9), e.AuditAction.LOCKED)
        _event(db, p.entrance_door, tenants.worker, local(20, 10), e.AuditAction.RELAY_PULSED)
        _event(db, p.entrance_door, q.worker, local(20, 11), e.AuditAction.RELAY_PULSED)
        db.add(
            m.AuditEvent(
                municipality_id=1,
                source=e.AuditSource.APP,
                action=e.AuditAction.LOGIN,
                employee_id=p.worker,
                occurred_at=local(20, 8),
            )
        )
        second = db.execute(
            select(m.AgreementDoor.door_device_id)
            .where(m.AgreementDoor.agreement_id == p.agreement)
            .where(m.AgreementDoor.door_device_id != p.entrance_door)
            .order_by(m.AgreementDoor.door_device_id)
        ).scalar()
        assert second is not None
        _event(db, second, p.worker, local(23, 9), e.AuditAction.UNLOCKED)
        return int(second)


def test_the_log_shows_the_company_s_own_workers_only(
    client: TestClient, engine: Engine, world: ErrandWorld, tenants: Tenants
) -> None:
    second = _events(engine, world, tenants)
    auth = headers(client, engine, world.p.admin)
    answer = client.get(API, headers=auth)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["items"]
    assert [r["action"] for r in rows] == ["unlocked", "locked", "refused", "relay_pulsed"]
    assert {r["worker_id"] for r in rows} == {world.p.worker}
    assert CARE_WORKER_NAME not in answer.text
    assert Q_WORKER_NAME not in answer.text
    assert {r["door_kind"] for r in rows} <= {"entrance_controller", "gate_controller"}
    # Filters: a door, a period, a worker.
    by_door = client.get(API, params={"door_id": second}, headers=auth).json()
    assert [r["door_id"] for r in by_door["items"]] == [second]
    period = {"since": local(21, 0).isoformat(), "until": local(22, 0).isoformat()}
    assert [r["action"] for r in client.get(API, params=period, headers=auth).json()["items"]] == [
        "refused"
    ]
    mine = client.get(API, params={"worker_id": world.p.worker}, headers=auth).json()
    assert mine["total"] == 4
    # Another company's worker as a filter does not exist.
    assert client.get(API, params={"worker_id": world.q.worker}, headers=auth).status_code == 404
    # Q's administrator sees Q's worker only, never P's.
    theirs = client.get(API, headers=headers(client, engine, world.q.admin))
    assert [r["worker_id"] for r in theirs.json()["items"]] == [world.q.worker]


def test_the_log_is_the_company_s_alone(
    client: TestClient, engine: Engine, world: ErrandWorld, tenants: Tenants
) -> None:
    for who in (tenants.admin, tenants.auditor):
        # The municipality reads partner openings through its own audit log, not this portal.
        assert client.get(API, headers=headers(client, engine, who)).status_code == 403


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def test_the_page_and_its_csv(
    client: TestClient, clock: FrozenClock, engine: Engine, world: ErrandWorld, tenants: Tenants
) -> None:
    _events(engine, world, tenants)
    web_sign_in(client, clock, _number(engine, world.p.admin))
    page = client.get("/partner/log")
    assert page.status_code == 200
    assert world.p.worker_name in page.text
    assert world.p.entrance_serial in page.text
    assert CARE_WORKER_NAME not in page.text
    assert Q_WORKER_NAME not in page.text
    assert "4 hændelser" in page.text
    narrowed = client.get("/partner/log", params={"from": "2026-11-21", "to": "2026-11-21"})
    assert "1 hændelse<" in narrowed.text
    unreadable = client.get("/partner/log", params={"from": "21.11"})
    assert "En dato kunne ikke læses" in unreadable.text
    csv = client.get("/partner/log.csv", params={"from": "2026-11-20", "to": "2026-11-22"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Tidspunkt (dansk tid);")
    assert len(lines) == 1 + 3
    assert all(world.p.worker_name in line for line in lines[1:])
    assert CARE_WORKER_NAME not in csv.text
    with Session(engine) as db:
        exported = db.execute(
            select(m.AdminAction).where(m.AdminAction.action == "partner_log.exported")
        ).scalar_one()
    assert exported.target_id == str(world.p.id)
    assert exported.details is not None
    assert exported.details["rows"] == 3
