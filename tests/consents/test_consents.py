"""Consent (issue 16): recorded per citizen, withdrawable, and the condition of every key to a
home: a withdrawal starts the removal; a home without consent gets no key, in the bundle and as
an emergency key."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.consents import service as consents
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.emergency_keys.service import grant_emergency_key
from carekey.revocation.service import door_entry_key
from carekey.store import models as m
from tests.api.conftest import START, Tenants, sign_in
from tests.api.phone_sim import Scene
from tests.consents import helpers as h

API = "/api/v1/admin"


def test_recording_a_consent_with_who_informed_when_and_how(
    client: TestClient, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    citizen = h.citizen_in(engine, 1)
    h.drop_consents(engine, citizen)
    informed = (START - dt.timedelta(days=3)).isoformat()
    response = client.post(
        f"{API}/citizens/{citizen}/consents",
        headers=admin,
        json={
            "method": "power_of_attorney",
            "given_by": "relative",
            "given_by_name": "Jens Datter-Fuldmægtig",
            "informed_by_employee_id": tenants.lead,
            "informed_at": informed,
            "document_ref": "SAG-2026-0042",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["live"]
    assert body["method"] == "power_of_attorney"
    assert body["recorded_by_employee_id"] == tenants.admin
    listed = client.get(f"{API}/citizens/{citizen}/consents", headers=admin)
    assert [c["id"] for c in listed.json()] == [body["id"]]
    # One live consent at a time.
    again = client.post(
        f"{API}/citizens/{citizen}/consents",
        headers=admin,
        json={"method": "digital"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "consent.already_given"
    with Session(engine) as db:
        actions = db.execute(
            select(m.AdminAction.action).where(m.AdminAction.target_type == "consent_record")
        ).scalars()
        assert list(actions) == ["consent.recorded"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"method": "power_of_attorney", "given_by": "citizen", "document_ref": "X"},
            "consent.power_of_attorney_relative",
        ),
        ({"method": "digital", "given_by": "relative"}, "consent.name_required"),
        ({"method": "paper_scanned"}, "consent.document_ref_required"),
        ({"method": "digital", "given_at": "2030-01-01T00:00:00Z"}, "consent.given_in_future"),
        ({"method": "digital", "informed_by_employee_id": 999999}, "consent.bad_informer"),
    ],
)
def test_validation_errors_lose_nothing(
    client: TestClient, engine: Engine, tenants: Tenants, body: dict[str, object], code: str
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    citizen = h.citizen_in(engine, 1)
    h.drop_consents(engine, citizen)
    before = h.count(engine, m.ConsentRecord), h.count(engine, m.AdminAction)
    response = client.post(f"{API}/citizens/{citizen}/consents", headers=admin, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert (h.count(engine, m.ConsentRecord), h.count(engine, m.AdminAction)) == before


def test_withdrawing_starts_the_removal(
    client: TestClient, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    citizen = h.citizen_in(engine, 1)
    consent = h.live_consent_id(engine, citizen)
    lock = h.home_lock_of(engine, citizen)
    blank = client.post(
        f"{API}/consents/{consent}/withdraw", headers=admin, json={"withdrawn_by_name": "  "}
    )
    assert blank.status_code == 400
    response = client.post(
        f"{API}/consents/{consent}/withdraw",
        headers=admin,
        json={"withdrawn_by_name": "Datteren Dorte", "note": "ringede til kontoret"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["citizen_removed"] is True
    assert response.json()["consent"]["withdrawn_by_name"] == "Datteren Dorte"
    with Session(engine) as db:
        row = db.get(m.Citizen, citizen)
        assert row is not None
        assert row.status is e.CitizenStatus.REMOVED
        order = db.execute(
            select(m.WorkOrder)
            .where(m.WorkOrder.citizen_id == citizen)
            .where(m.WorkOrder.kind == e.WorkOrderKind.RESTORE)
        ).scalar_one()
        assert order.trigger is e.WorkOrderTrigger.CONSENT_WITHDRAWN
        entry = db.execute(
            select(m.DenylistEntry)
            .where(m.DenylistEntry.entry_kind == e.DenylistEntryKind.DOOR)
            .where(m.DenylistEntry.entry_key == door_entry_key(lock.serial.encode()))
        ).scalar_one_or_none()
        assert entry is not None
        record = db.get(m.ConsentRecord, consent)
        assert record is not None
        assert record.withdrawal_recorded_by_employee_id == tenants.admin
    twice = client.post(
        f"{API}/consents/{consent}/withdraw", headers=admin, json={"withdrawn_by_name": "X"}
    )
    assert twice.status_code == 409


def _logged_in_doors(scene: Scene, engine: Engine, employee_id: int) -> set[str]:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        number = employee.employee_number
    phone = scene.enrol(employee_id)  # seeded: employee n carries phone n
    response = phone.login(number)
    assert response.status_code == 200, response.text
    return phone.door_ids()


def test_a_home_without_consent_gets_no_key(scene: Scene, engine: Engine, tenants: Tenants) -> None:
    citizen = h.citizen_in(engine, 1)
    lock = h.home_lock_of(engine, citizen)
    h.drop_consents(engine, citizen)
    doors = _logged_in_doors(scene, engine, tenants.worker)
    assert doors, "the worker still has the other citizens' doors"
    assert lock.serial not in doors
    # An emergency key to that home is refused, with a clear error.
    with Session(engine) as db:
        outsider = (
            db.execute(
                select(m.EmployeeDistrict.employee_id)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.EmployeeDistrict.employee_id)
                .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
                .where(m.EmployeeDistrict.district_id == 2)
                .order_by(m.EmployeeDistrict.employee_id)
            )
            .scalars()
            .first()
        )
        assert outsider is not None
    admin = h.actor(engine, tenants.admin)
    with Session(engine) as db, pytest.raises(DomainError) as refused:
        grant_emergency_key(
            db,
            actor=admin,
            employee_id=outsider,
            citizen_id=citizen,
            reason="akut besøg",
            duration=dt.timedelta(hours=1),
            now=START,
        )
    assert refused.value.code == "emergency.no_consent"
    # Recorded again, the home is back in the bundle.
    with Session(engine) as db, db.begin():
        consents.record_consent(
            db,
            actor=admin,
            citizen_id=citizen,
            new=consents.NewConsent(method=e.ConsentMethod.DIGITAL),
            now=START,
        )
    assert lock.serial in _logged_in_doors(scene, engine, tenants.worker)


def test_scoping_of_consents(client: TestClient, engine: Engine, tenants: Tenants) -> None:
    lead = sign_in(client, tenants.lead, engine)
    outside = h.citizen_in(engine, 2)
    inside = h.citizen_in(engine, 1)
    assert client.get(f"{API}/citizens/{inside}/consents", headers=lead).status_code == 200
    assert client.get(f"{API}/citizens/{outside}/consents", headers=lead).status_code == 403
    consent = h.live_consent_id(engine, outside)
    refused = client.post(
        f"{API}/consents/{consent}/withdraw", headers=lead, json={"withdrawn_by_name": "X"}
    )
    assert refused.status_code == 403
    other = sign_in(client, tenants.other_admin, engine)
    assert client.get(f"{API}/citizens/{inside}/consents", headers=other).status_code == 404
    hidden = client.post(
        f"{API}/consents/{consent}/withdraw", headers=other, json={"withdrawn_by_name": "X"}
    )
    assert hidden.status_code == 404
    auditor = sign_in(client, tenants.auditor, engine)
    assert client.get(f"{API}/citizens/{inside}/consents", headers=auditor).status_code == 200
    denied = client.post(
        f"{API}/citizens/{inside}/consents", headers=auditor, json={"method": "digital"}
    )
    assert denied.status_code == 403
    with Session(engine) as db:
        citizen = db.get(m.Citizen, outside)
        assert citizen is not None
        assert citizen.status is e.CitizenStatus.ACTIVE
