"""Administrators acting at once on SQLite wait their turn (issue 14).

Four blocks (and then four unblocks) of phones sent at the same moment, through the real app
on a file-based SQLite database, by the API and by the administration pages. Each request reads
(the signed-in employee, the phone) before it writes; the pages do so in a savepoint, which
started a deferred SQLite transaction, and such a write cannot wait for another writer in WAL
mode: it failed at once, "database is locked", a 500. A writing request now begins
``BEGIN IMMEDIATE`` and waits (``busy_timeout``); if it ever waits too long, the answer is a
clean 503 with Retry-After, never a 500.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.config import Settings
from carekey.domain import enums as e
from carekey.server.app import create_app
from carekey.store import models as m
from tests.api.conftest import SECRET, Tenants, sign_in
from tests.web.conftest import csrf_of, web_sign_in

AT_ONCE = 4
ROUNDS = 3


def _phones(engine: Engine, tenants: Tenants) -> list[int]:
    with Session(engine) as session:
        municipality = session.get(m.Employee, tenants.admin)
        assert municipality is not None
        ids = session.execute(
            select(m.Phone.id)
            .where(m.Phone.municipality_id == municipality.municipality_id)
            .where(m.Phone.status == e.PhoneStatus.ACTIVE)
            .order_by(m.Phone.id)
            .limit(AT_ONCE)
        ).scalars()
        return list(ids)


def _at_once(client: TestClient, paths: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    start = threading.Barrier(len(paths))

    def send(path: str) -> httpx.Response:
        start.wait()
        return client.post(path, json={"reason": "Samtidig test"}, headers=headers)

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(send, paths))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_four_blocks_at_once_all_succeed_or_are_retryable(
    engine: Engine, clock: FrozenClock, tenants: Tenants
) -> None:
    assert engine.url.database not in (None, "", ":memory:")  # a file: real locking
    settings = Settings(secret_key=SECRET)  # type: ignore[arg-type]
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = sign_in(client, tenants.admin, engine)
        phones = _phones(engine, tenants)
        assert len(phones) == AT_ONCE
        for _ in range(ROUNDS):
            for action, status in (("block", e.PhoneStatus.BLOCKED), ("unblock", None)):
                paths = [f"/api/v1/admin/phones/{p}/{action}" for p in phones]
                answers = _at_once(client, paths, headers)
                for answer in answers:
                    assert answer.status_code in (200, 503), answer.text
                    if answer.status_code == 503:
                        assert answer.headers["Retry-After"]
                        assert answer.json()["error"]["code"] == "database.busy"
                done = [p for p, a in zip(phones, answers, strict=True) if a.status_code == 200]
                with Session(engine) as session:
                    for phone_id in done:
                        phone = session.get(m.Phone, phone_id)
                        assert phone is not None
                        if status is not None:
                            assert phone.status is status
                        else:
                            assert phone.status is not e.PhoneStatus.BLOCKED
                # Retry what was refused, as a client told "Retry-After" would.
                for phone_id, answer in zip(phones, answers, strict=True):
                    if answer.status_code == 503:
                        retry = client.post(
                            f"/api/v1/admin/phones/{phone_id}/{action}",
                            json={"reason": "Samtidig test"},
                            headers=headers,
                        )
                        assert retry.status_code == 200, retry.text


def _web_at_once(client: TestClient, paths: list[str], csrf: str) -> list[httpx.Response]:
    start = threading.Barrier(len(paths))

    def send(path: str) -> httpx.Response:
        start.wait()
        data = {"reason": "Samtidig test", "csrf_token": csrf}
        return client.post(path, data=data, follow_redirects=False)

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(send, paths))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_four_blocks_at_once_in_the_pages_never_fail(
    engine: Engine, clock: FrozenClock, tenants: Tenants
) -> None:
    settings = Settings(secret_key=SECRET)  # type: ignore[arg-type]
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        with Session(engine) as session:
            admin = session.get(m.Employee, tenants.admin)
            assert admin is not None
            number = admin.employee_number
        web_sign_in(client, clock, number)
        phones = _phones(engine, tenants)
        for _ in range(ROUNDS):
            # A block answers with its result page, an unblock redirects to the phone.
            for action, blocked, ok in (("block", True, 200), ("unblock", False, 303)):
                csrf = csrf_of(client.get(f"/phones/{phones[0]}").text)
                paths = [f"/phones/{p}/{action}" for p in phones]
                answers = _web_at_once(client, paths, csrf)
                assert [a.status_code for a in answers] == [ok] * AT_ONCE, [
                    a.status_code for a in answers
                ]
                with Session(engine) as session:
                    statuses = [session.get(m.Phone, p).status for p in phones]  # type: ignore[union-attr]
                assert [s is e.PhoneStatus.BLOCKED for s in statuses] == [blocked] * AT_ONCE
