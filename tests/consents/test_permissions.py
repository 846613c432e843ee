"""Permission requests to housing associations (issue 16): the municipality sends one for a
property, reminds it (by hand and ``remind_overdue``), the association answers in its portal,
and the granted permission is what ``granted_permission`` finds; the state per property."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from carekey.associations import service as portal
from carekey.clock import FrozenClock
from carekey.consents import permissions
from carekey.consents.service import granted_permission
from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import START, Tenants, sign_in
from tests.consents import helpers as h
from tests.web.conftest import web_sign_in

API = "/api/v1/admin"


def _clear(engine: Engine, property_id: int) -> None:
    """The property as if nothing had been asked of its association yet."""
    with Session(engine) as db, db.begin():
        db.execute(
            update(m.PermissionRequest)
            .where(m.PermissionRequest.property_id == property_id)
            .values(status=e.PermissionStatus.WITHDRAWN)
        )


def test_send_remind_answer_and_grant(client: TestClient, engine: Engine, tenants: Tenants) -> None:
    admin = sign_in(client, tenants.admin, engine)
    property_id, entrance_id = h.property_of(engine, 1)
    _clear(engine, property_id)
    with Session(engine) as db:
        assert granted_permission(db, municipality_id=1, entrance_id=entrance_id) is None
    due = (START + dt.timedelta(days=10)).isoformat()
    sent = client.post(
        f"{API}/permission-requests",
        headers=admin,
        json={"property_id": property_id, "covers_gates": True, "due_at": due, "note": "modul"},
    )
    assert sent.status_code == 201, sent.text
    request_id = sent.json()["id"]
    assert sent.json()["status"] == "requested"
    assert sent.json()["overdue"] is False
    again = client.post(
        f"{API}/permission-requests", headers=admin, json={"property_id": property_id}
    )
    assert again.status_code == 409
    reminded = client.post(f"{API}/permission-requests/{request_id}/remind", headers=admin)
    assert reminded.status_code == 200
    assert reminded.json()["reminders"] == 1
    listed = client.get(f"{API}/permission-requests", headers=admin, params={"status": "requested"})
    assert request_id in [r["id"] for r in listed.json()["items"]]

    # Not yet due: nothing to remind; past the due date: reminded once per interval.
    with Session(engine) as db, db.begin():
        assert request_id not in [r.id for r in permissions.remind_overdue(db, now=START)]
    later = START + dt.timedelta(days=11)
    with Session(engine) as db, db.begin():
        assert request_id in [r.id for r in permissions.remind_overdue(db, now=later)]
    with Session(engine) as db, db.begin():
        assert request_id not in [r.id for r in permissions.remind_overdue(db, now=later)]
        row = db.get(m.PermissionRequest, request_id)
        assert row is not None
        assert row.reminders == 2
        assert row.last_reminded_at is not None
        logged = db.execute(
            select(m.AdminAction.action)
            .where(m.AdminAction.target_type == "permission_request")
            .where(m.AdminAction.target_id == str(request_id))
        ).scalars()
        assert sorted(logged) == [
            "permission.reminded",
            "permission.reminded",
            "permission.requested",
        ]

    # The state per property: requested and overdue.
    with Session(engine) as db:
        page = permissions.permission_states(
            db, actor=h.actor(engine, tenants.admin), now=later, state="requested", limit=200
        )
        view = next(v for v in page.items if v.prop.id == property_id)
        assert view.overdue
        assert view.state == "requested"

    # The association answers in its portal; the permission is then found.
    assoc = h.actor(engine, h.association_user(engine, 1))
    with Session(engine) as db, db.begin():
        portal.answer_permission_request(
            db,
            actor=assoc,
            request_id=request_id,
            decision=portal.Decision.GRANT,
            note=None,
            now=later,
        )
    with Session(engine) as db:
        found = granted_permission(db, municipality_id=1, entrance_id=entrance_id)
        assert found is not None
        assert found.id == request_id
    closed = client.post(f"{API}/permission-requests/{request_id}/remind", headers=admin)
    assert closed.status_code == 409


def test_scoping_of_permission_requests(
    client: TestClient, engine: Engine, tenants: Tenants
) -> None:
    property_id, _entrance = h.property_of(engine, 1)
    lead = sign_in(client, tenants.lead, engine)
    refused = client.post(
        f"{API}/permission-requests", headers=lead, json={"property_id": property_id}
    )
    assert refused.status_code == 403
    other = sign_in(client, tenants.other_admin, engine)
    hidden = client.post(
        f"{API}/permission-requests", headers=other, json={"property_id": property_id}
    )
    assert hidden.status_code == 404
    # The association sees only its own requests, in its portal; never the office's list.
    b_property, _ = h.property_of(engine, 2)
    _clear(engine, b_property)
    with Session(engine) as db, db.begin():
        b_request = permissions.send_permission_request(
            db, actor=h.actor(engine, tenants.admin), property_id=b_property, now=START
        ).id
    a_user = h.association_user(engine, 1)
    with Session(engine) as db:
        seen = portal.list_permission_requests(db, actor=h.actor(engine, a_user), limit=200)
        assert b_request not in [v.request.id for v in seen.items]
    a_headers = sign_in(client, a_user, engine)
    assert client.get(f"{API}/permission-requests", headers=a_headers).status_code == 403


def test_permissions_page_and_consent_panel(
    client: TestClient, engine: Engine, tenants: Tenants, clock: FrozenClock
) -> None:
    with Session(engine) as db:
        admin = db.get(m.Employee, tenants.admin)
        assert admin is not None
        number = admin.employee_number
    web_sign_in(client, clock, number)
    page = client.get("/permissions", params={"state": "granted"})
    assert page.status_code == 200
    assert "Tilladelser fra boligforeningerne" in page.text
    citizen = h.citizen_in(engine, 1)
    panel = client.get(f"/citizens/{citizen}/consents")
    assert panel.status_code == 200
    assert "Træk samtykket tilbage" in panel.text


def test_the_cli_reminds_overdue_requests(
    engine: Engine, tenants: Tenants, database_url: str
) -> None:
    import json

    from typer.testing import CliRunner

    from carekey.cli.main import app

    property_id, _entrance = h.property_of(engine, 1)
    _clear(engine, property_id)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with Session(engine) as db, db.begin():
        request = permissions.send_permission_request(
            db, actor=h.actor(engine, tenants.admin), property_id=property_id, now=START
        )
        request.due_at = past
        request_id = request.id
    result = CliRunner().invoke(app, ["permissions", "remind", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert request_id in json.loads(result.output.strip().splitlines()[-1])["reminded"]
    with Session(engine) as db:
        row = db.get(m.PermissionRequest, request_id)
        assert row is not None
        assert row.reminders == 1
