"""Issue 18, acceptance 3: accounts in a real browser (docs/accounts.md).

(i) an administrator makes a set-password link, a person opens it in a browser of their own,
chooses a password and signs in (setting up the authenticator); the link works once.
(ii) a one-time password: the first sign-in asks for a new password before anything else, and
then the person reaches the dashboard.
(iii) another administrator resets a person's lost authenticator with a reason: the person's
session ends, their next sign-in sets up an authenticator again, and the log shows the reset
with the reason.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy.orm import Session

from carekey.auth.passwords import hash_password
from carekey.domain import enums as e
from carekey.seed.service import DEMO_PASSWORD
from carekey.sim.screenshots import sign_in_browser, totp_code
from carekey.store import models as m
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, Server, under_ci, utcnow

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # pragma: no cover - machines without the dev dependencies
    if under_ci():
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

if TYPE_CHECKING:
    from sqlalchemy import Engine

pytestmark = pytest.mark.xdist_group("browser")

CHOSEN = "en lang sætning som adgangskode"


def _new_employee(engine: Engine, name: str, role: e.Role, *, password: str | None) -> str:
    """An office employee of Copenhagen made for one test; returns the employee number."""
    number = f"ACC{secrets.token_hex(3).upper()}"
    with Session(engine) as db, db.begin():
        db.add(
            m.Employee(
                municipality_id=1,
                employee_number=number,
                full_name=name,
                password_hash=hash_password(password) if password else None,
                roles=[m.EmployeeRole(role=role)],
            )
        )
    return number


def _employee_id(engine: Engine, number: str) -> int:
    with Session(engine) as db:
        found = db.query(m.Employee.id).filter(m.Employee.employee_number == number).scalar()
        assert found is not None
        return int(found)


@pytest.fixture
def person(browser: Browser) -> Iterator[Page]:
    """The employee's own browser: a fresh context without any session."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _fill_new_password(page: Page, password: str) -> None:
    page.get_by_label("Ny adgangskode", exact=True).fill(password)
    page.get_by_label("Gentag den nye adgangskode").fill(password)


def test_a_set_password_link_works_once(page: Page, person: Page, server: Server) -> None:
    number = _new_employee(server.engine, "Linda Link", e.Role.AUDITOR, password=None)
    employee_id = _employee_id(server.engine, number)
    page.goto(f"{server.base_url}/employees/{employee_id}")
    expect(page.get_by_text("Ingen endnu")).to_be_visible()
    page.get_by_role("button", name="Lav link til at vælge adgangskode").click()
    shown = page.locator("#password-link")
    expect(shown).to_be_visible()
    url = shown.get_attribute("data-url")
    assert url is not None
    assert url.startswith(f"{server.base_url}/set-password/")

    person.goto(url)
    expect(person.get_by_role("heading", name="Vælg din adgangskode")).to_be_visible()
    person.get_by_label("Ny adgangskode", exact=True).fill(CHOSEN)
    person.get_by_label("Gentag den nye adgangskode").fill(CHOSEN + " men anderledes")
    person.get_by_role("button", name="Gem adgangskoden").click()
    expect(person.get_by_role("alert")).to_contain_text("ikke ens")
    _fill_new_password(person, CHOSEN)
    person.get_by_role("button", name="Gem adgangskoden").click()
    expect(person.get_by_role("heading", name="Adgangskoden er gemt")).to_be_visible()
    person.get_by_role("link", name="Log ind").click()
    # The first sign-in sets up the authenticator (sign_in_browser reads the set-up secret).
    sign_in_browser(person, server.base_url, employee_number=number, password=CHOSEN)
    expect(person.get_by_role("button", name="Log ud")).to_be_visible()

    # A second use is refused, in words a person understands.
    person.goto(url)
    expect(person.get_by_role("alert")).to_contain_text("allerede brugt")
    expect(person.get_by_label("Ny adgangskode", exact=True)).to_have_count(0)


