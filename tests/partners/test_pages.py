"""The partner company's pages, on SQLite and PostgreSQL: signing in lands on the company's
overview (its agreements and windows, never Q's), the page of people and phones (create a
worker, a refused one keeps the form, a password, a phone with a one-time code shown once, a
lost phone blocked, a worker blocked and unblocked), English through the locale; Q's people
and phones are 404; the portal is only the company's administrator's."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.partners.conftest import Companies
from tests.web.conftest import csrf_of, web_sign_in


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _sign_in(client: TestClient, clock: FrozenClock, engine: Engine, who: int) -> str:
    web_sign_in(client, clock, _number(engine, who))
    return csrf_of(client.get("/partner/staff").text)


def _name(engine: Engine, model: type[m.PartnerCompany], company: int) -> str:
    with Session(engine) as db:
        row = db.get(model, company)
        assert row is not None
        return row.name


def test_sign_in_lands_on_the_companys_overview_with_its_agreements(
    client: TestClient, clock: FrozenClock, engine: Engine, companies: Companies
) -> None:
    web_sign_in(client, clock, _number(engine, companies.p_admin))
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/partner"
    page = client.get("/partner")
    assert page.status_code == 200
    assert _name(engine, m.PartnerCompany, companies.p) in page.text
    assert _name(engine, m.PartnerCompany, companies.q) not in page.text
    with Session(engine) as db:
        names = {
            a.id: db.get(m.HousingAssociation, a.housing_association_id).name  # type: ignore[union-attr]
            for a in db.execute(
                select(m.Agreement).where(m.Agreement.partner_company_id == companies.p)
            ).scalars()
        }
    assert all(name in page.text for name in names.values())
    assert re.search(
        r"(mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag)[^<]* \d\d:\d\d–\d\d:\d\d", page.text
    )
    # The portal's menu links to the log of openings and the errands.
    assert 'href="/partner/log"' in page.text
    assert 'href="/partner/errands"' in page.text
    english = client.get("/lang/en?next=/partner", follow_redirects=True)
    assert "Agreements with housing associations" in english.text


def test_the_administrator_creates_a_worker_through_the_form(
    client: TestClient, clock: FrozenClock, engine: Engine, companies: Companies
) -> None:
    token = _sign_in(client, clock, engine, companies.p_admin)
    form = {
        "csrf_token": token,
        "full_name": "Freja Formbud",
        "employee_number": "P01-FORM",
        "role": "partner_worker",
        "password": "en-god-kode-123",
    }
    done = client.post("/partner/workers", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/partner/staff?done=worker_created"
    page = client.get(done.headers["location"])
    assert "Freja Formbud" in page.text
    assert "Personen er oprettet." in page.text
    with Session(engine) as db:
        person = db.execute(
            select(m.Employee).where(m.Employee.employee_number == "P01-FORM")
        ).scalar_one()
        assert person.partner_company_id == companies.p
        assert person.password_hash is not None
    taken = client.post("/partner/workers", data={**form, "full_name": "Dublet"})
    assert taken.status_code == 409
    assert "Kommunen har allerede en bruger med det medarbejdernummer" in taken.text
    assert 'value="Dublet"' in taken.text  # the form keeps what was typed


def test_a_phone_gets_a_code_shown_once_and_a_lost_one_is_blocked(
    client: TestClient, clock: FrozenClock, engine: Engine, companies: Companies
) -> None:
    token = _sign_in(client, clock, engine, companies.p_admin)
    created = client.post(
        "/partner/phones",
        data={"csrf_token": token, "label": "P01-TLF-WEB", "employee": str(companies.p_worker)},
        follow_redirects=False,
    )
    assert created.status_code == 303
    with Session(engine) as db:
        phone = db.execute(select(m.Phone).where(m.Phone.label == "P01-TLF-WEB")).scalar_one()
        phone_id = phone.id
        assert phone.partner_company_id == companies.p
        assert phone.employee_id == companies.p_worker
    shown = client.post(f"/partner/phones/{phone_id}/enrolment-code", data={"csrf_token": token})
    assert shown.status_code == 200
    code = re.search(r'data-testid="enrolment-code">([A-Z0-9-]{14})<', shown.text)
    assert code is not None
    assert code.group(1) not in client.get("/partner/staff").text  # shown once
    blocked = client.post(
        f"/partner/phones/{phone_id}/block",
        data={"csrf_token": token, "reason": "tabt", "lost": "1"},
        follow_redirects=False,
    )
    assert blocked.status_code == 303
    with Session(engine) as db:
        row = db.get(m.Phone, phone_id)
        assert row is not None
        assert row.status is e.PhoneStatus.LOST
        assert row.blocked_reason == "tabt"
    refused = client.post(f"/partner/phones/{phone_id}/enrolment-code", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "Telefonen er spærret" in refused.text


def test_a_worker_is_blocked_with_a_reason_and_unblocked(
    client: TestClient, clock: FrozenClock, engine: Engine, companies: Companies
) -> None:
    token = _sign_in(client, clock, engine, companies.p_admin)
    url = f"/partner/workers/{companies.p_worker}"
    no_reason = client.post(f"{url}/block", data={"csrf_token": token, "reason": ""})
    assert no_reason.status_code == 400
    assert "Angiv en begrundelse" in no_reason.text
    blocked = client.post(
        f"{url}/block", data={"csrf_token": token, "reason": "stoppet"}, follow_redirects=False
    )
    assert blocked.status_code == 303
    with Session(engine) as db:
        person = db.get(m.Employee, companies.p_worker)
        assert person is not None
        assert person.status is e.EmployeeStatus.BLOCKED
    client.post(f"{url}/unblock", data={"csrf_token": token})
    with Session(engine) as db:
        person = db.get(m.Employee, companies.p_worker)
        assert person is not None
        assert person.status is e.EmployeeStatus.ACTIVE
    password = client.post(
        f"{url}/password",
        data={"csrf_token": token, "password": "ny-kode-til-appen"},
        follow_redirects=False,
    )
    assert password.headers["location"] == "/partner/staff?done=password_set"


def test_another_companys_people_and_phones_are_404_and_untouched(
    client: TestClient, clock: FrozenClock, engine: Engine, companies: Companies, tenants: Tenants
) -> None:
    token = _sign_in(client, clock, engine, companies.p_admin)
    page = client.get("/partner/staff")
    assert _number(engine, companies.q_worker) not in page.text
    for worker, phone in (
        (companies.q_worker, companies.q_phone),
        (tenants.worker, tenants.worker_phone),
    ):
        for url, data in (
            (f"/partner/workers/{worker}/block", {"reason": "x"}),
            (f"/partner/workers/{worker}/password", {"password": "en-lang-kode-123"}),
            (f"/partner/phones/{phone}/block", {"reason": "x"}),
            (f"/partner/phones/{phone}/enrolment-code", {}),
            (f"/partner/phones/{phone}/holder", {"employee": ""}),
        ):
            answer = client.post(url, data={"csrf_token": token, **data})
            assert answer.status_code == 404, url
    assert client.post("/partner/workers/²/block", data={"csrf_token": token}).status_code == 404
    with Session(engine) as db:
        for worker in (companies.q_worker, tenants.worker):
            person = db.get(m.Employee, worker)
            assert person is not None
            assert person.status is e.EmployeeStatus.ACTIVE
        assert not db.execute(
            select(m.EnrolmentCode).where(m.EnrolmentCode.phone_id == companies.q_phone)
        ).first()


def test_the_portal_is_only_the_companys_administrators(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    web_sign_in(client, clock, _number(engine, tenants.admin))
    assert client.get("/partner").status_code == 403
    assert client.get("/partner/staff").status_code == 403
