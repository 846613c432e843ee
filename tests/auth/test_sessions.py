"""Sign-in and sessions: the second factor on the API, sign-out on the server, codes once."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from carekey.clock import FrozenClock
from tests.api.conftest import TOTP_SECRET, Tenants, sign_in, totp_code_for
from tests.web.conftest import web_sign_in

TOKEN = "/api/v1/auth/token"


def _body(code: str, password: str = "hjemmepleje") -> dict[str, str]:  # noqa: S107
    return {
        "municipality": "0101",
        "employee_number": "E00001",
        "password": password,
        "totp_code": code,
    }


def test_an_api_token_needs_the_second_factor(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    without = client.post(TOKEN, json={k: v for k, v in _body("").items() if k != "totp_code"})
    assert without.status_code == 422
    code = totp_code_for(client, tenants.admin, engine)
    assert client.post(TOKEN, json=_body("000000")).status_code == 401
    assert client.post(TOKEN, json=_body(code, password="forkert")).status_code == 401
    assert client.post(TOKEN, json=_body(code)).status_code == 200
    # A code works once, on the API too.
    again = client.post(TOKEN, json=_body(code))
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "auth.bad_credentials"


def test_a_signed_out_api_token_stops_working(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    headers = sign_in(client, tenants.admin, engine)
    assert client.get("/api/v1/admin/employees", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    after = client.get("/api/v1/admin/employees", headers=headers)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "auth.invalid_token"


def test_a_copied_session_cookie_stops_working_after_sign_out(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    web_sign_in(client, clock, "E00001")
    copied = client.cookies.get("carekey_session")
    assert copied
    assert client.get("/employees", follow_redirects=False).status_code == 200
    page = client.get("/employees")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    # Someone who copied the cookie before the sign-out gets nothing with it.
    client.cookies.clear()
    client.cookies.set("carekey_session", copied)
    response = client.get("/employees", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_too_many_wrong_codes_slow_down_with_retry_after(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    totp_code_for(client, tenants.admin, engine)
    answers = [client.post(TOKEN, json=_body("000000")) for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    slowed = answers[-1]
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) >= 1
    clock.advance(dt.timedelta(minutes=1))
    right = pyotp.TOTP(TOTP_SECRET).at(clock.now())
    assert client.post(TOKEN, json=_body(right)).status_code == 200


def test_api_answers_are_not_cached_and_https_gets_hsts(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    headers = sign_in(client, tenants.admin, engine)
    answer = client.get("/api/v1/admin/employees", headers=headers)
    assert answer.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in answer.headers  # plain HTTP here
    secure = TestClient(client.app, base_url="https://carekey.example")
    with secure:
        page = secure.get("/login")
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "secure" in page.headers["set-cookie"].lower()


@pytest.mark.parametrize("raw", ["²", "③", "٣", "１２", "1²"])
def test_ids_take_ascii_digits_only(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine, raw: str
) -> None:
    headers = sign_in(client, tenants.admin, engine)
    api = client.get(f"/api/v1/admin/employees/{raw}", headers=headers)
    assert api.status_code == 422
    web_sign_in(client, clock, "E00001")
    for path in (f"/employees/{raw}", f"/phones/{raw}", f"/citizens/{raw}", f"/doors/{raw}"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code in (404, 422), (path, page.status_code)
    # A filter value that is not an ASCII whole number is refused with words (issue 18), never
    # read as a number nor silently dropped (which would show everything).
    listing = client.get(f"/audit?employee_id={raw}&door_id={raw}")
    assert listing.status_code == 422
    assert "ikke et gyldigt nummer" in listing.text
