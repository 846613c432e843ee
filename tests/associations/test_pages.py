"""The housing association's pages, on SQLite and PostgreSQL: the overview (modules, the banded
count, answering the municipality's request), the agreements (make one through the form, a
refused one keeps the form, block and unblock a company), the partner log and its CSV; another
association's things are 404; no page ever shows home care; the portal is only the
association's."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.associations.conftest import PARTNER_WORKER_NAME, Portal, leaks
from tests.web.conftest import csrf_of, web_sign_in


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _sign_in(client: TestClient, clock: FrozenClock, engine: Engine, who: int) -> str:
    web_sign_in(client, clock, _number(engine, who))
    return csrf_of(client.get("/association").text)


def _form(portal: Portal, token: str, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": token,
        "company": str(portal.company),
        "basis": "statutory_mail",
        "entrance_ids": [str(portal.a_entrance)],
        "window_days": ["0:0"],
        "window_start": ["08:00", "", ""],
        "window_end": ["12:00", "", ""],
        "valid_from": "2026-11-26",
        "valid_until": "",
        "reason": "",
    }
    data.update(changes)
    return data


def test_sign_in_lands_on_the_overview_with_modules_and_bands(
    client: TestClient, clock: FrozenClock, engine: Engine, portal: Portal
) -> None:
    web_sign_in(client, clock, _number(engine, portal.a_user))
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/association"
    page = client.get("/association")
    assert page.status_code == 200
    with Session(engine) as db:
        association = db.get(m.HousingAssociation, portal.a)
        door = db.get(m.DoorDevice, portal.a_controller)
        assert association is not None
        assert door is not None
    assert association.name in page.text
    assert door.serial in page.text
    assert "okt. 2026" in page.text
    assert "ca. 20" in page.text
    assert "under 10" in page.text
    assert "nov. 2026" not in page.text  # the current month is never shown
    assert leaks(page.text, portal) == []
    english = client.get("/lang/en?next=/association", follow_redirects=True)
    assert "Oct 2026" in english.text
    assert "about 20" in english.text


def test_answer_the_municipality_s_request_on_the_overview(
    client: TestClient, clock: FrozenClock, engine: Engine, portal: Portal
) -> None:
    token = _sign_in(client, clock, engine, portal.a_user)
    url = f"/association/permissions/{portal.a_request}"
    refused = client.post(url, data={"csrf_token": token, "decision": "refuse", "note": ""})
    assert refused.status_code == 400
    assert "Skriv en note" in refused.text
    done = client.post(url, data={"csrf_token": token, "decision": "refuse", "note": "Ikke i år"})
    assert done.status_code == 200  # followed to the overview
    assert "Anmodningen er afslået." in done.text
    with Session(engine) as db:
        request = db.get(m.PermissionRequest, portal.a_request)
        assert request is not None
        assert request.status is e.PermissionStatus.REFUSED
        assert request.note == "Ikke i år"
    again = client.post(url, data={"csrf_token": token, "decision": "grant", "note": ""})
    assert again.status_code == 409
    other = client.post(
        f"/association/permissions/{portal.b_request}",
        data={"csrf_token": token, "decision": "grant"},
    )
    assert other.status_code == 404


def test_make_an_agreement_through_the_form_and_block_the_company(
    client: TestClient, clock: FrozenClock, engine: Engine, portal: Portal
) -> None:
    token = _sign_in(client, clock, engine, portal.a_user)
    form = client.get(f"/association/agreements/new?company={portal.company}")
    assert form.status_code == 200
    assert 'value="statutory_mail" selected' in form.text
    assert leaks(form.text, portal) == []
    made = client.post(
        "/association/agreements/new", data=_form(portal, token), follow_redirects=False
    )
    assert made.status_code == 303, made.text
    detail = client.get(made.headers["location"])
    assert "Aftalen er lavet." in detail.text
    assert "mandag 08:00–12:00" in detail.text
    agreement_id = int(re.findall(r"/association/agreements/(\d+)", made.headers["location"])[0])
    edit = client.get(f"/association/agreements/{agreement_id}/edit")
    assert 'value="0:0" aria-label="mandag, vindue 1" checked' in edit.text
    saved = client.post(
        f"/association/agreements/{agreement_id}/edit",
        data={
            "csrf_token": token,
            "entrance_ids": [str(portal.a_entrance)],
            "window_days": ["0:0", "0:4"],
            "window_start": ["08:00", ""],
            "window_end": ["13:00", ""],
            "valid_from": "2026-11-26",
            "valid_until": "2027-06-30",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    with Session(engine) as db:
        windows = db.execute(
            select(m.AgreementWindow.weekday, m.AgreementWindow.end_minute)
            .where(m.AgreementWindow.agreement_id == agreement_id)
            .order_by(m.AgreementWindow.weekday)
        ).all()
        agreement = db.get(m.Agreement, agreement_id)
        assert agreement is not None
    assert [tuple(w) for w in windows] == [(0, 780), (4, 780)]
    assert agreement.valid_until is not None

    confirm = client.get(f"/association/companies/{portal.company}/block")
    assert confirm.status_code == 200
    no_reason = client.post(
        f"/association/companies/{portal.company}/block", data={"csrf_token": token}
    )
    assert no_reason.status_code == 400
    blocked = client.post(
        f"/association/companies/{portal.company}/block",
        data={"csrf_token": token, "reason": "Nøgle misbrugt"},
    )
    assert blocked.status_code == 200
    assert "Firmaet er spærret." in blocked.text
    assert "Spærret af jer" in blocked.text
    unblocked = client.post(
        f"/association/companies/{portal.company}/unblock", data={"csrf_token": token}
    )
    assert "Spærringen af firmaet er ophævet." in unblocked.text


def test_a_refused_agreement_keeps_the_form_and_writes_nothing(
    client: TestClient, clock: FrozenClock, engine: Engine, portal: Portal
) -> None:
    token = _sign_in(client, clock, engine, portal.a_user)
    with Session(engine) as db:
        before = db.execute(select(func.count()).select_from(m.Agreement)).scalar_one()
    cases = {
        "gælder ikke for post": _form(portal, token, basis="goods_or_services"),
        "mindst én opgang eller port": _form(portal, token, entrance_ids=[]),
        "mindst én ugedag": _form(portal, token, window_days=[]),
        "Ugyldigt klokkeslæt": _form(portal, token, window_start=["8 am", "", ""]),
        "Vælg et firma": _form(portal, token, company=""),
    }
    for message, data in cases.items():
        page = client.post("/association/agreements/new", data=data)
        assert page.status_code == 400, (message, page.status_code)
        assert message in page.text, message
        assert 'name="window_end" value="12:00"' in page.text  # what was typed stays
    with Session(engine) as db:
        assert db.execute(select(func.count()).select_from(m.Agreement)).scalar_one() == before


def test_another_association_s_things_are_404_and_lists_leave_them_out(
    client: TestClient, clock: FrozenClock, engine: Engine, portal: Portal
) -> None:
    token = _sign_in(client, clock, engine, portal.b_user)
    with Session(engine) as db:
        a_serial = db.get(m.DoorDevice, portal.a_controller)
        assert a_serial is not None
    overview = client.get("/association")
    assert a_serial.serial not in overview.text
    for path in (
        f"/association/agreements/{portal.a_agreement}",
        f"/association/agreements/{portal.a_agreement}/edit",
    ):
        assert client.get(path).status_code == 404, path
    end = client.post(
        f"/association/agreements/{portal.a_agreement}/end", data={"csrf_token": token}
    )
    assert end.status_code == 404
    agreements = client.get("/association/agreements")
    assert f'/association/agreements/{portal.a_agreement}"' not in agreements.text
    log = client.get("/association/log")
    assert a_serial.serial not in log.text


def test_the_partner_log_page_and_csv(
    client: TestClient, clock: FrozenClock, engine: Engine, portal: Portal
) -> None:
    _sign_in(client, clock, engine, portal.a_user)
    log = client.get("/association/log")
    assert log.status_code == 200
    assert PARTNER_WORKER_NAME in log.text
    assert "1 hændelse<" in log.text
    assert leaks(log.text, portal) == []
    october = client.get("/association/log?from=2026-10-01&to=2026-10-31")
    assert "0 hændelser" in october.text
    csv = client.get("/association/log.csv?from=2026-11-01")
    assert csv.status_code == 200
    assert PARTNER_WORKER_NAME in csv.text
    assert leaks(csv.text, portal) == []
    assert client.get("/association/log?from=nonsense&company=x").status_code == 200


def test_no_association_page_shows_home_care(
    client: TestClient, clock: FrozenClock, engine: Engine, portal: Portal
) -> None:
    _sign_in(client, clock, engine, portal.a_user)
    pages = [
        "/association",
        "/association/agreements",
        "/association/agreements/new",
        f"/association/agreements/{portal.a_agreement}",
        f"/association/agreements/{portal.a_agreement}/edit",
        f"/association/companies/{portal.company}/block",
        "/association/log",
        "/association/log.csv",
    ]
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        assert leaks(page.text, portal) == [], path
        assert not re.search(r"\b\d+\. (tv|th|mf)\.", page.text), path  # no flat


def test_the_portal_is_only_the_association_s(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants, portal: Portal
) -> None:
    web_sign_in(client, clock, _number(engine, tenants.admin))
    for path in ("/association", "/association/agreements", "/association/log"):
        assert client.get(path).status_code == 403, path
    # And the association's user gets none of the municipality's pages.
    client.cookies.clear()
    _sign_in(client, clock, engine, portal.a_user)
    for path in ("/dashboard", "/employees", "/citizens", "/doors", "/audit"):
        assert client.get(path).status_code == 403, path
