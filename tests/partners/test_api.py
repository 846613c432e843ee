"""The partner company's API (``/api/v1/partner``), on SQLite and PostgreSQL: the overview and
agreements of its own company only, its people and phones (create, password, phone holder,
enrolment code, block and unblock), clear errors for bad input, and tenancy: company P's
administrator neither sees nor touches Q's people, phones or agreements, nor the municipality's
own; nobody but a company's administrator has the portal."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.auth.passwords import verify_password
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.partners.conftest import Companies, headers

API = "/api/v1/partner"


def _people_of(engine: Engine, company: int) -> set[str]:
    with Session(engine) as db:
        return set(
            db.execute(
                select(m.Employee.employee_number).where(m.Employee.partner_company_id == company)
            ).scalars()
        )


def _phones_of(engine: Engine, company: int) -> set[str]:
    with Session(engine) as db:
        return set(
            db.execute(select(m.Phone.label).where(m.Phone.partner_company_id == company)).scalars()
        )


def _row(engine: Engine, model: type[Any], object_id: int) -> Any:
    with Session(engine) as db:
        row = db.get(model, object_id)
        db.expunge_all()
        return row


def test_the_overview_is_the_companys_own_with_its_agreements_and_staff(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    p = headers(client, engine, companies.p_admin)
    body = client.get(API, headers=p).json()
    assert body["company"]["id"] == companies.p
    assert sorted(a["id"] for a in body["agreements"]) == companies.p_agreements
    assert body["people"] == len(_people_of(engine, companies.p))
    assert body["phones"] == len(_phones_of(engine, companies.p))
    agreement = body["agreements"][0]
    assert agreement["time_zone"] == "Europe/Copenhagen"
    assert agreement["windows"]
    assert agreement["doors"]
    assert {d["kind"] for a in body["agreements"] for d in a["doors"]} <= {
        "entrance_controller",
        "gate_controller",
    }
    listed = client.get(f"{API}/agreements", headers=p).json()
    assert sorted(a["id"] for a in listed) == companies.p_agreements
    assert not set(companies.q_agreements) & {a["id"] for a in listed}


def test_an_agreement_blocked_by_the_association_shows_as_blocked(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    blocked = companies.p_agreements[0]
    with Session(engine) as db, db.begin():
        agreement = db.get(m.Agreement, blocked)
        assert agreement is not None
        agreement.blocked = True
        agreement.blocked_reason = "foreningens interne grund"
        agreement.blocked_at = agreement.valid_from
    listed = client.get(f"{API}/agreements", headers=headers(client, engine, companies.p_admin))
    found = next(a for a in listed.json() if a["id"] == blocked)
    assert found["state"] == "blocked"
    assert found["blocked"] is True
    # The association's own reason stays the association's.
    assert "foreningens interne grund" not in listed.text


def test_lists_hold_the_companys_own_people_and_phones_only(
    client: TestClient, engine: Engine, companies: Companies, tenants: Tenants
) -> None:
    p = headers(client, engine, companies.p_admin)
    workers = client.get(f"{API}/workers", params={"limit": 200}, headers=p).json()
    assert {w["employee_number"] for w in workers["items"]} == _people_of(engine, companies.p)
    assert workers["total"] == len(_people_of(engine, companies.p))
    only = client.get(f"{API}/workers", params={"role": "partner_worker"}, headers=p).json()
    assert all(w["roles"] == ["partner_worker"] for w in only["items"])
    phones = client.get(f"{API}/phones", params={"limit": 200}, headers=p).json()
    assert {x["label"] for x in phones["items"]} == _phones_of(engine, companies.p)
    worker = next(w for w in workers["items"] if w["id"] == companies.p_worker)
    assert [x["id"] for x in worker["phones"]] == [companies.p_phone]
    assert "password" not in str(worker.keys()).replace("password_set", "")
    municipal = _row(engine, m.Employee, tenants.worker)
    assert municipal.employee_number not in {w["employee_number"] for w in workers["items"]}


def test_the_administrator_creates_a_worker_and_sets_a_password(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    p = headers(client, engine, companies.p_admin)
    created = client.post(
        f"{API}/workers",
        headers=p,
        json={"employee_number": "P01-NY1", "full_name": "Nina Nybud", "email": "nina@bud.example"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["roles"] == ["partner_worker"]
    assert body["password_set"] is False
    person = _row(engine, m.Employee, body["id"])
    assert person.partner_company_id == companies.p
    assert person.housing_association_id is None
    weak = client.post(f"{API}/workers/{body['id']}/password", headers=p, json={"password": "kort"})
    assert weak.status_code == 400
    assert weak.json()["error"]["code"] == "employee.weak_password"
    done = client.post(
        f"{API}/workers/{body['id']}/password", headers=p, json={"password": "lang-nok-kode-1"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["password_set"] is True
    assert verify_password(_row(engine, m.Employee, body["id"]).password_hash, "lang-nok-kode-1")
    assert "lang-nok-kode-1" not in done.text
    with Session(engine) as db:
        actions = list(
            db.execute(
                select(m.AdminAction.action, m.AdminAction.details)
                .where(m.AdminAction.target_id == str(body["id"]))
                .order_by(m.AdminAction.id)
            )
        )
    assert [a for a, _d in actions] == ["partner.worker_created", "employee.password_set"]
    assert "lang-nok-kode-1" not in str(actions)


def test_another_administrator_and_no_other_role(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    p = headers(client, engine, companies.p_admin)
    admin = client.post(
        f"{API}/workers",
        headers=p,
        json={"employee_number": "P01-ADM2", "full_name": "Anden Admin", "role": "partner_admin"},
    )
    assert admin.status_code == 201, admin.text
    assert admin.json()["roles"] == ["partner_admin"]
    for role in ("administrator", "care_worker", "association_user"):
        refused = client.post(
            f"{API}/workers",
            headers=p,
            json={"employee_number": f"P01-{role}", "full_name": "Nogen", "role": role},
        )
        assert refused.status_code == 400, (role, refused.text)
        assert refused.json()["error"]["code"] == "partner.bad_role"
    assert not {f"P01-{r}" for r in ("administrator", "care_worker")} & _people_of(
        engine, companies.p
    )


def test_an_employee_number_is_unique_in_the_municipality(
    client: TestClient, engine: Engine, companies: Companies, tenants: Tenants
) -> None:
    p = headers(client, engine, companies.p_admin)
    municipal = _row(engine, m.Employee, tenants.worker).employee_number
    for number in (municipal, "P02-001"):
        taken = client.post(
            f"{API}/workers", headers=p, json={"employee_number": number, "full_name": "Dublet"}
        )
        assert taken.status_code == 409, taken.text
        assert taken.json()["error"]["code"] == "employee.number_taken"
        assert taken.json()["error"]["message"].startswith("Kommunen har allerede")
    blank = client.post(
        f"{API}/workers", headers=p, json={"employee_number": " ", "full_name": "X"}
    )
    assert blank.status_code == 400
    assert blank.json()["error"]["code"] == "employee.bad_number"


def test_the_administrator_registers_a_phone_to_a_worker_and_hands_it_on(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    p = headers(client, engine, companies.p_admin)
    created = client.post(
        f"{API}/phones",
        headers=p,
        json={"label": "P01-TLF-NY", "model": "Fairphone 5", "employee_id": companies.p_worker},
    )
    assert created.status_code == 201, created.text
    phone = created.json()
    assert phone["holder"]["id"] == companies.p_worker
    assert phone["enrolled"] is False
    assert _row(engine, m.Phone, phone["id"]).partner_company_id == companies.p
    epoch = _row(engine, m.Phone, phone["id"]).session_epoch
    freed = client.post(f"{API}/phones/{phone['id']}/holder", headers=p, json={"employee_id": None})
    assert freed.status_code == 200
    assert freed.json()["holder"] is None
    assert _row(engine, m.Phone, phone["id"]).session_epoch == epoch + 1
    # A phone is never an administrator's (they get no keys).
    to_admin = client.post(
        f"{API}/phones/{phone['id']}/holder", headers=p, json={"employee_id": companies.p_admin}
    )
    assert to_admin.status_code == 400
    assert to_admin.json()["error"]["code"] == "partner.not_a_worker"
    taken = client.post(f"{API}/phones", headers=p, json={"label": "P02-TLF-001"})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "phone.label_taken"


def test_an_enrolment_code_is_shown_once_and_a_blocked_phone_gets_none(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    p = headers(client, engine, companies.p_admin)
    code = client.post(f"{API}/phones/{companies.p_phone}/enrolment-code", headers=p)
    assert code.status_code == 200, code.text
    assert len(code.json()["code"]) == 14
    with Session(engine) as db:
        stored = db.execute(
            select(m.EnrolmentCode).where(m.EnrolmentCode.phone_id == companies.p_phone)
        ).scalar_one()
        assert code.json()["code"] not in stored.code_hash
        assert stored.created_by_employee_id == companies.p_admin
    blocked = client.post(
        f"{API}/phones/{companies.p_phone}/block", headers=p, json={"reason": "mistet i bussen"}
    )
    assert blocked.status_code == 200
    assert _row(engine, m.Phone, companies.p_phone).blocked_reason == "mistet i bussen"
    refused = client.post(f"{API}/phones/{companies.p_phone}/enrolment-code", headers=p)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "enrolment.phone_blocked"
    unblocked = client.post(
        f"{API}/phones/{companies.p_phone}/unblock", headers=p, json={"reason": "fundet"}
    )
    assert unblocked.status_code == 200
    assert _row(engine, m.Phone, companies.p_phone).status is e.PhoneStatus.ACTIVE


def test_block_and_unblock_a_worker_with_a_reason_and_never_oneself(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    p = headers(client, engine, companies.p_admin)
    url = f"{API}/workers/{companies.p_worker}"
    empty = client.post(f"{url}/block", headers=p, json={"reason": ""})
    assert empty.status_code == 422
    blocked = client.post(f"{url}/block", headers=p, json={"reason": "fratrådt"})
    assert blocked.status_code == 200, blocked.text
    person = _row(engine, m.Employee, companies.p_worker)
    assert person.status is e.EmployeeStatus.BLOCKED
    assert person.blocked_reason == "fratrådt"
    again = client.post(f"{url}/block", headers=p, json={"reason": "igen"})
    assert again.json()["changed"] is False
    unblocked = client.post(f"{url}/unblock", headers=p, json={"reason": "genansat"})
    assert unblocked.status_code == 200
    assert _row(engine, m.Employee, companies.p_worker).status is e.EmployeeStatus.ACTIVE
    self_block = client.post(
        f"{API}/workers/{companies.p_admin}/block", headers=p, json={"reason": "ups"}
    )
    assert self_block.status_code == 409
    assert self_block.json()["error"]["code"] == "partner.block_self"
    with Session(engine) as db:
        reasons = list(
            db.execute(
                select(m.AdminAction.action, m.AdminAction.reason)
                .where(m.AdminAction.target_type == "employee")
                .where(m.AdminAction.target_id == str(companies.p_worker))
                .order_by(m.AdminAction.id)
            )
        )
    assert reasons == [("employee.blocked", "fratrådt"), ("employee.unblocked", "genansat")]


def _attempts(companies: Companies, q_worker: int, q_phone: int) -> list[tuple[str, Any]]:
    return [
        (f"{API}/workers/{q_worker}/block", {"reason": "x"}),
        (f"{API}/workers/{q_worker}/unblock", {"reason": "x"}),
        (f"{API}/workers/{q_worker}/password", {"password": "en-lang-kode-123"}),
        (f"{API}/phones/{q_phone}/block", {"reason": "x"}),
        (f"{API}/phones/{q_phone}/unblock", {"reason": "x"}),
        (f"{API}/phones/{q_phone}/holder", {"employee_id": None}),
        (f"{API}/phones/{q_phone}/enrolment-code", None),
        (f"{API}/phones", {"label": "P01-TLF-ANDEN", "employee_id": q_worker}),
        (f"{API}/phones/{companies.p_phone}/holder", {"employee_id": q_worker}),
    ]


def test_another_companys_and_the_municipalitys_people_and_phones_are_not_found(
    client: TestClient, engine: Engine, companies: Companies, tenants: Tenants
) -> None:
    p = headers(client, engine, companies.p_admin)
    targets = [
        (companies.q_worker, companies.q_phone),  # company Q's
        (tenants.worker, tenants.worker_phone),  # the municipality's own care worker and phone
        (tenants.other_employee, tenants.other_phone),  # Frederiksberg's
    ]
    before = {
        (model, i): (_row(engine, model, i).status, _row(engine, model, i).session_epoch)
        for worker, phone in targets
        for model, i in ((m.Employee, worker), (m.Phone, phone))
    }
    for worker, phone in targets:
        for url, body in _attempts(companies, worker, phone):
            answer = client.post(url, headers=p, json=body)
            assert answer.status_code == 404, (url, answer.text)
    after = {
        (model, i): (_row(engine, model, i).status, _row(engine, model, i).session_epoch)
        for model, i in before
    }
    assert after == before
    with Session(engine) as db:
        assert not db.execute(
            select(m.EnrolmentCode).where(m.EnrolmentCode.phone_id.in_([p for _w, p in targets]))
        ).first()
        assert _row(engine, m.Phone, companies.p_phone).employee_id == companies.p_worker
    # Q's administrator is just as blind to P's.
    q = headers(client, engine, companies.q_admin)
    assert (
        client.post(
            f"{API}/workers/{companies.p_worker}/block", headers=q, json={"reason": "x"}
        ).status_code
        == 404
    )
    listed = client.get(f"{API}/workers", params={"limit": 200}, headers=q).json()
    assert companies.p_worker not in {w["id"] for w in listed["items"]}


@pytest.mark.parametrize("who", ["admin", "auditor", "lead", "association"])
def test_nobody_but_a_companys_administrator_has_the_portal(
    who: str, client: TestClient, engine: Engine, companies: Companies, tenants: Tenants
) -> None:
    person = {
        "admin": tenants.admin,
        "auditor": tenants.auditor,
        "lead": tenants.lead,
    }.get(who)
    if person is None:
        with Session(engine) as db:
            person = db.execute(
                select(m.Employee.id).where(m.Employee.employee_number == "B001")
            ).scalar_one()
    h = headers(client, engine, person)
    for url in (API, f"{API}/workers", f"{API}/phones", f"{API}/agreements"):
        assert client.get(url, headers=h).status_code == 403, (who, url)
    answer = client.post(
        f"{API}/workers/{companies.p_worker}/block", headers=h, json={"reason": "x"}
    )
    assert answer.status_code == 403
    assert _row(engine, m.Employee, companies.p_worker).status is e.EmployeeStatus.ACTIVE


def test_a_partner_worker_cannot_get_an_office_token(
    client: TestClient, engine: Engine, companies: Companies
) -> None:
    from carekey.seed.service import DEMO_PASSWORD

    answer = client.post(
        "/api/v1/auth/token",
        json={
            "municipality": "0101",
            "employee_number": companies.p_worker_number,
            "password": DEMO_PASSWORD,
            "totp_code": "000000",
        },
    )
    assert answer.status_code == 401
