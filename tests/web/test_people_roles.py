"""Who may do what on the people pages: auditors nothing, district leads their own districts,
another municipality's administrator nothing of Copenhagen's (404), and no POST without CSRF."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.web.conftest import Tenants, csrf_of, web_sign_in

PAGES = ("/employees", "/phones", "/districts", "/citizens", "/emergency-keys")


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _phone_status(engine: Engine, phone_id: int) -> e.PhoneStatus:
    with Session(engine) as session:
        phone = session.get(m.Phone, phone_id)
        assert phone is not None
        return phone.status


def _in_district(engine: Engine, district_id: int, *, outside: int) -> int:
    """An employee of ``district_id`` who is not in district ``outside``."""
    with Session(engine) as session:
        found = (
            session.execute(
                select(m.EmployeeDistrict.employee_id)
                .where(m.EmployeeDistrict.district_id == district_id)
                .where(
                    m.EmployeeDistrict.employee_id.not_in(
                        select(m.EmployeeDistrict.employee_id).where(
                            m.EmployeeDistrict.district_id == outside
                        )
                    )
                )
                .order_by(m.EmployeeDistrict.employee_id)
            )
            .scalars()
            .first()
        )
        assert found is not None
        return found


def test_an_auditor_reads_the_pages_but_changes_and_blocks_nothing(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    web_sign_in(client, clock, _number(engine, tenants.auditor))
    for path in (*PAGES, f"/employees/{tenants.worker}", f"/phones/{tenants.worker_phone}"):
        response = client.get(path)
        assert response.status_code == 200, path
        # Read-only: no button that changes anything.
        for action in ("/block", "/lost", "/edit", "/new", "/import", "/revoke", "/remove"):
            assert f'{action}"' not in response.text, (path, action)
    for path in ("/employees/import", "/employees/new", "/phones/new", "/citizens/new"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Ingen adgang" in response.text
    token = csrf_of(client.get("/employees").text)
    refused = client.post(
        f"/phones/{tenants.worker_phone}/lost", data={"csrf_token": token, "reason": "Mistet"}
    )
    assert refused.status_code == 403
    refused = client.post(
        f"/employees/{tenants.worker}/block", data={"csrf_token": token, "reason": "Nej"}
    )
    assert refused.status_code == 403
    assert _phone_status(engine, tenants.worker_phone) is e.PhoneStatus.ACTIVE
    with Session(engine) as session:
        worker = session.get(m.Employee, tenants.worker)
        assert worker is not None
        assert worker.status is e.EmployeeStatus.ACTIVE


def test_a_district_lead_sees_and_blocks_only_their_districts(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    web_sign_in(client, clock, _number(engine, tenants.lead))
    stranger = _in_district(engine, 2, outside=1)
    with Session(engine) as session:
        stranger_name = session.get(m.Employee, stranger).full_name  # type: ignore[union-attr]
        worker_name = session.get(m.Employee, tenants.worker).full_name  # type: ignore[union-attr]
        own_citizen, other_citizen = (
            session.execute(
                select(m.Citizen).where(m.Citizen.district_id == d).order_by(m.Citizen.id)
            )
            .scalars()
            .first()
            for d in (1, 2)
        )
        assert own_citizen is not None
        assert other_citizen is not None
    listing = client.get("/employees?size=100")
    assert listing.status_code == 200
    assert worker_name in listing.text
    assert stranger_name not in listing.text
    assert 'href="/employees/new"' in listing.text  # leads add staff to their districts
    assert client.get(f"/employees/{stranger}").status_code == 403
    assert client.get(f"/employees/{tenants.worker}").status_code == 200
    citizens = client.get("/citizens?size=100")
    assert own_citizen.family_name in citizens.text
    assert f'href="/citizens/{other_citizen.id}"' not in citizens.text
    assert f'href="/citizens/{own_citizen.id}/remove"' in citizens.text  # own district
    assert client.get(f"/citizens/{other_citizen.id}").status_code == 403
    districts = client.get("/districts")
    assert "D01" in districts.text
    assert "D02" not in districts.text
    assert client.get("/employees/new").status_code == 200
    assert client.get("/phones/new").status_code == 403  # phones: administrators
    token = csrf_of(listing.text)
    assert (
        client.post(
            f"/citizens/{other_citizen.id}/remove", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 403
    )
    # A lead may block the phone of their own district's worker, not a stranger's.
    blocked = client.post(
        f"/phones/{tenants.worker_phone}/lost", data={"csrf_token": token, "reason": "Mistet"}
    )
    assert blocked.status_code == 200, blocked.text
    assert _phone_status(engine, tenants.worker_phone) is e.PhoneStatus.LOST
    refused = client.post(
        f"/employees/{stranger}/block", data={"csrf_token": token, "reason": "Nej"}
    )
    assert refused.status_code == 403
    # ... and may undo a block in their own districts.
    assert (
        client.post(
            f"/phones/{tenants.worker_phone}/unblock", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 200
    )
    assert _phone_status(engine, tenants.worker_phone) is e.PhoneStatus.ACTIVE


def test_another_municipalitys_admin_gets_404_for_copenhagens_objects(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    web_sign_in(client, clock, "F0001", municipality="0147")
    with Session(engine) as session:
        citizen = (
            session.execute(
                select(m.Citizen.id).where(m.Citizen.municipality_id == 1).order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
    for path in (
        f"/employees/{tenants.worker}",
        f"/employees/{tenants.worker}/edit",
        f"/phones/{tenants.worker_phone}",
        f"/citizens/{citizen}",
        "/districts/1",
        "/employees/999999999999",
        "/phones/not-a-number",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Findes ikke" in response.text
    own = client.get("/employees")
    assert own.status_code == 200
    assert "Finn Hjælper" in own.text
    assert "E00001" not in own.text
    token = csrf_of(own.text)
    response = client.post(
        f"/phones/{tenants.worker_phone}/lost", data={"csrf_token": token, "reason": "Mistet"}
    )
    assert response.status_code == 404
    response = client.post(
        f"/citizens/{citizen}/remove", data={"csrf_token": token, "reason": "Flyttet"}
    )
    assert response.status_code == 404
    assert _phone_status(engine, tenants.worker_phone) is e.PhoneStatus.ACTIVE


def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    web_sign_in(client, clock, _number(engine, tenants.admin))
    for path, body in (
        (f"/phones/{tenants.worker_phone}/lost", {"reason": "Mistet"}),
        (f"/employees/{tenants.worker}/block", {"reason": "Nej"}),
        ("/districts", {"code": "D88", "name": "Uden token"}),
    ):
        response = client.post(path, data=body)
        assert response.status_code == 403, path
    forged = client.post(
        f"/phones/{tenants.worker_phone}/lost",
        data={"reason": "Mistet", "csrf_token": "0" * 64},
    )
    assert forged.status_code == 403
    assert _phone_status(engine, tenants.worker_phone) is e.PhoneStatus.ACTIVE
