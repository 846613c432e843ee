# ruff: noqa: F811 - the fixtures are imported by name: conftest.py of this folder is the portal's
"""Errands over the API, on SQLite and PostgreSQL: a partner company's administrator requests a
one-off delivery to a named resident inside an agreement; every rule refuses with a stable code
and writes nothing; another company's agreement, worker or errand is 404; cancelling revokes;
everything is in the log of administrative actions."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
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
    ErrandWorld,
    errand_body,
    headers,
    local,
    world,
)

API = "/api/v1/partner/errands"


def _count(engine: Engine) -> int:
    with Session(engine) as db:
        return int(db.execute(select(func.count()).select_from(m.Errand)).scalar_one())


def _actions(engine: Engine, action: str) -> list[m.AdminAction]:
    with Session(engine) as db:
        return list(
            db.execute(select(m.AdminAction).where(m.AdminAction.action == action)).scalars()
        )


def test_request_read_and_list_an_errand(
    client: TestClient, engine: Engine, world: ErrandWorld
) -> None:
    p = world.p
    auth = headers(client, engine, p.admin)
    made = client.post(API, json=errand_body(p, employee_id=p.worker), headers=auth)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "approved"
    assert body["entrance_id"] == p.entrance
    assert body["worker_name"] == p.worker_name
    assert body["purpose"] == "parcel"  # the company's category
    assert body["reference"] == "PKG-4711"
    one = client.get(f"{API}/{body['id']}", headers=auth)
    assert one.status_code == 200
    assert one.json()["recipient"] == "Jensen, 3. tv."
    listed = client.get(API, headers=auth).json()
    assert [x["id"] for x in listed["items"]] == [body["id"]]
    assert client.get(API, params={"status": "cancelled"}, headers=auth).json()["total"] == 0
    later = {"since": local(27, 0).isoformat()}
    assert client.get(API, params=later, headers=auth).json()["total"] == 0
    (logged,) = _actions(engine, "errand.requested")
    assert logged.target_id == str(body["id"])
    assert logged.actor_employee_id == p.admin


def _block_agreement(engine: Engine, agreement: int) -> None:
    with Session(engine) as db, db.begin():
        db.execute(
            update(m.Agreement)
            .where(m.Agreement.id == agreement)
            .values(blocked=True, blocked_reason="test", blocked_at=local(25, 9))
        )


def _end_agreement(engine: Engine, agreement: int) -> None:
    with Session(engine) as db, db.begin():
        db.execute(
            update(m.Agreement).where(m.Agreement.id == agreement).values(valid_until=local(26, 7))
        )


def _block_company(engine: Engine, company: int) -> None:
    with Session(engine) as db, db.begin():
        db.execute(
            update(m.PartnerCompany)
            .where(m.PartnerCompany.id == company)
            .values(status=e.PartnerStatus.BLOCKED, blocked_reason="test")
        )


@pytest.mark.parametrize(
    ("prepare", "status", "code"),
    [
        (_block_agreement, 409, "errand.agreement_blocked"),
        (_end_agreement, 409, "errand.agreement_ended"),
    ],
)
def test_an_agreement_that_no_longer_admits_takes_no_errand(
    client: TestClient, engine: Engine, world: ErrandWorld, prepare: object, status: int, code: str
) -> None:
    auth = headers(client, engine, world.p.admin)
    assert callable(prepare)
    prepare(engine, world.p.agreement)
    answer = client.post(API, json=errand_body(world.p), headers=auth)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]  # Danish first
    assert _count(engine) == 0


def test_a_company_blocked_by_the_municipality_takes_no_errand(
    client: TestClient, engine: Engine, world: ErrandWorld
) -> None:
    auth = headers(client, engine, world.p.admin)
    _block_company(engine, world.p.id)
    answer = client.post(API, json=errand_body(world.p), headers=auth)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "errand.company_blocked"
    assert _count(engine) == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"not_before": local(26, 6).isoformat()}, "errand.in_the_past"),
        ({"not_after": local(27, 10).isoformat()}, "errand.too_long"),
        ({"not_after": local(26, 8).isoformat()}, "errand.empty_period"),
        (
            {"not_before": "2027-01-04T09:00:00+01:00", "not_after": "2027-01-04T10:00:00+01:00"},
            "errand.too_far_ahead",
        ),
        # Sunday night: the parcel agreement admits Monday to Saturday 08:00-21:00.
        (
            {"not_before": local(29, 1).isoformat(), "not_after": local(29, 3).isoformat()},
            "errand.outside_windows",
        ),
        ({"reference": "   "}, "errand.bad_reference"),
        ({"recipient": ""}, "errand.bad_recipient"),
        ({"purpose": "newspaper"}, "errand.purpose_not_allowed"),
    ],
)
def test_an_errand_that_breaks_a_rule_is_refused_and_nothing_is_saved(
    client: TestClient, engine: Engine, world: ErrandWorld, change: dict[str, object], code: str
) -> None:
    auth = headers(client, engine, world.p.admin)
    answer = client.post(API, json=errand_body(world.p, **change), headers=auth)
    # A rule of the errand is 422; a blank text field is the shared 400 of typed text.
    assert answer.status_code == (400 if code.endswith(("reference", "recipient")) else 422)
    assert answer.json()["error"]["code"] == code
    assert _count(engine) == 0
    assert _actions(engine, "errand.requested") == []


def test_the_entrance_must_be_one_of_the_agreement_s(
    client: TestClient, engine: Engine, world: ErrandWorld
) -> None:
    auth = headers(client, engine, world.p.admin)
    body = errand_body(world.p, entrance_id=world.uncovered_entrance)
    answer = client.post(API, json=body, headers=auth)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "errand.entrance_not_covered"
    assert _count(engine) == 0


def test_an_agreement_without_errands_takes_none(
    client: TestClient, engine: Engine, world: ErrandWorld
) -> None:
    with Session(engine) as db, db.begin():
        # P gets a windowed agreement of its own (say, for advertising) to try it on.
        agreement = db.get(m.Agreement, world.windowed_agreement)
        assert agreement is not None
        agreement.partner_company_id = world.p.id
    auth = headers(client, engine, world.p.admin)
    answer = client.post(
        API, json=errand_body(world.p, agreement_id=world.windowed_agreement), headers=auth
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "errand.not_needed"


def test_another_company_s_agreement_worker_and_errand_do_not_exist(
    client: TestClient, engine: Engine, world: ErrandWorld
) -> None:
    p, q = world.p, world.q
    auth_p = headers(client, engine, p.admin)
    auth_q = headers(client, engine, q.admin)
    theirs = client.post(API, json=errand_body(p, agreement_id=q.agreement), headers=auth_p)
    assert theirs.status_code == 404
    foreign = client.post(API, json=errand_body(p, employee_id=q.worker), headers=auth_p)
    assert foreign.status_code == 404
    own_admin = client.post(API, json=errand_body(p, employee_id=p.admin), headers=auth_p)
    assert own_admin.status_code == 422
    assert own_admin.json()["error"]["code"] == "errand.not_a_worker"
    assert _count(engine) == 0
    made = client.post(API, json=errand_body(p), headers=auth_p)
    assert made.status_code == 201
    errand = made.json()["id"]
    assert client.get(f"{API}/{errand}", headers=auth_q).status_code == 404
    assert client.get(API, headers=auth_q).json()["total"] == 0
    cancel = client.post(f"{API}/{errand}/cancel", json={"reason": "nej"}, headers=auth_q)
    assert cancel.status_code == 404
    assert client.get(f"{API}/{errand}", headers=auth_p).json()["state"] == "approved"


def test_the_municipality_s_staff_cannot_request_errands(
    client: TestClient, engine: Engine, world: ErrandWorld, tenants: Tenants
) -> None:
    auth = headers(client, engine, tenants.admin)
    assert client.post(API, json=errand_body(world.p), headers=auth).status_code == 403
    assert client.get(API, headers=auth).status_code == 403
    assert _count(engine) == 0


def _credential(engine: Engine, worker: int, agreement: int, errand: int, door: int) -> bytes:
    credential_id = secrets.token_bytes(16)
    with Session(engine) as db, db.begin():
        db.add(
            m.IssuedCredential(
                credential_id=credential_id,
                municipality_id=1,
                issuer_kid=bytes(16),
                subject_type=e.SubjectType.PARTNER_STAFF,
                employee_id=worker,
                agreement_id=agreement,
                errand_id=errand,
                kind=e.CredentialKind.ENTRANCE,
                serial=1,
                denylist_version=0,
                door_device_ids=[door],
                not_before=local(26, 9),
                expires_at=local(26, 11),
                issued_at=local(26, 7),
            )
        )
    return credential_id


def test_cancel_revokes_exactly_the_errand_s_keys(
    client: TestClient, engine: Engine, clock: FrozenClock, world: ErrandWorld
) -> None:
    p = world.p
    auth = headers(client, engine, p.admin)
    first = client.post(API, json=errand_body(p), headers=auth).json()["id"]
    second = client.post(API, json=errand_body(p, reference="PKG-2"), headers=auth).json()["id"]
    mine = _credential(engine, p.worker, p.agreement, first, p.entrance_door)
    other = _credential(engine, p.worker, p.agreement, second, p.entrance_door)
    answer = client.post(f"{API}/{first}/cancel", json={"reason": "kunden aflyste"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["errand"]["state"] == "cancelled"
    version = answer.json()["denylist_version"]
    assert version is not None
    with Session(engine) as db:
        listed = set(
            db.execute(
                select(m.DenylistEntry.entry_key).where(
                    m.DenylistEntry.entry_kind == e.DenylistEntryKind.CREDENTIAL
                )
            ).scalars()
        )
        revoked = {
            c.credential_id: c.revoked_at
            for c in db.execute(select(m.IssuedCredential)).scalars()
            if c.credential_id in (mine, other)
        }
    assert mine in listed
    assert other not in listed
    assert revoked[mine] is not None
    assert revoked[other] is None
    (logged,) = _actions(engine, "errand.cancelled")
    assert logged.reason == "kunden aflyste"
    again = client.post(f"{API}/{first}/cancel", json={}, headers=auth)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "errand.not_cancellable"
    clock.advance(dt.timedelta(hours=4))  # the second errand's period is over
    over = client.post(f"{API}/{second}/cancel", json={}, headers=auth)
    assert over.status_code == 409
    expired = client.get(API, params={"status": "expired"}, headers=auth).json()
    assert [x["id"] for x in expired["items"]] == [second]
