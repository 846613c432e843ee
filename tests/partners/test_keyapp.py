"""The company's administrator, over HTTP, reaches the key app of its own worker: an enrolment
code from the portal enrols the company's phone, the worker logs in and gets keys; blocking the
worker or the lost phone in the portal puts exactly their live credentials on the municipality's
denylist (a subject entry, a device entry), and the next heartbeat and login say so."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.protocol import denylist as proto
from carekey.protocol.keys import DeviceKey, DevicePublicKey
from carekey.store import models as m
from tests.api.conftest import Tenants, sign_in
from tests.api.phone_sim import Phone, Scene
from tests.api.test_partner_keys import MORNING, _company, _worker

API = "/api/v1/partner"


def _admin_of(engine: Engine, company_id: int) -> int:
    with Session(engine) as db:
        return db.execute(
            select(m.Employee.id)
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .where(m.Employee.partner_company_id == company_id)
            .where(m.EmployeeRole.role == e.Role.PARTNER_ADMIN)
        ).scalar_one()


def _entries(engine: Engine) -> set[tuple[e.DenylistEntryKind, bytes]]:
    """The denylist's live entries (kind, key), as the doors would get them."""
    with Session(engine) as db:
        return {
            (row.entry_kind, row.entry_key)
            for row in db.execute(
                select(m.DenylistEntry).where(m.DenylistEntry.removed_in_version.is_(None))
            ).scalars()
        }


def _live(engine: Engine, **which: int) -> list[m.IssuedCredential]:
    with Session(engine) as db:
        stmt = select(m.IssuedCredential).where(m.IssuedCredential.revoked_at.is_(None))
        for name, value in which.items():
            stmt = stmt.where(getattr(m.IssuedCredential, name) == value)
        return list(db.execute(stmt).scalars())


@pytest.fixture
def enrolled(scene: Scene, tenants: Tenants) -> tuple[Scene, Phone, dict[str, str], int, int]:
    """The newspaper company's worker, on a phone the company's administrator enrolled with a
    code from the portal, logged in at 05:30 (inside the company's windows)."""
    del tenants
    scene.clock.advance(MORNING - scene.clock.now())
    company = _company(scene.engine, e.PartnerCategory.NEWSPAPER)
    worker_id, number, phone_id = _worker(scene.engine, company.id)
    admin = sign_in(scene.client, _admin_of(scene.engine, company.id), scene.engine)
    code = scene.client.post(f"{API}/phones/{phone_id}/enrolment-code", headers=admin)
    assert code.status_code == 200, code.text
    key = DeviceKey.generate()
    enrol = scene.client.post(
        "/api/v1/app/enrol",
        json={
            "code": code.json()["code"],
            "public_key": base64.b64encode(key.public.compressed).decode(),
        },
    )
    assert enrol.status_code == 200, enrol.text
    # The code works once.
    again = scene.client.post(
        "/api/v1/app/enrol",
        json={
            "code": code.json()["code"],
            "public_key": base64.b64encode(DeviceKey.generate().public.compressed).decode(),
        },
    )
    assert again.status_code == 401
    phone = Phone(scene.client, phone_id, key)
    login = phone.login(number)
    assert login.status_code == 200, login.text
    assert phone.door_ids(), "the newspaper company has stairwells under its agreements"
    return scene, phone, admin, worker_id, phone_id


def test_blocking_a_worker_denylists_exactly_their_subject_and_the_app_is_wiped(
    enrolled: tuple[Scene, Phone, dict[str, str], int, int],
) -> None:
    scene, phone, admin, worker_id, _phone_id = enrolled
    live = _live(scene.engine, employee_id=worker_id)
    assert live
    before = _entries(scene.engine)
    blocked = scene.client.post(
        f"{API}/workers/{worker_id}/block", headers=admin, json={"reason": "stoppet"}
    )
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["changed"] is True
    assert blocked.json()["denylist_version"] is not None
    subject = proto.subject_id(f"e{worker_id}")
    assert _entries(scene.engine) - before == {(e.DenylistEntryKind.SUBJECT, subject)}
    assert _live(scene.engine, employee_id=worker_id) == []
    assert phone.heartbeat()["status"] == "WIPE"
    _id, number, _phone = _worker(
        scene.engine, _company(scene.engine, e.PartnerCategory.NEWSPAPER).id
    )
    login = phone.login(number)
    assert login.status_code == 403
    assert login.json()["error"]["code"] == "auth.employee_blocked"
    with Session(scene.engine) as db:
        action = db.execute(
            select(m.AdminAction)
            .where(m.AdminAction.action == "employee.blocked")
            .where(m.AdminAction.target_id == str(worker_id))
        ).scalar_one()
        assert action.reason == "stoppet"


def test_blocking_a_lost_phone_denylists_its_device_key_and_the_app_is_wiped(
    enrolled: tuple[Scene, Phone, dict[str, str], int, int],
) -> None:
    scene, phone, admin, worker_id, phone_id = enrolled
    assert _live(scene.engine, phone_id=phone_id)
    before = _entries(scene.engine)
    blocked = scene.client.post(
        f"{API}/phones/{phone_id}/block",
        headers=admin,
        json={"reason": "tabt på ruten", "lost": True},
    )
    assert blocked.status_code == 200, blocked.text
    with Session(scene.engine) as db:
        row = db.get(m.Phone, phone_id)
        assert row is not None
        assert row.public_key is not None
        assert row.status is e.PhoneStatus.LOST
        device = DevicePublicKey(row.public_key).key_id
    assert _entries(scene.engine) - before == {(e.DenylistEntryKind.DEVICE, device)}
    assert _live(scene.engine, phone_id=phone_id) == []
    assert phone.heartbeat()["status"] == "WIPE"
    _id, number, _phone = _worker(
        scene.engine, _company(scene.engine, e.PartnerCategory.NEWSPAPER).id
    )
    assert phone.login(number).status_code == 403
    # The worker is not blocked: only the phone is.
    with Session(scene.engine) as db:
        worker = db.get(m.Employee, worker_id)
        assert worker is not None
        assert worker.status is e.EmployeeStatus.ACTIVE
