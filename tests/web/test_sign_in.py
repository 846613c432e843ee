"""Signing in to the administration: password, TOTP, sessions, CSRF, throttling."""

from __future__ import annotations

import datetime as dt

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.store import models as m
from tests.web.conftest import Tenants, csrf_of, web_sign_in


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def test_sign_in_sets_up_totp_then_requires_it(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    number = _number(engine, tenants.admin)
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    secret = web_sign_in(client, clock, number)
    cookie = client.cookies.get("carekey_session")
    assert cookie
    with Session(engine) as session:
        admin = session.get(m.Employee, tenants.admin)
        assert admin is not None
        assert admin.totp_secret_sealed is not None
        assert secret.encode() not in admin.totp_secret_sealed  # sealed, not stored plain
    # Second time: no set-up; a wrong code is refused, the right one signs in.
    client.cookies.clear()
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "municipality": "0101",
            "employee_number": number,
            "password": "hjemmepleje",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    page = client.get("/login/totp")
    assert "data-secret" not in page.text
    wrong = client.post("/login/totp", data={"code": "000000", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401
    # The code of the first sign-in is still inside its 30 s step, but a code works once.
    reused = client.post(
        "/login/totp",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_of(page.text)},
    )
    assert reused.status_code == 401
    clock.advance(dt.timedelta(seconds=30))
    right = client.post(
        "/login/totp",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert right.status_code == 303
    headers = {k.lower(): v for k, v in right.headers.items()}
    assert "httponly" in headers["set-cookie"].lower()
    assert "samesite=lax" in headers["set-cookie"].lower()


def test_post_without_csrf_token_is_refused(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"municipality": "0101", "employee_number": "E00001", "password": "hjemmepleje"},
    )
    assert response.status_code == 403
    page = client.get("/login")
    forged = client.post(
        "/login",
        data={
            "municipality": "0101",
            "employee_number": "E00001",
            "password": "hjemmepleje",
            "csrf_token": csrf_of(page.text),
        },
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403


def test_idle_session_ends(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    web_sign_in(client, clock, _number(engine, tenants.admin))
    assert client.get("/", follow_redirects=False).headers["location"] != "/login"
    clock.advance(dt.timedelta(minutes=21))
    response = client.get("/", follow_redirects=False)
    assert response.headers["location"].startswith("/login")


def test_repeated_wrong_passwords_back_off_without_locking_the_owner_out(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    number = _number(engine, tenants.admin)
    web_sign_in(client, clock, number)  # the owner has signed in from this address before
    client.cookies.clear()
    page = client.get("/login")
    token = csrf_of(page.text)
    body = {"municipality": "0101", "employee_number": number, "csrf_token": token}
    for _ in range(3):
        assert client.post("/login", data={**body, "password": "forkert"}).status_code == 401
    slowed = client.post("/login", data={**body, "password": "hjemmepleje"})
    assert slowed.status_code == 429
    assert "For mange" in slowed.text
    # Backoff, not a lock: after the wait, the right password gets through.
    clock.advance(dt.timedelta(seconds=2))
    assert client.post("/login", data={**body, "password": "hjemmepleje"}).status_code == 200


def test_an_outsider_cannot_lock_an_office_account_out() -> None:
    from carekey.auth.throttle import SignInThrottle

    throttle = SignInThrottle()
    now = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    throttle.succeeded(account="0101:E00001", address="10.0.0.5", now=now)
    for i in range(500):  # a guesser with many addresses
        throttle.failed(account="0101:E00001", address=f"203.0.113.{i % 250}", now=now)
    # Slowed everywhere else, never at the owner's known address.
    assert throttle.retry_after(account="0101:E00001", address="198.51.100.7", now=now)
    assert throttle.retry_after(account="0101:E00001", address="10.0.0.5", now=now) is None
    # and the waits are bounded: at most 15 minutes
    wait = throttle.retry_after(account="0101:E00001", address="203.0.113.1", now=now)
    assert wait is not None
    assert wait <= dt.timedelta(minutes=15)


def test_care_workers_cannot_sign_in(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "municipality": "0101",
            "employee_number": _number(engine, tenants.worker),
            "password": "hjemmepleje",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 401


def test_language_switch(client: TestClient, tenants: Tenants) -> None:
    assert "Log ind i administrationen" in client.get("/login").text
    client.get("/lang/en?next=/login")
    assert "Sign in to the administration" in client.get("/login").text
