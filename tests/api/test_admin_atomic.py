"""An administrator's action is all or nothing (issue 14): when the database fails at the last
step of blocking a phone (after the phone, its credentials and the denylist were written), the
answer is a retryable 503 and none of it happened; sent again, it happens once."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.revocation import service as revocation
from carekey.store import models as m
from tests.api.conftest import Tenants, sign_in

API = "/api/v1/admin"


def _state(engine: Engine, phone_id: int) -> tuple[e.PhoneStatus, int, int, int]:
    with Session(engine) as session:
        phone = session.get(m.Phone, phone_id)
        assert phone is not None
        entries = session.execute(select(func.count()).select_from(m.DenylistEntry)).scalar_one()
        actions = session.execute(select(func.count()).select_from(m.AdminAction)).scalar_one()
        return e.PhoneStatus(phone.status), phone.session_epoch, entries, actions


def test_a_block_that_fails_at_its_last_step_leaves_nothing(
    client: TestClient, engine: Engine, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    before = _state(engine, tenants.worker_phone)
    real = revocation.record_admin_action

    def database_gone(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT INTO admin_action", {}, sqlite3.OperationalError("gone"))

    monkeypatch.setattr(revocation, "record_admin_action", database_gone)
    failed = client.post(
        f"{API}/phones/{tenants.worker_phone}/block", headers=admin, json={"reason": "tabt"}
    )
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"]["code"] == "server.database_unavailable"
    assert int(failed.headers["retry-after"]) > 0
    assert _state(engine, tenants.worker_phone) == before  # nothing of it happened

    monkeypatch.setattr(revocation, "record_admin_action", real)
    done = client.post(
        f"{API}/phones/{tenants.worker_phone}/block", headers=admin, json={"reason": "tabt"}
    )
    assert done.status_code == 200, done.text
    status, epoch, _entries, actions = _state(engine, tenants.worker_phone)
    assert status is e.PhoneStatus.BLOCKED
    assert epoch == before[1] + 1
    assert actions == before[3] + 1
