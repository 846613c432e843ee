"""The page of the import's job titles: linked from the import, add and remove a row, a clear
error for a duplicate title or an unknown role, in Danish and English."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.store import models as m
from tests.web.conftest import Tenants, csrf_of, web_sign_in

PAGE = "/employees/job-titles"


def test_the_administrator_edits_the_table_of_job_titles(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    with Session(engine) as session:
        admin = session.get(m.Employee, tenants.admin)
        assert admin is not None
        number = admin.employee_number
    web_sign_in(client, clock, number)
    form = client.get("/employees/import")
    assert f'href="{PAGE}"' in form.text
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "social- og sundhedshjælper" in page.text  # the defaults are shown
    token = csrf_of(page.text)
    added = client.post(PAGE, data={"csrf_token": token, "title": " Kok ", "role": "care_worker"})
    assert added.status_code == 200  # after the redirect
    assert "Stillingen er tilføjet." in added.text
    assert "<td>kok</td>" in added.text
    again = client.post(PAGE, data={"csrf_token": token, "title": "KOK", "role": "auditor"})
    assert again.status_code == 409
    assert "står allerede i tabellen" in again.text
    unknown = client.post(PAGE, data={"csrf_token": token, "title": "Bager", "role": "bager"})
    assert unknown.status_code == 400
    assert "Ukendt rolle" in unknown.text
    assert 'value="Bager"' in unknown.text  # what was typed is kept
    found = re.search(r'action="/employees/job-titles/(\d+)/delete"', added.text)
    assert found
    removed = client.post(f"{PAGE}/{found.group(1)}/delete", data={"csrf_token": token})
    assert "Stillingen er fjernet." in removed.text
    missing = client.post(f"{PAGE}/x/delete", data={"csrf_token": token})
    assert missing.status_code == 404
    with Session(engine) as session:
        assert session.execute(select(m.JobTitleRole)).scalars().all() == []
    client.cookies.set("carekey_lang", "en")
    english = client.get(PAGE)
    assert "Job titles and roles" in english.text
    assert "Default table" in english.text


def test_the_employee_page_shows_the_start_date(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        admin = session.get(m.Employee, tenants.admin)
        worker = session.get(m.Employee, tenants.worker)
        assert admin is not None
        assert worker is not None
        number = admin.employee_number
        worker.starts_on = dt.date(2027, 3, 1)
    web_sign_in(client, clock, number)
    page = client.get(f"/employees/{tenants.worker}")
    assert page.status_code == 200
    assert "Startdato" in page.text
    assert "01.03.2027" in page.text
