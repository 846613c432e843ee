"""The administration UI under test: the same seeded server as the API tests, and a helper that
signs in through the real pages (password, then the TOTP second factor)."""

from __future__ import annotations

import re

import pyotp
from fastapi.testclient import TestClient

from carekey.clock import FrozenClock
from tests.api.conftest import Tenants, client, clock, scene, tenants  # noqa: F401 - fixtures

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
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text)
    assert secret, "first sign-in shows the TOTP set-up"
    code = pyotp.TOTP(secret.group(1)).at(at.now())
    response = http.post(
        "/login/totp",
        data={"code": code, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return secret.group(1)
