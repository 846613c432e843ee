# ruff: noqa: F811 - the fixtures are imported by name: conftest.py of this folder is the portal's
"""An errand end to end, on SQLite and PostgreSQL: the company's administrator requests it over
the API, the worker's next heartbeat says REFRESH, the new bundle holds a key for the errand's
entrance only and for the errand's period only, the door opens in that period and not before
or after; cancelling puts that key on the denylist and the next bundle is empty again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import (  # noqa: F401 - fixtures
    Tenants,
    client,
    clock,
    scene,
    tenants,
)
from tests.api.phone_sim import Scene
from tests.api.test_partner_keys import _door, _enrol
from tests.partners.errand_world import (  # noqa: F401 - the fixture
    ErrandWorld,
    headers,
    local,
    world,
)

API = "/api/v1/partner/errands"


def _errand_rows(engine: Engine, errand_id: int) -> list[m.IssuedCredential]:
    with Session(engine) as db:
        return list(
            db.execute(
                select(m.IssuedCredential).where(m.IssuedCredential.errand_id == errand_id)
            ).scalars()
        )


def _denylisted(engine: Engine) -> set[bytes]:
    with Session(engine) as db:
        return set(
            db.execute(
                select(m.DenylistEntry.entry_key)
                .where(m.DenylistEntry.entry_kind == e.DenylistEntryKind.CREDENTIAL)
                .where(m.DenylistEntry.removed_in_version.is_(None))
            ).scalars()
        )


def test_an_errand_reaches_the_worker_s_keys_for_its_entrance_and_period_only(
    scene: Scene, engine: Engine, world: ErrandWorld
) -> None:
    p = world.p
    scene.clock.advance(local(26, 8, 15) - scene.clock.now())  # Thursday 08:15, in the window
    phone = _enrol(scene, p.phone)
    assert phone.login(p.worker_number).status_code == 200
    assert phone.door_ids() == set(), "the parcel agreement gives keys only per errand"
    auth = headers(scene.client, engine, p.admin)
    begins, ends = local(26, 9), local(26, 11)
    made = scene.client.post(
        API,
        json={
            "agreement_id": p.agreement,
            "entrance_id": p.entrance,
            "employee_id": p.worker,
            "reference": "MAD-0815",
            "recipient": "Hansen, 2. th.",
            "not_before": begins.isoformat(),
            "not_after": ends.isoformat(),
        },
        headers=auth,
    )
    assert made.status_code == 201, made.text
    errand_id = made.json()["id"]

    assert phone.heartbeat()["status"] == "REFRESH"
    assert phone.refresh().status_code == 200
    assert phone.door_ids() == {p.entrance_serial}
    (body,) = phone.bundle["credentials"]
    assert body["errand_id"] == errand_id
    assert dt.datetime.fromisoformat(body["expires_at"]) <= ends
    (row,) = _errand_rows(engine, errand_id)
    assert row.not_before >= begins
    assert row.expires_at <= ends
    assert row.employee_id == p.worker

    door = _door(scene, p.entrance_serial)
    early = phone.visit(door)
    assert not early.ok
    assert early.response.result == "not_yet_valid"
    scene.clock.advance(begins + dt.timedelta(minutes=10) - scene.clock.now())
    door.clock.set(scene.clock.now())
    assert phone.visit(door).ok

    cancelled = scene.client.post(
        f"{API}/{errand_id}/cancel", json={"reason": "leveret i går"}, headers=auth
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["denylist_version"] is not None
    assert row.credential_id in _denylisted(engine)
    assert all(r.revoked_at is not None for r in _errand_rows(engine, errand_id))
    assert phone.heartbeat()["status"] == "REFRESH"
    assert phone.refresh().status_code == 200
    assert phone.door_ids() == set()


def test_an_errand_for_one_worker_gives_another_worker_nothing(
    scene: Scene, engine: Engine, world: ErrandWorld
) -> None:
    p = world.p
    scene.clock.advance(local(26, 8, 15) - scene.clock.now())
    with Session(engine) as db:
        other = (
            db.execute(
                select(m.Employee)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .where(m.Employee.partner_company_id == p.id)
                .where(m.EmployeeRole.role == e.Role.PARTNER_WORKER)
                .where(m.Employee.id != p.worker)
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        assert other is not None
        other_phone = db.execute(
            select(m.Phone.id).where(m.Phone.employee_id == other.id)
        ).scalar_one()
        other_number = other.employee_number
    phone = _enrol(scene, other_phone)
    assert phone.login(other_number).status_code == 200
    auth = headers(scene.client, engine, p.admin)
    made = scene.client.post(
        API,
        json={
            "agreement_id": p.agreement,
            "entrance_id": p.entrance,
            "employee_id": p.worker,
            "reference": "MAD-0816",
            "recipient": "Nielsen, st.",
            "not_before": local(26, 9).isoformat(),
            "not_after": local(26, 10).isoformat(),
        },
        headers=auth,
    )
    assert made.status_code == 201
    phone.heartbeat()
    assert phone.refresh().status_code == 200
    assert phone.door_ids() == set()
