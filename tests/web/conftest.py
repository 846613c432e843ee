"""The administration UI under test: the same seeded server as the API tests, and a helper that
signs in through the real pages (password, then the TOTP second factor)."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.store import models as m
from tests.api.conftest import (  # noqa: F401 - fixtures
    TOTP_SECRET,
    Tenants,
    client,
    clock,
    scene,
    tenants,
)

__all__ = ["Tenants", "csrf_of", "web_sign_in"]


def csrf_of(html: str) -> str:
    """The CSRF token a page carries."""
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def web_sign_in(http: TestClient, at: FrozenClock, number: str, municipality: str = "0101") -> str:
    """Sign in through the pages, setting up TOTP on first use; returns the TOTP secret."""
    page = http.get("/login")
    response = http.post(
        "/login",
        data={
            "municipality": municipality,
            "employee_number": number,
            "password": "hjemmepleje",
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = http.get("/login/totp")
    found = re.search(r'data-secret="([A-Z2-7]+)"', page.text)
    # Set up on the first sign-in; an employee signed in through the API before has the tests'
    # authenticator secret already.
    secret = found.group(1) if found else TOTP_SECRET
    _next_unused_step(http, at, number, municipality)
    code = pyotp.TOTP(secret).at(at.now())
    response = http.post(
        "/login/totp",
        data={"code": code, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return secret


def _next_unused_step(http: TestClient, at: FrozenClock, number: str, municipality: str) -> None:
    """A TOTP code works once: wait (move the clock) for the next step if this one was used."""
    engine = http.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        last = session.execute(
            select(m.Employee.totp_last_step)
            .join(m.Municipality, m.Municipality.id == m.Employee.municipality_id)
            .where(m.Municipality.code == municipality, m.Employee.employee_number == number)
        ).scalar_one()
    step = int(at.now().timestamp()) // 30
    if last is not None and last >= step:
        at.advance(dt.timedelta(seconds=30 * (last - step + 1)))