def test_a_one_time_password_must_be_replaced_at_the_first_sign_in(
    page: Page, person: Page, server: Server
) -> None:
    number = _new_employee(server.engine, "Otto Engang", e.Role.ADMINISTRATOR, password=None)
    employee_id = _employee_id(server.engine, number)
    page.goto(f"{server.base_url}/employees/{employee_id}")
    page.get_by_role("button", name="Giv engangsadgangskode").click()
    shown = page.locator("#one-time-password")
    expect(shown).to_be_visible()
    one_time = shown.get_attribute("data-password")
    assert one_time

    person.goto(f"{server.base_url}/login")
    person.get_by_label("Medarbejdernummer").fill(number)
    person.get_by_label("Adgangskode").fill(one_time)
    person.get_by_role("button", name="Fortsæt").click()
    secret = person.locator("#totp-secret").get_attribute("data-secret")
    assert secret
    person.get_by_label("Sekscifret kode").fill(totp_code(secret, utcnow()))
    person.get_by_role("button", name="Log ind", exact=True).click()
    expect(person).to_have_url(re.compile(r"/login/new-password$"))
    expect(person.get_by_role("heading", name="Vælg en ny adgangskode")).to_be_visible()
    # Nothing else works before the new password is chosen.
    person.goto(f"{server.base_url}/dashboard")
    expect(person).to_have_url(re.compile(r"/login\?next="))
    person.goto(f"{server.base_url}/login/new-password")
    _fill_new_password(person, one_time)
    person.get_by_role("button", name="Gem og fortsæt").click()
    expect(person.get_by_role("alert")).to_contain_text("ikke den du har nu")
    _fill_new_password(person, CHOSEN)
    person.get_by_role("button", name="Gem og fortsæt").click()
    expect(person).to_have_url(re.compile(r"/dashboard$"))
    expect(person.get_by_role("heading", name="Overblik", level=1)).to_be_visible()


def test_another_administrator_resets_a_lost_authenticator(
    page: Page, person: Page, server: Server, api: httpx.Client, admin_api: dict[str, str]
) -> None:
    number = _new_employee(server.engine, "Tove Telefon", e.Role.AUDITOR, password=DEMO_PASSWORD)
    employee_id = _employee_id(server.engine, number)
    first_secret = sign_in_browser(person, server.base_url, employee_number=number)
    person.goto(f"{server.base_url}/audit")
    expect(person.get_by_role("button", name="Log ud")).to_be_visible()

    page.goto(f"{server.base_url}/employees/{employee_id}")
    page.get_by_role("link", name="Nulstil godkender-app").click()
    page.get_by_label("Begrundelse (skrives i loggen)").fill("Mistet telefon, ringede selv")
    page.get_by_role("button", name="Nulstil godkender-app").click()
    expect(page.get_by_role("status")).to_contain_text("Godkender-appen er nulstillet")
    history = page.locator("table").last
    expect(history).to_contain_text("Godkender-app nulstillet")
    expect(history).to_contain_text("Mistet telefon, ringede selv")

    # The person's session has ended; the next sign-in sets up a new authenticator.
    person.goto(f"{server.base_url}/audit")
    expect(person).to_have_url(re.compile(r"/login\?next="))
    second_secret = sign_in_browser(person, server.base_url, employee_number=number)
    assert second_secret != first_secret
    expect(person.get_by_role("button", name="Log ud")).to_be_visible()

    # The log of administrative actions holds the reset with its reason.
    logged = api.get(
        "/api/v1/admin/actions",
        params={"action": "accounts.totp_reset", "target_id": str(employee_id)},
        headers=admin_api,
    )
    assert logged.status_code == 200, logged.text
    reasons = [a["reason"] for a in logged.json()["items"]]
    assert reasons == ["Mistet telefon, ringede selv"]
    # And it reads in English too.
    page.goto(f"{server.base_url}/lang/en?next=/employees/{employee_id}")
    expect(page.locator("table").last).to_contain_text("Authenticator reset")
    page.goto(f"{server.base_url}/lang/da?next=/")
