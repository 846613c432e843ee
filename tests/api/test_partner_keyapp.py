"""The real key app in a partner worker's hands (issue 15): enrol the company's phone, log in,
see the stairwells by address (no citizen), open in the window, be refused outside it, and
upload the doors' events, which the server attributes to the worker and their company."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.access.org_queries import partner_events_in
from carekey.access.scope import Scope
from carekey.domain import enums as e
from carekey.keyservice.enrolment import _hash_code
from carekey.seed.service import DEMO_PASSWORD
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.api.phone_sim import Scene
from tests.api.test_keyapp_scenario import CODE, Phone
from tests.api.test_partner_keys import MORNING, _company, _door, _expected_doors, _worker


def _code_for(scene: Scene, phone_id: int) -> str:
    code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
    with Session(scene.engine) as session, session.begin():
        session.add(
            m.EnrolmentCode(
                municipality_id=1,
                phone_id=phone_id,
                code_hash=_hash_code(code),
                created_at=scene.clock.now(),
                expires_at=scene.clock.now() + dt.timedelta(hours=1),
            )
        )
    return code


def test_a_partner_worker_uses_the_key_app_and_the_server_knows_who_opened(
    scene: Scene, tenants: Tenants, tmp_path: Path
) -> None:
    del tenants
    scene.clock.advance(MORNING - scene.clock.now())
    company = _company(scene.engine, e.PartnerCategory.NEWSPAPER)
    worker_id, number, phone_id = _worker(scene.engine, company.id)
    phone = Phone(scene, tmp_path / "phone")
    serial = sorted(_expected_doors(scene.engine, company.id, scene.clock.now()))[0]
    phone.doors[serial] = _door(scene, serial)  # commissioned before the morning login
    app = phone.start()
    app.enrol(_code_for(scene, phone_id))
    app.login(number, DEMO_PASSWORD, CODE)
    doors = app.doors()
    assert doors
    assert {d.kind for d in doors} <= {"entrance_controller", "gate_controller"}
    assert all(d.citizen_name == "" and d.address for d in doors)
    assert serial in {d.door_id for d in doors}
    opened = app.open(serial, CODE)
    assert opened.ok, opened.message()
    # The app never asks a door for its log with a partner's keys (the door would refuse and
    # log it, and count a failure in its rate limiter, for nothing).
    ring = [(x.event.kind.name, x.event.reason) for x in phone.doors[serial].flash.ring]
    assert ("REFUSED", "not_permitted") not in ring
    scene.clock.advance(dt.timedelta(hours=2))  # 07:30 local time: the window has closed
    app.unlock(CODE)
    late = app.open(serial, CODE)
    assert not late.ok
    assert late.code == "outside_window"
    assert late.message() == "Nøglen gælder ikke på dette tidspunkt."
    assert app.sync() > 0
    with Session(scene.engine) as session:
        door_id = session.execute(
            select(m.DoorDevice.id).where(m.DoorDevice.serial == serial)
        ).scalar_one()
        events = session.execute(
            select(m.AuditEvent.action, m.AuditEvent.employee_id, m.AuditEvent.citizen_id)
            .where(m.AuditEvent.door_device_id == door_id)
            .where(m.AuditEvent.source == e.AuditSource.DOOR)
            .order_by(m.AuditEvent.door_seq)
        ).all()
        actions = [a for a, _who, _citizen in events]
        assert e.AuditAction.RELAY_PULSED in actions or e.AuditAction.UNLOCKED in actions
        assert e.AuditAction.REFUSED in actions
        assert {who for _a, who, _c in events if who is not None} == {worker_id}
        assert all(citizen is None for _a, _w, citizen in events)
        # The association's partner log (its own stairwells, partner workers only) has them.
        association = session.execute(
            select(m.Property.housing_association_id)
            .join(m.Entrance, m.Entrance.property_id == m.Property.id)
            .join(m.DoorDevice, m.DoorDevice.entrance_id == m.Entrance.id)
            .where(m.DoorDevice.id == door_id)
        ).scalar_one()
        scope = Scope(
            municipality_id=1,
            district_ids=None,
            actor_employee_id=0,
            association_id=association,
        )
        seen = session.execute(
            select(m.AuditEvent.id)
            .where(partner_events_in(scope))
            .where(m.AuditEvent.door_device_id == door_id)
        ).all()
        assert len(seen) >= 2
