"""The register over the API, on the seeded Copenhagen (three housing associations, three
partner companies with their people) and Frederiksberg: registering, duplicates, first users
who then sign in, the block of a company, and nothing across municipalities."""

from __future__ import annotations

import datetime as dt

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.domain.partner_policy import valid_cvr_near
from carekey.seed.service import DEMO_PASSWORD
from carekey.store import models as m
from tests.api.conftest import Tenants, sign_in
from tests.web.conftest import web_sign_in

ORG = "/api/v1/organisations"
PASSWORD = DEMO_PASSWORD  # the sign-in helper of the pages types it


def _company_of_copenhagen(engine: Engine) -> m.PartnerCompany:
    with Session(engine) as session:
        company = (
            session.execute(
                select(m.PartnerCompany)
                .where(m.PartnerCompany.municipality_id == 1)
                .order_by(m.PartnerCompany.id)
            )
            .scalars()
            .first()
        )
        assert company is not None
        return company


def test_registering_and_duplicates(client: TestClient, tenants: Tenants, engine: Engine) -> None:
    admin = sign_in(client, tenants.admin, engine)
    cvr = valid_cvr_near(50_000_000)
    body = {"name": "Boligselskabet Nord", "cvr": f"DK {cvr}", "reason": "ny"}
    made = client.post(f"{ORG}/associations", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["cvr"] == cvr
    assert made.json()["users"] == []
    again = client.post(f"{ORG}/associations", json={**body, "name": "Igen"}, headers=admin)
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "organisation.cvr_taken"
    assert "CVR-nummer" in error["message"]
    assert "CVR number" in error["message_en"]
    bad = client.post(f"{ORG}/associations", json={"name": "X", "cvr": "1234"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "partner.bad_cvr"

    company = {"name": "Pakkepost ApS", "cvr": cvr, "category": "parcel"}
    made = client.post(f"{ORG}/companies", json=company, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "active"
    assert made.json()["organisation_kind"] == "company"
    # An association and a company are registers of their own: the same CVR number in each.
    twice = client.post(f"{ORG}/companies", json=company, headers=admin)
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "organisation.cvr_taken"
    without = client.post(
        f"{ORG}/companies", json={"name": "Uden", "category": "post"}, headers=admin
    )
    assert without.status_code == 422
    assert without.json()["error"]["code"] == "partner.not_approved"
    names = [c["name"] for c in client.get(f"{ORG}/companies", headers=admin).json()]
    assert "Pakkepost ApS" in names
    actions = client.get(
        "/api/v1/admin/actions", params={"target_type": "partner_company"}, headers=admin
    ).json()["items"]
    assert [a["action"] for a in actions] == ["company.registered"]
    # The code in words too (issue 18: no raw codes where a person reads).
    assert (actions[0]["what"], actions[0]["what_en"]) == (
        "Firma registreret",
        "Company registered",
    )


def test_frederiksberg_gets_404_for_copenhagens_company(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    company = _company_of_copenhagen(engine)
    other = sign_in(client, tenants.other_admin, engine)
    assert client.get(f"{ORG}/companies", headers=other).json() == []
    assert client.get(f"{ORG}/associations", headers=other).json() == []
    for method, path, body in (
        ("GET", f"/companies/{company.id}", None),
        ("POST", f"/companies/{company.id}/block", {"reason": "x"}),
        ("POST", f"/companies/{company.id}/unblock", {"reason": "x"}),
        (
            "POST",
            f"/companies/{company.id}/admins",
            {"employee_number": "F-P", "full_name": "F", "password": PASSWORD},
        ),
        ("GET", "/associations/1", None),
    ):
        answer = client.request(method, ORG + path, json=body, headers=other)
        assert answer.status_code == 404, (path, answer.text)
        assert company.name not in answer.text
    with Session(engine) as session:
        row = session.get(m.PartnerCompany, company.id)
        assert row is not None
        assert row.status is e.PartnerStatus.ACTIVE


def test_a_partner_administrator_made_by_the_municipality_signs_in_to_their_portal(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    company = _company_of_copenhagen(engine)
    admin = sign_in(client, tenants.admin, engine)
    body = {
        "employee_number": "NY-PARTNER-ADM",
        "full_name": "Ny Partneradministrator",
        "email": "ny@partner.example",
        "password": PASSWORD,
    }
    made = client.post(f"{ORG}/companies/{company.id}/admins", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["roles"] == ["partner_admin"]
    assert made.json()["password_set"] is True
    taken = client.post(f"{ORG}/companies/{company.id}/admins", json=body, headers=admin)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "employee.number_taken"
    detail = client.get(f"{ORG}/companies/{company.id}", headers=admin).json()
    assert "NY-PARTNER-ADM" in [p["employee_number"] for p in detail["people"]]

    # The first sign-in (password, then setting up the second factor) leads to the portal.
    client.cookies.clear()
    secret = web_sign_in(client, clock, "NY-PARTNER-ADM")
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/partner"
    # Then the API with the second factor just set up: its own company in the register, and
    # nothing of the municipality's staff.
    clock.advance(dt.timedelta(seconds=30))
    token = client.post(
        "/api/v1/auth/token",
        json={
            "municipality": "0101",
            "employee_number": "NY-PARTNER-ADM",
            "password": PASSWORD,
            "totp_code": pyotp.TOTP(secret).at(clock.now()),
        },
    )
    assert token.status_code == 200, token.text
    own = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert [c["id"] for c in client.get(f"{ORG}/companies", headers=own).json()] == [company.id]
    assert client.get("/api/v1/admin/employees", headers=own).status_code == 403


def test_blocking_a_company_over_the_api(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    company = _company_of_copenhagen(engine)
    auditor = sign_in(client, tenants.auditor, engine)
    assert company.name in [
        c["name"] for c in client.get(f"{ORG}/companies", headers=auditor).json()
    ]
    refused = client.post(
        f"{ORG}/companies/{company.id}/block", json={"reason": "nej"}, headers=auditor
    )
    assert refused.status_code == 403
    admin = sign_in(client, tenants.admin, engine)
    blocked = client.post(
        f"{ORG}/companies/{company.id}/block", json={"reason": "misbrug af nøgler"}, headers=admin
    )
    assert blocked.status_code == 200, blocked.text
    answer = blocked.json()
    assert answer["changed"] is True
    assert answer["company"]["status"] == "blocked"
    assert answer["company"]["blocked_reason"] == "misbrug af nøgler"
    with Session(engine) as session:
        workers = session.execute(
            select(m.Employee.id)
            .join(m.EmployeeRole)
            .where(m.Employee.partner_company_id == company.id)
            .where(m.EmployeeRole.role == e.Role.PARTNER_WORKER)
        ).all()
    assert answer["workers"] == len(workers) > 0
    no_reason = client.post(f"{ORG}/companies/{company.id}/unblock", json={}, headers=admin)
    assert no_reason.status_code == 422
    lifted = client.post(
        f"{ORG}/companies/{company.id}/unblock", json={"reason": "afklaret"}, headers=admin
    )
    assert lifted.json()["company"]["status"] == "active"
    log = client.get(
        "/api/v1/admin/actions",
        params={"target_type": "partner_company", "target_id": str(company.id)},
        headers=auditor,
    ).json()["items"]
    assert [(a["action"], a["reason"]) for a in log] == [
        ("company.unblocked", "afklaret"),
        ("company.blocked", "misbrug af nøgler"),
    ]


def test_a_web_sign_in_of_an_association_user_lands_on_the_association_portal(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    body = {"employee_number": "NY-FORENING", "full_name": "Ny Bruger", "password": PASSWORD}
    made = client.post(f"{ORG}/associations/1/users", json=body, headers=admin)
    assert made.status_code == 201, made.text
    client.cookies.clear()
    web_sign_in(client, clock, "NY-FORENING")
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/association"
    # The register: its own association, no forms to change it.
    page = client.get("/organisations")
    assert page.status_code == 200
    assert 'action="/organisations/companies"' not in page.text
    assert 'href="/organisations/associations/1"' in page.text
    assert 'href="/organisations/associations/2"' not in page.text
