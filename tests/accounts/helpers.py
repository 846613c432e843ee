"""What the accounts' tests share: reading the database, signing in through the pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.store import models as m
from tests.api.conftest import TOTP_SECRET, totp_code_for

NEW_PASSWORD = "en lang og god adgangskode"


def csrf_of(html: str) -> str:
    """The CSRF token a page carries."""
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def employee(engine: Engine, employee_id: int) -> m.Employee:
    """A detached copy of the employee as stored now."""
    with Session(engine, expire_on_commit=False) as session:
        found = session.get(m.Employee, employee_id)
        assert found is not None
        session.expunge(found)
        return found


def actions(engine: Engine, action: str) -> list[m.AdminAction]:
    """The admin actions with this code, oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        rows = list(
            session.execute(
                select(m.AdminAction)
                .where(m.AdminAction.action == action)
                .order_by(m.AdminAction.id)
            ).scalars()
        )
        session.expunge_all()
        return rows


def password_step(client: TestClient, number: str, password: str) -> Any:
    """POST /login with the form's CSRF token."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "municipality": "0101",
            "employee_number": number,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )


def totp_step(client: TestClient, clock: FrozenClock, employee_id: int, engine: Engine) -> Any:
    """POST /login/totp with a fresh code (the set-up secret on a first sign-in)."""
    page = client.get("/login/totp", follow_redirects=False)
    assert page.status_code == 200, page.text
    found = re.search(r'data-secret="([A-Z2-7]+)"', page.text)
    if found:
        code = pyotp.TOTP(found.group(1)).at(clock.now())
    else:
        code = totp_code_for(client, employee_id, engine)
    return client.post(
        "/login/totp",
        data={"code": code, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def sign_in_web(
    client: TestClient, clock: FrozenClock, engine: Engine, employee_id: int, password: str
) -> Any:
    """Both steps of the web sign-in; returns the answer of the second."""
    person = employee(engine, employee_id)
    first = password_step(client, person.employee_number, password)
    assert first.status_code == 303, first.text
    clock.advance(dt.timedelta(seconds=30))
    return totp_step(client, clock, employee_id, engine)


__all__ = ["NEW_PASSWORD", "TOTP_SECRET"]
