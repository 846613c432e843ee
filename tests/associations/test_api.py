"""The housing association's API (``/api/v1/association``), on SQLite and PostgreSQL: properties
and modules with the banded count of the municipality's openings, permission requests, the
company register, agreements (422 with the rule, nothing written), blocking a company (the
denylist), the partner log and its CSV; tenancy between associations; no home care ever."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.associations.conftest import PARTNER_WORKER_NAME, Portal, headers, leaks

API = "/api/v1/association"


def _count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as db:
        return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def _body(portal: Portal, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "company_id": portal.company,
        "legal_basis": "statutory_mail",
        "doors": {"entrance_ids": [portal.a_entrance]},
        "windows": [{"weekday": 0, "start": "08:00", "end": "12:00"}],
        "reason": "ny aftale",
    }
    body.update(changes)
    return body


def test_properties_show_modules_and_only_a_banded_count_of_home_care(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    found = client.get(f"{API}/properties", headers=a)
    assert found.status_code == 200, found.text
    body = found.json()
    with Session(engine) as db:
        own = db.execute(
            select(func.count())
            .select_from(m.Property)
            .where(m.Property.housing_association_id == portal.a)
        ).scalar_one()
    assert body["total"] == own
    prop = next(p for p in body["items"] if p["id"] == portal.a_property)
    entrance = next(x for x in prop["entrances"] if x["id"] == portal.a_entrance)
    module = entrance["modules"][0]
    assert module["id"] == portal.a_controller
    assert module["kind"] == "entrance_controller"
    assert set(module) == {
        "id",
        "kind",
        "serial",
        "status",
        "battery_pct",
        "last_seen_on",
        "lock_state",
        "door_state",
    }
    # Finished months only (the clock stands in November): August, September, October.
    # 23 in October → "20"; 4 in September → "under_10"; the 2 in November are not shown.
    assert prop["municipal_openings"] == [
        {"month": "2026-08", "band": "0"},
        {"month": "2026-09", "band": "under_10"},
        {"month": "2026-10", "band": "20"},
    ]
    text = found.text
    assert leaks(text, portal) == []
    assert "dwelling" not in text
    assert "citizen" not in text
    assert "home_lock" not in text
    one = client.get(f"{API}/properties/{portal.a_property}", headers=a)
    assert one.status_code == 200
    assert one.json()["municipal_openings"] == prop["municipal_openings"]


def test_another_association_sees_none_of_a_and_gets_404(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    b = headers(client, engine, portal.b_user)
    properties = client.get(f"{API}/properties", headers=b).json()
    assert portal.a_property not in {p["id"] for p in properties["items"]}
    assert client.get(f"{API}/properties/{portal.a_property}", headers=b).status_code == 404
    requests = client.get(f"{API}/permission-requests", headers=b).json()
    assert portal.a_request not in {r["id"] for r in requests["items"]}
    assert portal.b_request in {r["id"] for r in requests["items"]}
    assert client.get(f"{API}/permission-requests/{portal.a_request}", headers=b).status_code == 404
    answer = client.post(
        f"{API}/permission-requests/{portal.a_request}/answer",
        json={"decision": "grant"},
        headers=b,
    )
    assert answer.status_code == 404
    agreements = client.get(f"{API}/agreements", headers=b).json()
    assert portal.a_agreement not in {a["id"] for a in agreements["items"]}
    for method, path, body in (
        ("GET", f"/agreements/{portal.a_agreement}", None),
        ("PATCH", f"/agreements/{portal.a_agreement}", {"valid_until": None}),
        ("POST", f"/agreements/{portal.a_agreement}/end", {}),
    ):
        response = client.request(method, f"{API}{path}", json=body, headers=b)
        assert response.status_code == 404, (method, path, response.text)
    # B cannot put A's entrance into an agreement of its own.
    made = client.post(f"{API}/agreements", json=_body(portal), headers=b)
    assert made.status_code == 404
    log = client.get(f"{API}/log", headers=b).json()
    assert {r["door_serial"] for r in log["items"]}.isdisjoint(
        {_serial(engine, portal.a_controller)}
    )


def _serial(engine: Engine, door_id: int) -> str:
    with Session(engine) as db:
        door = db.get(m.DoorDevice, door_id)
        assert door is not None
        return door.serial


def test_only_an_association_user_gets_the_portal(
    client: TestClient, engine: Engine, tenants: Tenants, portal: Portal
) -> None:
    for who in (tenants.admin, tenants.auditor, tenants.lead, tenants.other_admin):
        h = headers(client, engine, who)
        assert client.get(f"{API}/properties", headers=h).status_code == 403
        assert client.get(f"{API}/agreements", headers=h).status_code == 403
        assert client.post(f"{API}/agreements", json=_body(portal), headers=h).status_code == 403
    assert client.get(f"{API}/properties").status_code == 401


def test_answer_a_permission_request_once(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    url = f"{API}/permission-requests/{portal.a_request}/answer"
    refused = client.post(url, json={"decision": "refuse"}, headers=a)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "permission.note_required"
    granted = client.post(url, json={"decision": "grant", "note": "Velkommen"}, headers=a)
    assert granted.status_code == 200, granted.text
    body = granted.json()
    with Session(engine) as db:
        user = db.get(m.Employee, portal.a_user)
        assert user is not None
        name = user.full_name
        action = db.execute(
            select(m.AdminAction).where(m.AdminAction.target_type == "permission_request")
        ).scalar_one()
    assert body["status"] == "granted"
    assert body["decided_by_name"] == name
    assert body["decided_at"] is not None
    assert action.action == "permission.granted"
    assert action.actor_employee_id == portal.a_user
    again = client.post(url, json={"decision": "refuse", "note": "nej"}, headers=a)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "permission.already_answered"


def test_the_company_register_and_its_bases(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    companies = client.get(f"{API}/companies", headers=a).json()
    post = next(c for c in companies if c["id"] == portal.company)
    assert post["category"] == "post"
    assert post["allowed_bases"] == ["named_resident", "statutory_mail"]
    assert post["agreements"] == 1
    assert post["blocked_by_you"] is False


def test_make_change_and_end_an_agreement(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    made = client.post(f"{API}/agreements", json=_body(portal), headers=a)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "active"
    assert body["requires_errand"] is False
    assert [d["id"] for d in body["doors"]] == [portal.a_controller]
    assert body["windows"] == [{"weekday": 0, "start": "08:00", "end": "12:00"}]
    assert body["history"][0]["action"] == "agreement.created"
    agreement_id = body["id"]
    listed = client.get(f"{API}/agreements", headers=a).json()
    assert agreement_id in {x["id"] for x in listed["items"]}

    # A named-resident basis: the errand requirement follows the basis.
    errand = client.post(
        f"{API}/agreements", json=_body(portal, legal_basis="named_resident"), headers=a
    )
    assert errand.status_code == 201
    assert errand.json()["requires_errand"] is True

    changed = client.patch(
        f"{API}/agreements/{agreement_id}",
        json={
            "windows": [
                {"weekday": 0, "start": "08:00", "end": "12:00"},
                {"weekday": 2, "start": "08:00", "end": "12:00"},
            ],
            "doors": {"property_ids": [portal.a_property]},
            "reason": "også onsdag",
        },
        headers=a,
    )
    assert changed.status_code == 200, changed.text
    assert [w["weekday"] for w in changed.json()["windows"]] == [0, 2]
    with Session(engine) as db:
        logged = (
            db.execute(
                select(m.AdminAction.action)
                .where(m.AdminAction.target_type == "agreement")
                .where(m.AdminAction.target_id == str(agreement_id))
                .order_by(m.AdminAction.id)
            )
            .scalars()
            .all()
        )
    assert logged == ["agreement.created", "agreement.changed"]

    ended = client.post(f"{API}/agreements/{agreement_id}/end", json={}, headers=a)
    assert ended.status_code == 200
    assert ended.json()["state"] == "ended"
    again = client.post(f"{API}/agreements/{agreement_id}/end", json={}, headers=a)
    assert again.status_code == 409
    late = client.patch(f"{API}/agreements/{agreement_id}", json={"valid_until": None}, headers=a)
    assert late.status_code == 409


def test_a_bad_agreement_is_422_with_the_rule_and_writes_nothing(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    before = (_count(engine, m.Agreement), _count(engine, m.AgreementWindow))
    actions = _count(engine, m.AdminAction)
    cases = {
        "agreement.basis_not_allowed": _body(portal, legal_basis="goods_or_services"),
        "agreement.no_doors": _body(portal, doors={}),
        "agreement.no_window": _body(portal, windows=[]),
        "time_window.overlap": _body(
            portal,
            windows=[
                {"weekday": 1, "start": "08:00", "end": "12:00"},
                {"weekday": 1, "start": "11:00", "end": "13:00"},
            ],
        ),
        "agreement.too_much_time": _body(
            portal,
            windows=[{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
        ),
        "time_window.bad_time": _body(
            portal, windows=[{"weekday": 1, "start": "8", "end": "12:00"}]
        ),
        "time_window.bad_weekday": _body(
            portal, windows=[{"weekday": 7, "start": "08:00", "end": "12:00"}]
        ),
        "time_window.empty": _body(
            portal, windows=[{"weekday": 1, "start": "12:00", "end": "08:00"}]
        ),
        "validity.empty": _body(
            portal, valid_from="2026-12-01T00:00:00Z", valid_until="2026-11-30T00:00:00Z"
        ),
    }
    for code, body in cases.items():
        response = client.post(f"{API}/agreements", json=body, headers=a)
        assert response.status_code == 422, (code, response.text)
        error = response.json()["error"]
        assert error["code"] == code, (code, error)
        assert error["message"]
        assert error["message_en"]
    assert (_count(engine, m.Agreement), _count(engine, m.AgreementWindow)) == before
    assert _count(engine, m.AdminAction) == actions
    # A home lock is no door of an agreement: its id is not an entrance of the association.
    home = client.post(
        f"{API}/agreements",
        json=_body(portal, doors={"entrance_ids": [portal.a_home_lock + 10_000]}),
        headers=a,
    )
    assert home.status_code == 404


def test_block_a_company_at_once_revokes_its_credentials_here_only(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    url = f"{API}/companies/{portal.company}/block"
    no_reason = client.post(url, json={}, headers=a)
    assert no_reason.status_code == 422
    blocked = client.post(url, json={"reason": "Misbrug af nøgle"}, headers=a)
    assert blocked.status_code == 200, blocked.text
    body = blocked.json()
    assert body["agreement_ids"] == [portal.a_agreement]
    assert body["denylist_version"] is not None
    with Session(engine) as db:
        agreement = db.get(m.Agreement, portal.a_agreement)
        other = db.get(m.Agreement, portal.b_agreement)
        assert agreement is not None
        assert other is not None
        assert agreement.blocked
        assert agreement.blocked_reason == "Misbrug af nøgle"
        assert agreement.blocked_at is not None
        assert not other.blocked  # B's agreement with the same company is B's business
        creds = {
            c.agreement_id: c
            for c in db.execute(
                select(m.IssuedCredential).where(m.IssuedCredential.agreement_id.is_not(None))
            ).scalars()
        }
        assert creds[portal.a_agreement].revoked_at is not None
        assert creds[portal.b_agreement].revoked_at is None
        entry = db.execute(
            select(m.DenylistEntry).where(
                m.DenylistEntry.entry_key == creds[portal.a_agreement].credential_id
            )
        ).scalar_one()
        assert entry.reason is e.DenylistReason.PARTNER_BLOCKED
        assert entry.added_in_version == body["denylist_version"]
    companies = client.get(f"{API}/companies", headers=a).json()
    assert next(c for c in companies if c["id"] == portal.company)["blocked_by_you"] is True
    assert client.post(url, json={"reason": "igen"}, headers=a).status_code == 409
    # No new agreement with a company the association has blocked.
    refused = client.post(f"{API}/agreements", json=_body(portal), headers=a)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "agreement.company_blocked"
    shown = client.get(f"{API}/agreements/{portal.a_agreement}", headers=a).json()
    assert shown["state"] == "blocked"
    unblocked = client.post(
        f"{API}/companies/{portal.company}/unblock", json={"reason": "afklaret"}, headers=a
    )
    assert unblocked.status_code == 200
    assert client.get(f"{API}/agreements/{portal.a_agreement}", headers=a).json()["state"] == (
        "active"
    )
    assert (
        client.post(f"{API}/companies/{portal.company}/unblock", json={}, headers=a).status_code
        == 409
    )


def test_the_partner_log_shows_partner_workers_only(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    log = client.get(f"{API}/log", headers=a)
    assert log.status_code == 200
    body = log.json()
    assert body["total"] == 1
    row = body["items"][0]
    assert row["worker_name"] == PARTNER_WORKER_NAME
    assert row["door_serial"] == _serial(engine, portal.a_controller)
    assert leaks(log.text, portal) == []
    none = client.get(f"{API}/log", params={"until": "2026-11-01T00:00:00Z"}, headers=a).json()
    assert none["total"] == 0  # the home care in October is never here
    with Session(engine) as db:
        other = (
            db.execute(select(m.PartnerCompany.id).where(m.PartnerCompany.id != portal.company))
            .scalars()
            .first()
        )
    filtered = client.get(f"{API}/log", params={"company_id": other}, headers=a).json()
    assert filtered["total"] == 0
    assert client.get(f"{API}/log", params={"company_id": 999_999}, headers=a).status_code == 404
    csv = client.get(f"{API}/log.csv", headers=a)
    assert csv.status_code == 200
    assert csv.text.startswith("\ufeffTidspunkt (dansk tid);")
    assert PARTNER_WORKER_NAME in csv.text
    assert leaks(csv.text, portal) == []
    with Session(engine) as db:
        assert (
            db.execute(
                select(func.count())
                .select_from(m.AdminAction)
                .where(m.AdminAction.action == "partner_log.exported")
            ).scalar_one()
            == 1
        )


def test_valid_from_in_the_future_is_upcoming_and_ending_it_closes_it(
    client: TestClient, engine: Engine, portal: Portal
) -> None:
    a = headers(client, engine, portal.a_user)
    later = client.post(
        f"{API}/agreements",
        json=_body(portal, valid_from="2027-01-01T00:00:00+01:00"),
        headers=a,
    )
    assert later.status_code == 201
    assert later.json()["state"] == "upcoming"
    ended = client.post(f"{API}/agreements/{later.json()['id']}/end", json={}, headers=a)
    assert ended.status_code == 200
    body = ended.json()
    assert body["state"] == "ended"
    assert dt.datetime.fromisoformat(body["valid_until"]) > dt.datetime.fromisoformat(
        body["valid_from"]
    )
