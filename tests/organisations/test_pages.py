"""The register's pages: the lists and the forms to register, a duplicate kept on the form with
a clear message in Danish and English, first users, the block of a company and its undo, and an
auditor who reads without forms."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.adminui.security import LANGUAGE_COOKIE
from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.domain.partner_policy import valid_cvr_near
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.web.conftest import csrf_of, web_sign_in


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _signed_in(client: TestClient, clock: FrozenClock, engine: Engine, employee_id: int) -> str:
    web_sign_in(client, clock, _number(engine, employee_id))
    page = client.get("/organisations")
    return csrf_of(page.text)


def test_register_a_company_and_a_duplicate_keeps_the_form(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    csrf = _signed_in(client, clock, engine, tenants.admin)
    page = client.get("/organisations")
    assert page.status_code == 200
    assert 'action="/organisations/companies"' in page.text
    assert 'action="/organisations/associations"' in page.text
    with Session(engine) as session:
        seeded = (
            session.execute(
                select(m.HousingAssociation).where(m.HousingAssociation.municipality_id == 1)
            )
            .scalars()
            .all()
        )
    assert all(f'href="/organisations/associations/{a.id}"' in page.text for a in seeded)

    cvr = valid_cvr_near(60_000_000)
    form = {
        "name": "Morgenaviser ApS",
        "organisation_kind": "company",
        "cvr": f"{cvr[:4]} {cvr[4:]}",
        "category": "newspaper",
        "contact_email": "kontakt@aviser.example",
        "csrf_token": csrf,
    }
    made = client.post("/organisations/companies", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    detail = client.get(made.headers["location"])
    assert "Morgenaviser ApS" in detail.text
    assert cvr in detail.text
    assert "Firma registreret" in detail.text  # the history of the company
    assert 'action="/organisations/companies/' in detail.text  # block and first admin

    twice = client.post("/organisations/companies", data={**form, "name": "Igen ApS"})
    assert twice.status_code == 409
    assert "allerede registreret et firma med det CVR-nummer" in twice.text
    assert 'value="Igen ApS"' in twice.text  # what was typed stays on the form
    client.cookies.set(LANGUAGE_COOKIE, "en")
    english = client.post("/organisations/companies", data={**form, "name": "Igen ApS"})
    assert english.status_code == 409
    assert "already registered a company with that CVR number" in english.text
    assert "Partner companies" in english.text
    bad = client.post("/organisations/companies", data={**form, "cvr": "12345678"})
    assert bad.status_code == 400
    assert "is not a valid CVR number" in bad.text


def test_register_an_association_and_its_first_user(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    csrf = _signed_in(client, clock, engine, tenants.admin)
    made = client.post(
        "/organisations/associations",
        data={
            "name": "Andelsboligforeningen Syd",
            "cvr": "",
            "contact_email": "",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    url = made.headers["location"].split("?")[0]
    user = {
        "employee_number": "SYD-1",
        "full_name": "Signe Syd",
        "email": "signe@syd.example",
        "password": "en-god-adgangskode",
        "csrf_token": csrf,
    }
    created = client.post(f"{url}/users", data=user, follow_redirects=False)
    assert created.status_code == 303, created.text
    page = client.get(created.headers["location"])
    assert "Signe Syd" in page.text
    assert "Foreningsbruger" in page.text
    assert "Engangskoden sættes op ved første login" in page.text
    again = client.post(f"{url}/users", data=user)
    assert again.status_code == 409
    assert "allerede en bruger med det medarbejdernummer" in again.text
    weak = client.post(
        f"{url}/users", data={**user, "employee_number": "SYD-2", "password": "kort"}
    )
    assert weak.status_code == 400
    with Session(engine) as session:
        people = (
            session.execute(
                select(m.Employee.employee_number).where(m.Employee.employee_number.like("SYD-%"))
            )
            .scalars()
            .all()
        )
    assert people == ["SYD-1"]


def test_block_and_unblock_a_company_from_its_page(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    csrf = _signed_in(client, clock, engine, tenants.admin)
    with Session(engine) as session:
        company = (
            session.execute(select(m.PartnerCompany).where(m.PartnerCompany.municipality_id == 1))
            .scalars()
            .first()
        )
        assert company is not None
    url = f"/organisations/companies/{company.id}"
    no_reason = client.post(f"{url}/block", data={"reason": " ", "csrf_token": csrf})
    assert no_reason.status_code == 400
    assert "Angiv en begrundelse" in no_reason.text
    blocked = client.post(
        f"{url}/block", data={"reason": "misbrug", "csrf_token": csrf}, follow_redirects=False
    )
    assert blocked.status_code == 303
    page = client.get(blocked.headers["location"])
    assert "dets medarbejdere får ingen nøgler" in page.text
    assert "Begrundelse: misbrug" in page.text
    assert f'action="{url}/unblock"' in page.text
    assert f'action="{url}/block"' not in page.text
    with Session(engine) as session:
        row = session.get(m.PartnerCompany, company.id)
        assert row is not None
        assert row.status is e.PartnerStatus.BLOCKED
    lifted = client.post(
        f"{url}/unblock", data={"reason": "afklaret", "csrf_token": csrf}, follow_redirects=False
    )
    assert lifted.status_code == 303
    assert "Spærringen af firmaet er ophævet" in client.get(lifted.headers["location"]).text


def test_an_auditor_reads_the_register_without_forms(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    _signed_in(client, clock, engine, tenants.auditor)
    page = client.get("/organisations")
    assert page.status_code == 200
    assert '<form method="post" action="/organisations' not in page.text
    assert 'href="/organisations"' in page.text  # the menu shows the register to auditors too
    detail = client.get("/organisations/companies/1")
    assert detail.status_code == 200
    assert "/block" not in detail.text
