# ruff: noqa: F811 - the fixtures are imported by name: conftest.py of this folder is the portal's
"""The errand pages, on SQLite and PostgreSQL: the company's administrator requests an errand
through the form, a refused one keeps what was typed, the list and the errand show it, and it
is cancelled after a confirmation; another company's errand is 404; the pages are the
company's alone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import (  # noqa: F401 - fixtures
    Tenants,
    client,
    clock,
    tenants,
)
from tests.partners.errand_world import (  # noqa: F401 - the fixture
    Company,
    ErrandWorld,
    world,
)
from tests.web.conftest import csrf_of, web_sign_in


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _sign_in(client: TestClient, clock: FrozenClock, engine: Engine, who: int) -> str:
    web_sign_in(client, clock, _number(engine, who))
    return csrf_of(client.get("/partner/errands/new").text)


def _form(c: Company, token: str, **changes: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "place": f"{c.agreement}:{c.entrance}",
        "reference": "ORD-1234",
        "recipient": "Petersen, 4. mf.",
        "worker": str(c.worker),
        "day": "2026-11-26",
        "start": "09:00",
        "end": "11:30",
    }
    data.update(changes)
    return data


def _errands(engine: Engine) -> list[m.Errand]:
    with Session(engine) as db:
        return list(db.execute(select(m.Errand).order_by(m.Errand.id)).scalars())


def test_request_an_errand_through_the_form_and_cancel_it(
    client: TestClient, clock: FrozenClock, engine: Engine, world: ErrandWorld
) -> None:
    p = world.p
    token = _sign_in(client, clock, engine, p.admin)
    form = client.get("/partner/errands/new")
    assert form.status_code == 200
    assert f'value="{p.agreement}:{p.entrance}"' in form.text
    assert p.worker_name in form.text
    made = client.post("/partner/errands/new", data=_form(p, token), follow_redirects=False)
    assert made.status_code == 303, made.text
    (errand,) = _errands(engine)
    assert made.headers["location"] == f"/partner/errands/{errand.id}?done=requested"
    assert errand.employee_id == p.worker
    assert errand.requested_by_employee_id == p.admin
    # 09:00-11:30 Danish time in November is 08:00-10:30 UTC.
    assert errand.not_before.hour == 8
    assert errand.not_after.hour == 10
    assert errand.not_after.minute == 30
    detail = client.get(made.headers["location"])
    assert "ORD-1234" in detail.text
    assert "Petersen, 4. mf." in detail.text
    assert "Ærindet er godkendt" in detail.text
    listing = client.get("/partner/errands")
    assert f'href="/partner/errands/{errand.id}"' in listing.text
    assert "ORD-1234" not in client.get("/partner/errands", params={"state": "cancelled"}).text
    confirm = client.get(f"/partner/errands/{errand.id}/cancel")
    assert confirm.status_code == 200
    assert "Aflys ærindet nu" in confirm.text
    cancelled = client.post(
        f"/partner/errands/{errand.id}/cancel",
        data={"csrf_token": token, "reason": "kunden er ikke hjemme"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    (errand,) = _errands(engine)
    assert errand.status is e.ErrandStatus.CANCELLED
    again = client.post(
        f"/partner/errands/{errand.id}/cancel", data={"csrf_token": token, "reason": "igen"}
    )
    assert again.status_code == 409


def test_a_refused_errand_keeps_the_form_and_saves_nothing(
    client: TestClient, clock: FrozenClock, engine: Engine, world: ErrandWorld
) -> None:
    p = world.p
    token = _sign_in(client, clock, engine, p.admin)
    # Sunday: the parcel agreement admits Monday to Saturday.
    refused = client.post("/partner/errands/new", data=_form(p, token, day="2026-11-29"))
    assert refused.status_code == 400
    assert "uden for alle aftalens tidsvinduer" in refused.text
    assert 'value="ORD-1234"' in refused.text
    unreadable = client.post("/partner/errands/new", data=_form(p, token, start="9"))
    assert unreadable.status_code == 400
    assert "tt:mm" in unreadable.text
    nothing = client.post("/partner/errands/new", data=_form(p, token, place=""))
    assert nothing.status_code == 400
    theirs = client.post(
        "/partner/errands/new",
        data=_form(p, token, place=f"{world.q.agreement}:{world.q.entrance}"),
    )
    assert theirs.status_code == 404
    with Session(engine) as db:
        assert db.execute(select(func.count()).select_from(m.Errand)).scalar_one() == 0


def test_another_company_s_errand_is_not_there_and_the_pages_are_the_company_s(
    client: TestClient, clock: FrozenClock, engine: Engine, world: ErrandWorld, tenants: Tenants
) -> None:
    token = _sign_in(client, clock, engine, world.p.admin)
    client.post("/partner/errands/new", data=_form(world.p, token))
    (errand,) = _errands(engine)
    client.cookies.clear()
    token = _sign_in(client, clock, engine, world.q.admin)
    assert client.get(f"/partner/errands/{errand.id}").status_code == 404
    assert "ORD-1234" not in client.get("/partner/errands").text
    refused = client.post(
        f"/partner/errands/{errand.id}/cancel", data={"csrf_token": token, "reason": "nej"}
    )
    assert refused.status_code == 404
    assert _errands(engine)[0].status is e.ErrandStatus.APPROVED
    client.cookies.clear()
    web_sign_in(client, clock, _number(engine, tenants.admin))
    assert client.get("/partner/errands").status_code == 403
    assert client.get("/partner/log").status_code == 403
