"""The people pages: employees (search, pages, create, CSV import), phones (enrolment, one-click
block of a lost phone that the key service then refuses), citizens (one-click removal)."""

from __future__ import annotations

import base64
import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.staff.importing import plan_import
from carekey.store import models as m
from tests.api.phone_sim import Scene
from tests.web.conftest import Tenants, csrf_of, web_sign_in


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _admin(client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants) -> str:
    web_sign_in(client, clock, _number(engine, tenants.admin))
    return csrf_of(client.get("/employees").text)


def test_employees_search_filter_and_pages(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    _admin(client, clock, engine, tenants)
    with Session(engine) as session:
        total = session.execute(
            select(func.count())
            .select_from(m.Employee)
            .where(m.Employee.municipality_id == 1)
            # The housing associations' and partner companies' people are not the
            # municipality's staff: not on this page.
            .where(m.Employee.partner_company_id.is_(None))
            .where(m.Employee.housing_association_id.is_(None))
        ).scalar_one()
        worker = session.get(m.Employee, tenants.worker)
        assert worker is not None
        name = worker.full_name
    first = client.get("/employees?size=10")
    assert first.status_code == 200
    assert f"{total} medarbejdere" in first.text
    assert "Side 1 af" in first.text
    assert first.text.count('href="/employees/') >= 10
    last_page = -(-total // 10)
    last = client.get(f"/employees?size=10&page={last_page}")
    assert f"Side {last_page} af {last_page}" in last.text
    assert 'rel="next"' not in last.text
    found = client.get("/employees", params={"q": _number(engine, tenants.worker)})
    assert name in found.text
    assert "1 medarbejder<" in found.text or "1 employee<" in found.text
    leads = client.get("/employees?role=district_lead")
    assert "Leder Lund" in leads.text
    assert name not in leads.text
    blocked = client.get("/employees?status=blocked")
    assert "Ingen medarbejdere passer" in blocked.text
    # Nonsense in the query string is ignored, not a 500 or a JSON error.
    assert client.get("/employees?page=abc&size=7&district=x&status=nope").status_code == 200
    english = client.get("/lang/en?next=/employees")
    assert english.status_code == 200
    assert "Employees" in client.get("/employees").text


def test_create_employee_and_duplicate_number_keeps_the_form(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    token = _admin(client, clock, engine, tenants)
    body = {
        "csrf_token": token,
        "employee_number": "N9001",
        "full_name": "Nanna Ny",
        "email": "nanna@kk.example",
        "roles": ["care_worker"],
        "district_ids": ["1"],
    }
    created = client.post("/employees/new", data=body, follow_redirects=False)
    assert created.status_code == 303, created.text
    page = client.get(created.headers["location"])
    assert "Nanna Ny" in page.text
    assert "Medarbejder oprettet" in page.text  # the audit trail is on the detail page
    again = client.post("/employees/new", data={**body, "full_name": "Nanna Igen"})
    assert again.status_code == 409
    assert "allerede en medarbejder med det medarbejdernummer" in again.text
    assert 'value="Nanna Igen"' in again.text  # what was typed is kept
    with Session(engine) as session:
        assert (
            session.execute(
                select(func.count())
                .select_from(m.Employee)
                .where(m.Employee.employee_number == "N9001")
            ).scalar_one()
            == 1
        )
    no_role = client.post("/employees/new", data={**body, "employee_number": "N9002", "roles": []})
    assert no_role.status_code == 400
    assert "mindst én rolle" in no_role.text


CSV_GOOD_AND_BAD = (
    "\ufeffmedarbejdernummer;navn;email;roller;distrikter\n"
    "X0001;Anna Andersen;anna@kk.example;plejemedarbejder;D01\n"
    "X0002;;;plejemedarbejder;D01\n"
    "X0003;Bo Bak;bo@kk.example;trylleri;D01\n"
    "X0004;Cia Cold;cia@kk.example;plejemedarbejder|distriktsleder;D01|D02\n"
    "X0005;Dan Dyr;ikke-en-mail;plejemedarbejder;D01\n"
    "X0001;Anna Igen;;plejemedarbejder;D01\n"
    "X0006;Eva Eng;;plejemedarbejder;D99\n"
    "E00002;Gammel Kendt;;;\n"
)
CSV_CLEAN = (
    "Medarbejdernr.;Navn;E-mail;Roller;Distrikter\r\n"
    "X0001;Anna Andersen;ANNA@kk.example;plejemedarbejder;D01\r\n"
    "X0004;  CIA  COLD-ØSTERGÅRD ;cia@kk.example;plejemedarbejder|distriktsleder;D01|D02\r\n"
    ";;;;\r\n"
    "E00002;Gammel Kendt;;;\r\n"
)


def _import_counts(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(
            select(func.count())
            .select_from(m.Employee)
            .where(m.Employee.employee_number.like("X%"))
        ).scalar_one()


def test_csv_import_is_all_or_nothing_after_a_preview(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    token = _admin(client, clock, engine, tenants)
    preview = client.post(
        "/employees/import",
        data={"csrf_token": token},
        files={"file": ("personale.csv", CSV_GOOD_AND_BAD.encode(), "text/csv")},
    )
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert "Intet importeres, før filen er uden fejl" in text
    assert "Filen er læst som UTF-8 (BOM)." in text
    for line, problem in (
        (2, "står også på linje 7"),
        (3, "Navnet skal udfyldes"),
        (4, "Ukendt rolle: trylleri"),
        (6, "E-mailadressen »ikke-en-mail« er ugyldig"),
        (7, "står også på linje 2"),
        (8, "Ukendt distrikt: D99"),
    ):
        assert f"<td>{line}</td>" in text
        assert problem in text
    assert "Oprettes" in text  # line 5's outcome, even though nothing will be written
    assert 'name="digest"' not in text  # no confirmation is offered
    # Confirming anyway (the file's own plan and digest) writes nothing.
    with Session(engine) as session:
        actions = session.execute(select(func.count()).select_from(m.AdminAction)).scalar_one()
    forced = client.post(
        "/employees/import/confirm",
        data={
            "csrf_token": token,
            "content": base64.b64encode(CSV_GOOD_AND_BAD.encode()).decode(),
            "digest": _digest_of(engine, CSV_GOOD_AND_BAD),
        },
    )
    assert forced.status_code == 400
    assert "Intet er importeret" in forced.text
    assert _import_counts(engine) == 0

    clean = client.post(
        "/employees/import",
        data={"csrf_token": token},
        files={"file": ("personale.csv", CSV_CLEAN.encode("cp1252"), "text/csv")},
    )
    assert "Filen er læst som Windows-1252." in clean.text
    assert "Importér 3 rækker" in clean.text
    content = csv_field(clean.text, "content")
    digest = csv_field(clean.text, "digest")
    done = client.post(
        "/employees/import/confirm",
        data={"csrf_token": token, "content": content, "digest": digest},
    )
    assert done.status_code == 200, done.text
    assert "Importen er gennemført" in done.text
    assert "2 medarbejdere oprettet" in done.text
    assert "1 medarbejder opdateret" in done.text
    assert "Oprettet" in done.text
    assert "Opdateret" in done.text
    assert "Oprettes" not in done.text
    with Session(engine) as session:
        numbers = set(
            session.execute(
                select(m.Employee.employee_number).where(m.Employee.employee_number.like("X%"))
            ).scalars()
        )
        assert numbers == {"X0001", "X0004"}
        cia = session.execute(
            select(m.Employee).where(m.Employee.employee_number == "X0004")
        ).scalar_one()
        assert cia.full_name == "Cia Cold-Østergård"
        assert {r.role for r in cia.roles} == {e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD}
        known = session.execute(
            select(m.Employee).where(m.Employee.employee_number == "E00002")
        ).scalar_one()
        assert known.full_name == "Gammel Kendt"  # an existing number is updated
        after = session.execute(select(func.count()).select_from(m.AdminAction)).scalar_one()
        assert after == actions + 3  # two created, one changed: each one audited
    # Confirming the same file again changes the plan (now unchanged): nothing is written blind.
    again = client.post(
        "/employees/import/confirm",
        data={"csrf_token": token, "content": content, "digest": digest},
    )
    assert again.status_code == 409
    assert "intet er gemt" in again.text
    client.cookies.set("carekey_lang", "en")
    english = client.post(
        "/employees/import",
        data={"csrf_token": token},
        files={"file": ("personale.csv", CSV_GOOD_AND_BAD.encode(), "text/csv")},
    )
    assert english.status_code == 200
    assert "Nothing is imported until the file has no errors" in english.text
    assert "Unknown district: D99." in english.text
    assert "1 row has an error." not in english.text
    assert "6 rows have errors." in english.text


def _digest_of(engine: Engine, text: str) -> str:
    """The digest of the plan the administrator would see for ``text``."""
    with Session(engine) as session:
        admin = (
            session.execute(
                select(m.Employee)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .where(m.EmployeeRole.role == e.Role.ADMINISTRATOR)
                .where(m.Employee.municipality_id == 1)
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        assert admin is not None
        actor = Actor(admin.id, 1, frozenset({e.Role.ADMINISTRATOR}), admin.full_name)
        plan = plan_import(session, actor=actor, content=text.encode(), now=dt.datetime.now(dt.UTC))
        session.rollback()
        return plan.digest


def csv_field(html: str, name: str) -> str:
    import re

    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def test_csv_import_all_bad_imports_nothing_and_limits_are_clear(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    token = _admin(client, clock, engine, tenants)
    bad = "medarbejdernummer,navn,roller\nX0101,,plejemedarbejder\nX0102,Ole,ukendt\n"
    preview = client.post(
        "/employees/import",
        data={"csrf_token": token},
        files={"file": ("bad.csv", bad.encode(), "text/csv")},
    )
    assert preview.status_code == 200
    assert "Intet importeres, før filen er uden fejl" in preview.text
    assert 'name="digest"' not in preview.text
    forced = client.post(
        "/employees/import/confirm",
        data={"csrf_token": token, "content": "", "digest": "x"},
    )
    assert forced.status_code == 400
    assert _import_counts(engine) == 0
    big = client.post(
        "/employees/import",
        data={"csrf_token": token},
        files={"file": ("big.csv", b"medarbejdernummer;navn\n" + b"x" * 600_000, "text/csv")},
    )
    assert big.status_code == 413
    assert "for stor" in big.text
    headless = client.post(
        "/employees/import",
        data={"csrf_token": token},
        files={"file": ("h.csv", b"a;b\n1;2\n", "text/csv")},
    )
    assert headless.status_code == 400
    assert "kolonneoverskrifter" in headless.text


def test_block_a_lost_phone_in_one_click_and_the_key_service_refuses_it(
    scene: Scene, client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    phone = scene.enrol(tenants.worker_phone)
    assert phone.login(_number(engine, tenants.worker)).status_code == 200
    _admin(client, clock, engine, tenants)
    listing = client.get("/phones")
    assert f'action="/phones/{tenants.worker_phone}/lost"' in listing.text
    detail = client.get(f"/phones/{tenants.worker_phone}")
    assert "Spær (mistet)" in detail.text
    result = client.post(
        f"/phones/{tenants.worker_phone}/lost",
        data={"csrf_token": csrf_of(detail.text), "reason": "Mistet"},
    )
    assert result.status_code == 200, result.text
    assert "Telefonen er spærret" in result.text
    assert "Døre, der stadig kan acceptere nøglerne" in result.text
    with Session(engine) as session:
        row = session.get(m.Phone, tenants.worker_phone)
        assert row is not None
        assert row.status is e.PhoneStatus.LOST
        assert row.blocked_reason == "Mistet"
        action = session.execute(
            select(m.AdminAction)
            .where(m.AdminAction.target_type == "phone")
            .where(m.AdminAction.target_id == str(tenants.worker_phone))
            .where(m.AdminAction.action == "phone.lost")
        ).scalar_one()
        assert action.actor_employee_id == tenants.admin
        assert action.reason == "Mistet"
    heartbeat = client.post("/api/v1/app/heartbeat", headers=phone.auth)
    assert heartbeat.status_code == 401 or heartbeat.json()["status"] == "WIPE"
    assert phone.login(_number(engine, tenants.worker)).status_code in (401, 403)
    # htmx variant: the row is swapped in place.
    with Session(engine) as session, session.begin():
        other = (
            session.execute(
                select(m.Phone)
                .where(m.Phone.municipality_id == 1)
                .where(m.Phone.status == e.PhoneStatus.ACTIVE)
                .order_by(m.Phone.id)
            )
            .scalars()
            .first()
        )
        assert other is not None
        other_id = other.id
    row = client.post(
        f"/phones/{other_id}/lost",
        data={"reason": "Mistet"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(detail.text)},
    )
    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<tr id="phone-{other_id}"')
    assert "Spærret nu." in row.text


def test_enrolment_page_shows_a_code_and_a_qr_image(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    token = _admin(client, clock, engine, tenants)
    page = client.post(f"/phones/{tenants.worker_phone}/enrol", data={"csrf_token": token})
    assert page.status_code == 200, page.text
    assert 'src="data:image/svg+xml' in page.text
    import re

    code = re.search(r'id="enrol-code">([A-Z0-9-]+)<', page.text)
    assert code
    enrolled = client.post(
        "/api/v1/app/enrol",
        json={"code": code.group(1), "public_key": _public_key()},
    )
    assert enrolled.status_code == 200, enrolled.text


def _public_key() -> str:
    import base64

    from carekey.protocol.keys import DeviceKey

    return base64.b64encode(DeviceKey.generate().public.compressed).decode()


def test_remove_a_citizen_in_one_click_creates_a_restore_work_order(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    token = _admin(client, clock, engine, tenants)
    with Session(engine) as session:
        citizen = (
            session.execute(
                select(m.Citizen)
                .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
                .where(m.Citizen.municipality_id == 1)
                .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
        assert citizen is not None
        citizen_id = citizen.id
    detail = client.get(f"/citizens/{citizen_id}")
    assert f'href="/citizens/{citizen_id}/report"' in detail.text
    confirm = client.get(f"/citizens/{citizen_id}/remove")
    assert confirm.status_code == 200
    no_reason = client.post(
        f"/citizens/{citizen_id}/remove", data={"csrf_token": token, "reason": " "}
    )
    assert no_reason.status_code == 400
    assert "Angiv en begrundelse" in no_reason.text
    result = client.post(
        f"/citizens/{citizen_id}/remove",
        data={"csrf_token": token, "reason": "Flyttet på plejehjem"},
    )
    assert result.status_code == 200, result.text
    assert "Adressen er fjernet fra løsningen" in result.text
    assert "Arbejdsordre nr." in result.text
    with Session(engine) as session:
        row = session.get(m.Citizen, citizen_id)
        assert row is not None
        assert row.status is e.CitizenStatus.REMOVED
        order = session.execute(
            select(m.WorkOrder)
            .where(m.WorkOrder.citizen_id == citizen_id)
            .where(m.WorkOrder.kind == e.WorkOrderKind.RESTORE)
        ).scalar_one()
        assert order.status is e.WorkOrderStatus.ORDERED
    page = client.get(f"/citizens/{citizen_id}")
    assert "Adresse fjernet fra løsningen" in page.text  # audit trail on the page
    restored = client.post(
        f"/citizens/{citizen_id}/restore",
        data={"csrf_token": token, "reason": "Fejl"},
        follow_redirects=False,
    )
    assert restored.status_code == 303
    with Session(engine) as session:
        row = session.get(m.Citizen, citizen_id)
        assert row is not None
        assert row.status is e.CitizenStatus.ACTIVE


def test_districts_citizens_and_emergency_keys_pages(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    token = _admin(client, clock, engine, tenants)
    districts = client.get("/districts")
    assert districts.status_code == 200
    assert "D01" in districts.text
    made = client.post(
        "/districts",
        data={"csrf_token": token, "code": "D77", "name": "Nyt"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    clash = client.post("/districts", data={"csrf_token": token, "code": "D77", "name": "Igen"})
    assert clash.status_code == 409
    assert 'value="Igen"' in clash.text
    assert client.get("/citizens?district=1&status=active").status_code == 200
    new = client.post(
        "/citizens/new",
        data={
            "csrf_token": token,
            "given_name": "Else",
            "family_name": "Ny",
            "district_id": "1",
            "status": "pending",
            "dwelling": "",
        },
        follow_redirects=False,
    )
    assert new.status_code == 303, new.text
    # Emergency key: an employee of district 2 for a citizen of district 1.
    with Session(engine) as session:
        outsider = (
            session.execute(
                select(m.Employee)
                .join(m.EmployeeDistrict, m.EmployeeDistrict.employee_id == m.Employee.id)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .where(m.EmployeeDistrict.district_id == 2)
                .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
                .where(
                    m.Employee.id.not_in(
                        select(m.EmployeeDistrict.employee_id).where(
                            m.EmployeeDistrict.district_id == 1
                        )
                    )
                )
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        citizen = (
            session.execute(
                select(m.Citizen)
                .where(m.Citizen.district_id == 1)
                .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
        assert outsider is not None
        assert citizen is not None
    granted = client.post(
        "/emergency-keys",
        data={
            "csrf_token": token,
            "employee": outsider.employee_number,
            "citizen": "",
            "citizen_id": str(citizen.id),
            "minutes": "120",
            "reason": "Vikar",
        },
        follow_redirects=False,
    )
    assert granted.status_code == 303, granted.text
    listing = client.get("/emergency-keys")
    assert outsider.full_name in listing.text
    assert "Vikar" in listing.text
    too_long = client.post(
        "/emergency-keys",
        data={
            "csrf_token": token,
            "employee": outsider.employee_number,
            "citizen_id": str(citizen.id),
            "minutes": "9999",
            "reason": "For længe",
        },
    )
    assert too_long.status_code == 400
    assert "For længe" in too_long.text
    with Session(engine) as session:
        grant_id = session.execute(select(m.EmergencyKeyGrant.id)).scalar_one()
    revoked = client.post(
        f"/emergency-keys/{grant_id}/revoke",
        data={"csrf_token": token, "reason": "Færdig"},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert "Tilbagekaldt" in client.get("/emergency-keys?state=all").text


def test_every_page_renders_in_danish_and_english(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    token = _admin(client, clock, engine, tenants)
    with Session(engine) as session:
        citizen = (
            session.execute(
                select(m.Citizen.id).where(m.Citizen.municipality_id == 1).order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
    pages = (
        "/employees",
        "/employees/new",
        "/employees/import",
        f"/employees/{tenants.worker}",
        f"/employees/{tenants.worker}/edit",
        f"/employees/{tenants.worker}/block",
        "/phones",
        "/phones/new",
        f"/phones/{tenants.worker_phone}",
        f"/phones/{tenants.worker_phone}/edit",
        f"/phones/{tenants.worker_phone}/block",
        "/districts",
        "/districts/1",
        "/citizens",
        "/citizens/new",
        f"/citizens/{citizen}",
        f"/citizens/{citizen}/remove",
        "/emergency-keys",
        "/emergency-keys?state=all",
        "/pickers/employees?employee=a",
        "/pickers/citizens?citizen=a",
    )
    for language, word in (("da", "Medarbejdere"), ("en", "Employees")):
        client.get(f"/lang/{language}?next=/")
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, (language, path, response.text[:300])
            assert "style=" not in response.text
            if not path.startswith("/pickers"):
                assert word in response.text, (language, path)
                assert "/static/people.css" in response.text
    # The dwelling picker offers candidates without JavaScript, keeping what was typed.
    chosen = client.post(
        "/citizens/new",
        data={
            "csrf_token": token,
            "given_name": "Ib",
            "family_name": "Isen",
            "district_id": "1",
            "dwelling": "a",
        },
    )
    assert chosen.status_code == 400
    assert 'name="dwelling_id"' in chosen.text
    assert 'value="Isen"' in chosen.text
