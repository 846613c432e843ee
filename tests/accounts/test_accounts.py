"""Accounts (issue 18, docs/accounts.md): one-time passwords, set-password links, authenticator
resets, the forced change at the first sign-in, one's own change, and the key app's login."""

from __future__ import annotations

import datetime as dt
import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.adminui import i18n
from carekey.adminui.pages import labels
from carekey.adminui.security import SESSION_COOKIE
from carekey.auth.passwords import verify_password
from carekey.clock import FrozenClock
from carekey.seed.service import DEMO_PASSWORD
from carekey.store import models as m
from tests.accounts.helpers import (
    NEW_PASSWORD,
    actions,
    csrf_of,
    employee,
    password_step,
    sign_in_web,
)
from tests.api.conftest import Tenants, sign_in, totp_code_for
from tests.api.phone_sim import Scene

A = "/api/v1/admin"


def _one_time(client: TestClient, headers: dict[str, str], employee_id: int) -> str:
    response = client.post(f"{A}/employees/{employee_id}/one-time-password", headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["password"])


def _link(client: TestClient, headers: dict[str, str], employee_id: int) -> str:
    response = client.post(f"{A}/employees/{employee_id}/password-link", headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"].endswith(body["path"])
    return str(body["path"])


# --- one-time password -------------------------------------------------------------------------


def test_a_one_time_password_is_stored_hashed_must_change_and_logged(
    client: TestClient, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    password = _one_time(client, admin, tenants.worker)
    stored = employee(engine, tenants.worker)
    assert stored.password_must_change is True
    assert stored.password_changed_at is not None
    assert stored.password_hash is not None
    assert password not in stored.password_hash
    assert verify_password(stored.password_hash, password)
    assert len(password.replace("-", "")) == 16
    logged = actions(engine, "accounts.one_time_password")
    assert [a.target_id for a in logged] == [str(tenants.worker)]
    assert password not in str(logged[0].details)
    # A new one each time.
    assert _one_time(client, admin, tenants.worker) != password


def test_first_web_sign_in_with_a_one_time_password_forces_a_new_one(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    password = _one_time(client, admin, tenants.auditor)
    answer = sign_in_web(client, clock, engine, tenants.auditor, password)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login/new-password"
    assert SESSION_COOKIE not in client.cookies  # no session before the new password
    assert client.get("/audit", follow_redirects=False).headers["location"].startswith("/login")
    page = client.get("/login/new-password")
    assert page.status_code == 200
    assert "Vælg en ny adgangskode" in page.text
    token = csrf_of(page.text)
    for bad, why in (
        ({"password": "kort", "repeated": "kort"}, "mindst 12 tegn"),
        ({"password": NEW_PASSWORD, "repeated": NEW_PASSWORD + "x"}, "ikke ens"),
        ({"password": password, "repeated": password}, "ikke den du har nu"),
        ({"password": "A0001-A0001-A0001", "repeated": "A0001-A0001-A0001"}, "medarbejdernummer"),
    ):
        refused = client.post("/login/new-password", data={**bad, "csrf_token": token})
        assert refused.status_code == 400, why
        assert why in refused.text, why
    assert employee(engine, tenants.auditor).password_must_change is True
    done = client.post(
        "/login/new-password",
        data={"password": NEW_PASSWORD, "repeated": NEW_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    assert SESSION_COOKIE in client.cookies
    assert client.get("/audit").status_code == 200
    stored = employee(engine, tenants.auditor)
    assert stored.password_must_change is False
    assert stored.password_hash
    assert verify_password(stored.password_hash, NEW_PASSWORD)
    assert [a.details["via"] for a in actions(engine, "accounts.password_changed")] == ["web"]
    # The pending cookie is spent: the page sends one back to the sign-in.
    again = client.get("/login/new-password", follow_redirects=False)
    assert again.headers["location"] == "/login"


def test_the_api_refuses_a_token_while_the_password_must_change(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    password = _one_time(client, admin, tenants.auditor)
    code = totp_code_for(client, tenants.auditor, engine)
    response = client.post(
        "/api/v1/auth/token",
        json={
            "municipality": "0101",
            "employee_number": "A0001",
            "password": password,
            "totp_code": code,
        },
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "auth.password_change_required"


# --- set-password links ------------------------------------------------------------------------


def test_a_link_sets_a_password_once_and_ends_sessions(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    auditor = sign_in(client, tenants.auditor, engine)
    path = _link(client, admin, tenants.auditor)
    token = path.rsplit("/", 1)[1]
    with Session(engine) as session:
        link = session.execute(select(m.PasswordLink)).scalar_one()
        assert link.token_hash == hashlib.sha256(token.encode()).digest()
        assert link.expires_at - clock.now() == dt.timedelta(hours=72)
    client.cookies.clear()
    page = client.get(path)
    assert page.status_code == 200
    assert "Revisor Rask" in page.text
    form = {
        "password": NEW_PASSWORD,
        "repeated": "noget andet helt",
        "csrf_token": csrf_of(page.text),
    }
    assert client.post(path, data=form).status_code == 400
    form["repeated"] = NEW_PASSWORD
    done = client.post(path, data=form)
    assert done.status_code == 200
    assert "Adgangskoden er gemt" in done.text
    stored = employee(engine, tenants.auditor)
    assert stored.password_hash
    assert verify_password(stored.password_hash, NEW_PASSWORD)
    assert stored.password_must_change is False
    # The auditor's API session ended; the link is spent.
    assert client.get(f"{A}/employees", headers=auditor).status_code == 401
    used = client.get(path)
    assert used.status_code == 410
    assert "allerede brugt" in used.text
    assert client.post(path, data=form).status_code == 410
    assert len(actions(engine, "accounts.password_link_used")) == 1
    # The new password signs in (the authenticator stays as it was).
    answer = sign_in_web(client, clock, engine, tenants.auditor, NEW_PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


def test_a_new_link_voids_the_older_and_links_expire(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    older = _link(client, admin, tenants.worker)
    newer = _link(client, admin, tenants.worker)
    client.cookies.clear()
    assert client.get(older).status_code == 410
    assert client.get(newer).status_code == 200
    assert client.get("/set-password/no-such-token").status_code == 410
    clock.advance(dt.timedelta(hours=72, seconds=1))
    expired = client.get(newer)
    assert expired.status_code == 410
    assert "udløbet" in expired.text
    client.cookies.set("carekey_lang", "en")
    assert "has expired" in client.get(newer).text


# --- authenticator reset -----------------------------------------------------------------------


def test_an_administrator_resets_someone_elses_authenticator_with_a_reason(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    auditor = sign_in(client, tenants.auditor, engine)
    url = f"{A}/employees/{tenants.auditor}/totp-reset"
    assert client.post(url, json={"reason": ""}, headers=admin).status_code == 422
    mine = client.post(
        f"{A}/employees/{tenants.admin}/totp-reset", json={"reason": "x"}, headers=admin
    )
    assert mine.status_code == 403
    assert mine.json()["error"]["code"] == "accounts.not_yourself"
    response = client.post(url, json={"reason": "ny telefon"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["authenticator_set_up"] is False
    stored = employee(engine, tenants.auditor)
    assert stored.totp_secret_sealed is None
    assert stored.totp_last_step is None
    assert client.get(f"{A}/employees", headers=auditor).status_code == 401
    logged = actions(engine, "accounts.totp_reset")
    assert [(a.reason, a.details["had_authenticator"]) for a in logged] == [("ny telefon", True)]
    # The next sign-in sets up a new authenticator after the password.
    first = password_step(client, "A0001", DEMO_PASSWORD)
    assert first.status_code == 303
    assert 'data-secret="' in client.get("/login/totp").text


def test_reach_a_lead_manages_own_district_non_administrators_only(
    client: TestClient, engine: Engine, tenants: Tenants
) -> None:
    lead = sign_in(client, tenants.lead, engine)
    assert (
        client.post(f"{A}/employees/{tenants.worker}/one-time-password", headers=lead).status_code
        == 201
    )
    for target in (tenants.admin, tenants.auditor):  # an administrator; not in the district
        answer = client.post(f"{A}/employees/{target}/password-link", headers=lead)
        assert answer.status_code == 403, answer.text
    other = sign_in(client, tenants.other_admin, engine)
    answer = client.post(f"{A}/employees/{tenants.worker}/password-link", headers=other)
    assert answer.status_code == 404
    auditor = sign_in(client, tenants.auditor, engine)
    answer = client.post(f"{A}/employees/{tenants.worker}/password-link", headers=auditor)
    assert answer.status_code == 403


# --- own password ------------------------------------------------------------------------------


def test_own_password_change_ends_the_other_sessions_only(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    api = sign_in(client, tenants.auditor, engine)
    answer = sign_in_web(client, clock, engine, tenants.auditor, DEMO_PASSWORD)
    assert answer.status_code == 303
    page = client.get("/account/password")
    assert page.status_code == 200
    token = csrf_of(page.text)
    wrong = client.post(
        "/account/password",
        data={
            "current": "forkert",
            "password": NEW_PASSWORD,
            "repeated": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 400
    assert "nuværende adgangskode er forkert" in wrong.text
    done = client.post(
        "/account/password",
        data={
            "current": DEMO_PASSWORD,
            "password": NEW_PASSWORD,
            "repeated": NEW_PASSWORD,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "er skiftet" in client.get(done.headers["location"]).text  # still signed in here
    assert client.get(f"{A}/employees", headers=api).status_code == 401  # elsewhere: ended
    stored = employee(engine, tenants.auditor)
    assert stored.password_hash
    assert verify_password(stored.password_hash, NEW_PASSWORD)


# --- the key app -------------------------------------------------------------------------------


def test_key_app_login_requires_and_takes_a_new_password(scene: Scene, tenants: Tenants) -> None:
    client, engine = scene.client, scene.engine
    password = _one_time(client, scene.admin_headers, tenants.worker)
    phone = scene.enrol(tenants.worker_phone)
    number = employee(engine, tenants.worker).employee_number
    refused = phone.login(number, password)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.password_change_required"
    assert refused.json()["error"]["message"] == (
        "Du skal vælge en ny adgangskode, før du kan logge ind"
    )

    def login(new_password: str) -> object:
        return client.post(
            "/api/v1/app/login",
            json={
                "municipality": "0101",
                "employee_number": number,
                "password": password,
                "phone_id": phone.phone_id,
                "new_password": new_password,
                **phone.proof("login"),
            },
        )

    weak = login("kort")
    assert weak.status_code == 400  # type: ignore[attr-defined]
    assert weak.json()["error"]["code"] == "accounts.password_too_short"  # type: ignore[attr-defined]
    assert employee(engine, tenants.worker).password_must_change is True
    done = login(NEW_PASSWORD)
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    stored = employee(engine, tenants.worker)
    assert stored.password_must_change is False
    assert stored.password_hash
    assert verify_password(stored.password_hash, NEW_PASSWORD)
    assert [a.details["via"] for a in actions(engine, "accounts.password_changed")] == ["app"]
    # From now on the new password alone logs in.
    assert phone.login(number, NEW_PASSWORD).status_code == 200


# --- words for people --------------------------------------------------------------------------


def test_every_accounts_action_has_danish_and_english_words() -> None:
    codes = (
        "accounts.one_time_password",
        "accounts.password_link",
        "accounts.password_link_used",
        "accounts.password_changed",
        "accounts.totp_reset",
    )
    danish = labels()["action"]
    token = i18n.use_language("en")
    try:
        english = labels()["action"]
    finally:
        i18n.reset_language(token)
    for code in codes:
        assert danish.get(code, code) != code, code
        assert english.get(code, code) not in (code, danish[code]), code


def test_the_employee_page_offers_the_account_actions(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    sign_in(client, tenants.auditor, engine)  # sets up the auditor's authenticator
    answer = sign_in_web(client, clock, engine, tenants.admin, DEMO_PASSWORD)
    assert answer.status_code == 303
    page = client.get(f"/employees/{tenants.auditor}")
    assert f'action="/employees/{tenants.auditor}/password-link"' in page.text
    assert f'href="/employees/{tenants.auditor}/reset-authenticator"' in page.text
    made = client.post(
        f"/employees/{tenants.auditor}/password-link", data={"csrf_token": csrf_of(page.text)}
    )
    assert made.status_code == 200
    assert "/set-password/" in made.text
    confirm = client.get(f"/employees/{tenants.auditor}/reset-authenticator")
    no_reason = client.post(
        f"/employees/{tenants.auditor}/reset-authenticator",
        data={"reason": " ", "csrf_token": csrf_of(confirm.text)},
    )
    assert no_reason.status_code == 400
    assert "begrundelse" in no_reason.text
    reset = client.post(
        f"/employees/{tenants.auditor}/reset-authenticator",
        data={"reason": "mistet telefon", "csrf_token": csrf_of(confirm.text)},
    )
    assert reset.status_code == 200
    assert "Godkender-app nulstillet" in reset.text
    assert "mistet telefon" in reset.text
    # Not for oneself: no buttons on one's own page.
    own = client.get(f"/employees/{tenants.admin}")
    assert "/password-link" not in own.text


def test_guessing_the_current_password_is_throttled(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    answer = sign_in_web(client, clock, engine, tenants.auditor, DEMO_PASSWORD)
    assert answer.status_code == 303
    token = csrf_of(client.get("/account/password").text)
    wrong = {"current": "gæt", "password": NEW_PASSWORD, "repeated": NEW_PASSWORD}
    statuses = [
        client.post("/account/password", data={**wrong, "csrf_token": token}).status_code
        for _ in range(8)
    ]
    assert statuses[0] == 400
    assert statuses[-1] == 429
    # Even the right password waits until the backoff is over.
    right = {**wrong, "current": DEMO_PASSWORD, "csrf_token": token}
    assert client.post("/account/password", data=right).status_code == 429
    clock.advance(dt.timedelta(minutes=1))  # the backoff after four failures: 1 s
    answer = client.post("/account/password", data=right, follow_redirects=False)
    assert answer.status_code == 303


def test_the_set_password_page_never_passes_its_address_on(
    client: TestClient, engine: Engine, tenants: Tenants
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    path = _link(client, admin, tenants.worker)
    client.cookies.clear()
    assert client.get(path).headers["referrer-policy"] == "same-origin"
