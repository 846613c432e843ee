"""The citizen's access report page (issue 19) without a browser: a request that cannot be
used keeps what was typed and says what to fix, in Danish and English, and logs nothing; the
report in English; another municipality's citizen is not found."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.web.conftest import Tenants
from tests.web.test_overview_pages import MINUTE, _events, _home, _signed_in


def _reports(engine: Engine) -> int:
    with Session(engine) as db:
        return db.execute(
            select(func.count())
            .select_from(m.AdminAction)
            .where(m.AdminAction.action == "privacy.citizen_report")
        ).scalar_one()


def test_a_request_that_cannot_be_used_keeps_the_form(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    _signed_in(client, clock, engine, tenants.admin)
    url = f"/citizens/{home.citizen}/access-report"
    form = client.get(url)
    assert form.status_code == 200
    assert "Anmodet af" in form.text
    assert _reports(engine) == 0  # the form alone is no report
    params = {
        "basis": "guardian",
        "requested_by": "",
        "reference": "J.nr. 9",
        "from": "2026-11-01",
        "to": "2026-11-30",
    }
    bad = client.get(url, params=params)
    assert bad.status_code == 422
    assert "Skriv navnet på den pårørende eller værgen" in bad.text
    assert 'value="J.nr. 9"' in bad.text
    assert 'value="guardian" checked' in bad.text
    client.get("/lang/en")
    english = client.get(url, params=params)
    assert "Write the name of the relative or guardian who asked for access." in english.text
    assert _reports(engine) == 0


def test_the_report_in_english(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    now = clock.now()
    _events(
        engine,
        home.lock,
        [
            (e.AuditAction.UNLOCKED, now - 40 * MINUTE, tenants.worker, home.citizen),
            (e.AuditAction.LOCKED, now - 20 * MINUTE, tenants.worker, home.citizen),
        ],
    )
    _signed_in(client, clock, engine, tenants.admin)
    client.get("/lang/en")
    day = now.date().isoformat()
    report = client.get(
        f"/citizens/{home.citizen}/access-report",
        params={"basis": "citizen", "from": day, "to": day},
    )
    assert report.status_code == 200
    assert "Access report: who has been in the home" in report.text
    assert "The home's lock was opened 1 time in the period." in report.text
    assert home.worker_name in report.text
    assert "Care worker" in report.text
    assert f"{home.citizen_name} (The citizen)" in report.text
    assert _reports(engine) == 1
    assert client.get("/citizens/999999/access-report").status_code == 404
    other = client.get(f"/citizens/{tenants.other_citizen}/access-report?basis=citizen")
    assert other.status_code == 404
    assert _reports(engine) == 1
